"""Typed model cards: what a shipped checkpoint is, how it was made and how well it does.

A card is the JSON file next to a model's ``state_dict``. :class:`ModelCard`
validates it, fills defaults, upgrades older layouts (schema 1: untyped dicts
with task-specific decoder sections) and writes it back in one layout.

Every task's decoder section has the same shape (:class:`DecoderSpec`)::

    "decoder": {"offline": {...}, "online": {...} or null, "tuned_on": "..."}

``offline`` holds the decoding parameters (seconds) used by ``decode()``;
``online`` those of a causal mode where the task has one; ``tuned_on`` says
which validation data chose them.

The one builder every training spec uses is :func:`build_card`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ModelError
from ..features.config import FrontendConfig

__all__ = ["ModelCard", "DecoderSpec", "TrainingInfo", "SCHEMA_VERSION", "LAYOUTS",
           "build_card"]

SCHEMA_VERSION = 2

#: how a model maps frames to outputs, which the inference runner needs to know
#: without importing torch:
#: ``excerpt``: fixed-length excerpts -> one output each;
#: ``same``: fully convolutional with internal zero padding (any length, time stride);
#: ``valid``: unpadded convolution needing ``context`` frames (edges repeated);
#: ``window``: unbounded context (recurrent models): whole inputs up to a window,
#: longer ones in overlapping windows whose centres are kept.
LAYOUTS = ("excerpt", "same", "valid", "window")


@dataclass(frozen=True)
class DecoderSpec:
    """Default decoding parameters of a model (seconds), tuned on validation data."""

    offline: dict = field(default_factory=dict)
    online: Optional[dict] = None
    tuned_on: str = ""

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "DecoderSpec":
        d = dict(d or {})
        if "offline" in d or "online" in d:  # schema 2 (and the schema-1 onset layout)
            unknown = set(d) - {"offline", "online", "tuned_on"}
            if unknown:
                raise ModelError(f"decoder section has unknown keys {sorted(unknown)}")
            return cls(offline=dict(d.get("offline") or {}), online=d.get("online"),
                       tuned_on=str(d.get("tuned_on", "")))
        tuned = str(d.pop("tuned_on", ""))  # schema 1, flat (music/speech detector)
        return cls(offline=d, online=None, tuned_on=tuned)

    def to_dict(self) -> dict:
        return {"offline": dict(self.offline), "online": self.online, "tuned_on": self.tuned_on}


@dataclass(frozen=True)
class TrainingInfo:
    """How the weights were made: data, command, seed, time taken (and the rest as ``extra``)."""

    data: object = ""
    command: str = ""
    seed: Optional[int] = None
    seconds: Optional[float] = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "TrainingInfo":
        d = dict(d or {})
        known = {k: d.pop(k) for k in ("data", "command", "seed", "seconds") if k in d}
        return cls(**known, extra=d)

    def to_dict(self) -> dict:
        out = {"data": self.data, "command": self.command, "seed": self.seed,
               "seconds": self.seconds}
        out.update(self.extra)
        return out


_REQUIRED = ("name", "task", "arch", "frontend", "weights", "sha256")


@dataclass(frozen=True)
class ModelCard:
    """Self-description of a shipped (or trained) model.

    Attributes
    ----------
    name, task, arch : str
        Model name, task name (see :data:`audiodl.tasks.TASKS`) and registered
        architecture (:mod:`audiodl.models.registry`).
    args : dict
        Keyword arguments of the architecture.
    frontend : FrontendConfig
        The front end the model was trained with.
    labels : tuple of str
        Name of each output column.
    layout : {'excerpt', 'same', 'valid'}
        How outputs map to frames (see :data:`LAYOUTS`).
    decoder : DecoderSpec
    weights, sha256 : str
        File name of the ``state_dict`` next to the card and its digest.
    normalization, licence, paper, recipe, description : str
    default : bool
        The task's default model.
    training : TrainingInfo
    metrics : dict
        Measured scores (validation and test), as the recipe wrote them.
    versions : dict
    """

    name: str
    task: str
    arch: str
    frontend: FrontendConfig
    weights: str
    sha256: str
    args: dict = field(default_factory=dict)
    labels: tuple = ()
    layout: str = "same"
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    normalization: str = ""
    licence: str = ""
    paper: str = ""
    recipe: str = ""
    description: str = ""
    default: bool = False
    training: TrainingInfo = field(default_factory=TrainingInfo)
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        for k in ("name", "task", "arch", "weights"):
            if not isinstance(getattr(self, k), str) or not getattr(self, k):
                raise ModelError(f"model card: {k!r} must be a non-empty string")
        if self.layout not in LAYOUTS:
            raise ModelError(f"model card {self.name}: layout must be one of {LAYOUTS}, "
                             f"got {self.layout!r}")
        if not isinstance(self.frontend, FrontendConfig):
            raise ModelError(f"model card {self.name}: frontend must be a FrontendConfig")
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))

    # ------------------------------------------------------------------ dicts
    @classmethod
    def from_dict(cls, d: dict, *, source: str = "") -> "ModelCard":
        """Validate a card dict (schema 1 or 2); unknown keys are an error."""
        where = f"{source}: " if source else ""
        if not isinstance(d, dict):
            raise ModelError(f"{where}model card must be a JSON object")
        d = dict(d)
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise ModelError(f"{where}model card lacks {missing}")
        version = int(d.pop("schema_version", 1))
        if version > SCHEMA_VERSION:
            raise ModelError(f"{where}model card schema {version} is newer than this audiodl "
                             f"understands ({SCHEMA_VERSION}); upgrade audiodl")
        if version == 1:  # schema 1 had 'kind' (excerpt/frames) and no layout
            kind = d.pop("kind", None)
            d.setdefault("layout", {"excerpt": "excerpt", "frames": "same"}.get(
                kind, "valid" if d.get("task") == "onsets" else "same"))
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ModelError(f"{where}model card has unknown keys {unknown}; known: "
                             f"{sorted(names)}")
        try:
            d["frontend"] = FrontendConfig.from_dict(d["frontend"])
        except Exception as exc:
            raise ModelError(f"{where}model card frontend invalid ({exc})") from None
        d["decoder"] = DecoderSpec.from_dict(d.get("decoder"))
        d["training"] = TrainingInfo.from_dict(d.get("training"))
        try:
            return cls(**d)
        except TypeError as exc:
            raise ModelError(f"{where}invalid model card ({exc})") from None

    def to_dict(self) -> dict:
        """Plain JSON-ready dict in the current schema."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, FrontendConfig):
                v = v.to_dict()
            elif isinstance(v, (DecoderSpec, TrainingInfo)):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def read(cls, path) -> "ModelCard":
        """Read and validate a card file."""
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model card") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: invalid model card ({exc})") from None
        return cls.from_dict(d, source=str(path))

    def write(self, path) -> Path:
        """Write atomically (temporary file, then rename)."""
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)
        return path

    def replace(self, **changes) -> "ModelCard":
        return dataclasses.replace(self, **changes)

    # -------------------------------------------------------------- summaries
    @property
    def fps(self) -> float:
        """Frame rate of the front end [Hz]."""
        return self.frontend.fps

    def headline_score(self) -> str:
        """One short 'metric=value' string for listings (test scores first)."""
        m = self.metrics or {}
        for key in ("headline", "test"):
            v = m.get(key)
            if isinstance(v, dict):
                flat = _flat_numbers(v)
                if flat:
                    return ", ".join(f"{k}={x:.4g}" for k, x in flat[:2])
            elif isinstance(v, (int, float)):
                return f"{key}={v:.4g}"
        return ""


