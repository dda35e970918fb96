"""Registry of shipped pretrained models.

Each model is two files in ``audiodl/pretrained/weights/``: ``NAME.json``
(the card) and ``NAME.pt`` (a ``state_dict`` of tensors, loaded with
``weights_only=True`` after its sha256 is checked). The card makes the
checkpoint self-describing:

``name, task, arch, args, frontend (FrontendConfig dict), labels,
decoder (default decoding parameters), weights (file name), sha256, licence,
paper, recipe, training (data, command, seed, duration), metrics, versions``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from ..errors import ModelError

__all__ = ["WEIGHTS_DIR", "list_models", "card", "load", "save", "sha256_of",
           "default_model"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
REQUIRED = ("name", "task", "arch", "args", "frontend", "labels", "weights", "sha256")


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _card_path(name: str, directory=None) -> Path:
    return Path(directory or WEIGHTS_DIR) / f"{name}.json"


def list_models(task: Optional[str] = None, *, directory=None) -> list:
    """Names of the available models (optionally of one task)."""
    d = Path(directory or WEIGHTS_DIR)
    out = []
    for p in sorted(d.glob("*.json")):
        if task is None or card(p.stem, directory=d).get("task") == task:
            out.append(p.stem)
    return out


def default_model(task: str, *, directory=None) -> str:
    """The model a task uses by default: the card with ``"default": true``."""
    names = list_models(task, directory=directory)
    for n in names:
        if card(n, directory=directory).get("default"):
            return n
    if names:
        return names[0]
    raise ModelError(f"no shipped model for task {task!r}")


def card(name: str, *, directory=None) -> dict:
    """The model card of ``name`` (a dict, validated for the required keys)."""
    path = _card_path(name, directory)
    if not path.exists():
        d = directory or WEIGHTS_DIR
        known = ", ".join(p.stem for p in sorted(Path(d).glob("*.json"))) or "none"
        raise ModelError(f"unknown model {name!r} (known: {known})")
    try:
        c = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid model card ({exc})") from None
    missing = [k for k in REQUIRED if k not in c]
    if missing:
        raise ModelError(f"{path}: model card lacks {missing}")
    return c


def load(name_or_path, *, device: str = "cpu", directory=None):
    """Build the model of a card and load its verified weights.

    Parameters
    ----------
    name_or_path : str
        A shipped model name, or a path to a ``.json`` card next to its weights.

    Returns
    -------
    model : torch.nn.Module (eval mode)
    card : dict
    """
    import torch

    from ..models.registry import build

    if str(name_or_path).endswith(".json"):
        p = Path(name_or_path)
        c = card(p.stem, directory=p.parent)
        wdir = p.parent
    else:
        c = card(name_or_path, directory=directory)
        wdir = Path(directory or WEIGHTS_DIR)
    wpath = wdir / c["weights"]
    if not wpath.exists():
        raise ModelError(f"{c['name']}: weights file {wpath} is missing")
    digest = sha256_of(wpath)
    if digest != c["sha256"]:
        raise ModelError(f"{c['name']}: sha256 mismatch for {wpath} "
                         f"(card {c['sha256'][:12]}…, file {digest[:12]}…): corrupt download/copy?")
    model = build(c["arch"], c["args"])
    try:
        state = torch.load(wpath, map_location=device, weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise ModelError(f"{c['name']}: cannot load weights {wpath} ({exc})") from None
    model.to(device).eval()
    return model, c


def save(model, card_fields: dict, *, directory=None) -> Path:
    """Write ``NAME.pt`` (state_dict) and ``NAME.json`` (card with sha256) to ``directory``."""
    import torch

    d = Path(directory or WEIGHTS_DIR)
    d.mkdir(parents=True, exist_ok=True)
    c = dict(card_fields)
    name = c["name"]
    c.setdefault("arch", getattr(model, "arch_name", type(model).__name__))
    c["weights"] = f"{name}.pt"
    wpath = d / c["weights"]
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, wpath)
    c["sha256"] = sha256_of(wpath)
    c.setdefault("versions", {})
    c["versions"].update({"torch": torch.__version__, "audiodl": _version()})
    missing = [k for k in REQUIRED if k not in c]
    if missing:
        raise ModelError(f"card for {name} lacks {missing}")
    tmp = _card_path(name, d).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(c, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, _card_path(name, d))
    return _card_path(name, d)


def _version() -> str:
    from .. import __version__
    return __version__
