"""Registry of shipped pretrained models.

Each model is two files in ``audiodl/pretrained/weights/``: ``NAME.json``
(a :class:`~audiodl.pretrained.card.ModelCard`) and ``NAME.safetensors`` (a
``state_dict`` of plain tensors, read only after its sha256 matches the
card; see :mod:`audiodl.pretrained.weights`). A card path
(``.../NAME.json``) works wherever a name does, for models trained but not
shipped; its sha256 is checked against the weights it points to, so a card
next to foreign weights is refused. Legacy ``.pt`` weights are read with
``weights_only=True`` and converted by ``python -m audiodl.pretrained.convert``.

Shipping a model into the package is its own explicit step
(:func:`ship`, ``audiodl ship``): it refuses smoke/CI runs and never
overwrites a shipped model unless told to.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from ..errors import ModelError
from .card import ModelCard, build_card
from .weights import (SAFETENSORS_SUFFIX, check_state, load_torch_state, read_state_dict,
                      sha256_of, verified_path, write_state_dict)

__all__ = ["WEIGHTS_DIR", "ModelCard", "build_card", "list_models", "card", "load", "save",
           "ship", "build_model", "sha256_of", "default_model", "resolve", "card_file",
           "read_state_dict", "verified_path", "load_torch_state", "load_members"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def card_file(name_or_path, *, directory=None) -> Path:
    """The card file (``.../NAME.json``) of a shipped name or a card path."""
    s = str(name_or_path)
    if s.endswith(".json"):
        return Path(s)
    d = Path(directory or WEIGHTS_DIR)
    path = d / f"{s}.json"
    if "/" in s or "\\" in s or not path.exists():
        known = ", ".join(p.stem for p in sorted(d.glob("*.json"))) or "none"
        raise ModelError(f"unknown model {s!r} (known: {known})")
    return path


def resolve(name_or_path, *, directory=None) -> tuple:
    """``(card, directory of its weights)`` of a shipped name or a card path."""
    path = card_file(name_or_path, directory=directory)
    c = ModelCard.read(path)
    _check_for_task(c, path)
    return c, path.parent


def _check_for_task(c: ModelCard, path) -> None:
    """The task's own checks of a card (labels, decoder parameters), naming the card file."""
    from ..tasks import TASKS, task_class
    if c.task not in TASKS:
        return
    try:
        task_class(c.task).check_card(c)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def card(name_or_path, *, directory=None) -> ModelCard:
    """The validated :class:`ModelCard` of a shipped model name or a card path."""
    return resolve(name_or_path, directory=directory)[0]


def list_models(task: Optional[str] = None, *, directory=None) -> list:
    """Names of the available models (optionally of one task), sorted."""
    d = Path(directory or WEIGHTS_DIR)
    return [p.stem for p in sorted(d.glob("*.json"))
            if task is None or ModelCard.read(p).task == task]


def default_model(task: str, *, directory=None) -> str:
    """The model a task uses by default: the card with ``default: true``."""
    names = list_models(task, directory=directory)
    for n in names:
        if card(n, directory=directory).default:
            return n
    if names:
        return names[0]
    raise ModelError(f"no shipped model for task {task!r}")


def load(name_or_path, *, device: str = "cpu", directory=None):
    """Build the torch model of a card and load its verified weights.

    Returns
    -------
    model : torch.nn.Module (eval mode)
    card : ModelCard
    """
    c, wdir = resolve(name_or_path, directory=directory)
    return build_model(c, wdir, device=device), c


def load_members(paths, archs) -> "tuple[list, list]":
    """The models and cards of an ensemble's trained members (card paths or names).

    Every member must be of an architecture in ``archs``, and all of one architecture,
    arguments, front end and labels; an ensemble needs at least two.

    Raises
    ------
    ModelError
        Naming the member that does not fit, and why.
    """
    paths = list(paths)
    if len(paths) < 2:
        raise ModelError(f"an ensemble needs at least two members, got {len(paths)}")
    models, cards = [], []
    for path in paths:
        model, c = load(str(path))
        if c.arch not in archs:
            raise ModelError(f"{path}: {c.task}/{c.arch}, not one of {', '.join(archs)}")
        first = cards[0] if cards else c
        if (c.arch, c.args, c.frontend, c.labels) != (first.arch, first.args, first.frontend,
                                                      first.labels):
            raise ModelError(f"{path}: other architecture, arguments, front end or labels "
                             f"than {paths[0]}")
        models.append(model)
        cards.append(c)
    return models, cards