def _flat_numbers(d, prefix=""):
    out = []
    for k, v in d.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out.append((prefix + str(k), float(v)))
        elif isinstance(v, dict):
            out.extend(_flat_numbers(v, prefix + str(k) + "."))
    return out


def build_card(*, name: str, task: str, arch: str, args: dict, frontend, labels,
               layout: str, decoder: Optional[dict] = None, training: Optional[dict] = None,
               metrics: Optional[dict] = None, normalization: str = "", licence: str = "",
               paper: str = "", recipe: str = "", description: str = "",
               default: bool = False, weights: str = "", sha256: str = "") -> ModelCard:
    """The one card builder every training spec uses.

    ``weights``/``sha256`` are filled by :func:`audiodl.pretrained.save` when
    the model is written; ``decoder`` is a dict in the :class:`DecoderSpec`
    layout; ``training`` holds at least data, command, seed and seconds.
    """
    fe = frontend if isinstance(frontend, FrontendConfig) else FrontendConfig.from_dict(frontend)
    return ModelCard(name=name, task=task, arch=arch, args=dict(args), frontend=fe,
                     labels=tuple(labels), layout=layout,
                     decoder=DecoderSpec.from_dict(decoder),
                     training=TrainingInfo.from_dict(training), metrics=dict(metrics or {}),
                     normalization=normalization, licence=licence, paper=paper, recipe=recipe,
                     description=description, default=default,
                     weights=weights or f"{name}.pt", sha256=sha256 or "0" * 64)