def build_model(card_: ModelCard, weights_dir, *, device: str = "cpu"):
    """The torch module of ``card_`` with its sha256-checked weights from ``weights_dir``."""
    from ..models.registry import build

    try:
        model = build(card_.arch, card_.args)
    except ModelError:
        raise
    except Exception as exc:  # nonsense args that passed the card's type checks
        raise ModelError(f"{card_.name}: cannot build architecture {card_.arch!r} with args "
                         f"{card_.args} ({type(exc).__name__}: {exc})") from None
    load_weights_into(model, card_, weights_dir)
    return model.to(device).eval()


def load_weights_into(model, card_: ModelCard, weights_dir) -> None:
    """Load ``card_``'s sha256-checked weights into the existing torch ``model`` (in place).

    Raises
    ------
    ModelError
        When the weights are missing, altered, or do not fit ``model``.
    """
    import torch

    wpath = verified_path(card_, weights_dir)
    state = load_torch_state(wpath)
    check_state(state, model.state_dict(), wpath)
    try:
        with torch.no_grad():
            model.load_state_dict(state)
    except Exception as exc:  # pragma: no cover - check_state catches what this would
        raise ModelError(f"{card_.name}: cannot load weights {wpath} ({exc})") from None


def save(model, card_: ModelCard, directory, *, overwrite: bool = False) -> Path:
    """Write ``NAME.safetensors`` (state_dict) and ``NAME.json`` (card with sha256).

    Refuses to replace an existing card unless ``overwrite``.
    """
    import torch

    from .. import __version__

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cpath = d / f"{card_.name}.json"
    if cpath.exists() and not overwrite:
        raise ModelError(f"{cpath} exists; pass overwrite=True to replace it")
    wname = f"{card_.name}{SAFETENSORS_SUFFIX}"
    write_state_dict(model.state_dict(), d / wname)
    versions = dict(card_.versions, torch=torch.__version__, audiodl=__version__)
    final = card_.replace(weights=wname, sha256=sha256_of(d / wname), versions=versions)
    final.write(cpath)
    return cpath


def ship(card_path, *, name: Optional[str] = None, replace: bool = False,
         default: Optional[bool] = None, directory=None) -> Path:
    """Copy a trained model (card + weights) into the package's shipped weights.

    Parameters
    ----------
    card_path : path of a trained model's ``.json`` card (its weights beside it).
    name : new name in the registry (default: the card's name).
    replace : allow overwriting a shipped model of that name.
    default : mark as (or not as) the task's default model.

    Legacy ``.pt`` weights are converted to safetensors on the way (the
    shipped card gets the new file name and sha256).

    Raises
    ------
    ModelError
        Smoke/CI runs (``training.extra['smoke']`` true, or a name containing
        ``smoke``/``ci``), weights that fail the sha256 check, or an existing
        shipped model without ``replace``.
    """
    c, wdir = resolve(card_path)
    src = verified_path(c, wdir)
    smoke = bool(c.training.extra.get("smoke")) or \
        any(t in c.name.lower().replace("-", "_").split("_") for t in ("smoke", "ci"))
    if smoke:
        raise ModelError(f"{card_path}: a smoke/CI model is never shipped")
    dest = Path(directory or WEIGHTS_DIR)
    dest.mkdir(parents=True, exist_ok=True)
    new = c.replace(name=name or c.name, weights=f"{name or c.name}{SAFETENSORS_SUFFIX}")
    if default is not None:
        new = new.replace(default=bool(default))
    cpath = dest / f"{new.name}.json"
    if cpath.exists() and not replace:
        raise ModelError(f"shipped model {new.name!r} exists ({cpath}); pass --replace to "
                         "overwrite it")
    if src.suffix == SAFETENSORS_SUFFIX:
        read_state_dict(src)  # a valid file, not only a matching hash
        tmp = dest / (new.weights + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dest / new.weights)
    else:  # legacy torch zip: weights_only read, written as safetensors
        write_state_dict(load_torch_state(src), dest / new.weights)
    new = new.replace(sha256=sha256_of(dest / new.weights))
    if new.default:  # one default per task
        for other in list_models(new.task, directory=dest):
            oc = card(other, directory=dest)
            if other != new.name and oc.default:
                oc.replace(default=False).write(dest / f"{other}.json")
    new.write(cpath)
    return cpath
