"""Typed model cards: what a shipped checkpoint is, how it was made and how well it does.

A card is the JSON file next to a model's ``state_dict`` (``NAME.safetensors``).
Every field is type-checked on reading: a card with a wrong type or a
nonsense value (``frontend: null``, a decoder section that is not an object,
labels that are not a list of distinct strings) is a
:class:`~audiodl.errors.ModelError` naming the card; the task checks the
rest (its label order, its decoding parameters) when a pipeline is built. :class:`ModelCard`
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
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ModelError(f"decoder section must be a JSON object, got {type(d).__name__}")
        d = dict(d)
        if "offline" in d or "online" in d:  # schema 2 (and the schema-1 onset layout)
            unknown = set(d) - {"offline", "online", "tuned_on"}
            if unknown:
                raise ModelError(f"decoder section has unknown keys {sorted(unknown)}")
            offline, online = d.get("offline"), d.get("online")
            if offline is not None and not isinstance(offline, dict):
                raise ModelError("decoder.offline must be a JSON object of parameters, got "
                                 f"{type(offline).__name__}")
            if online is not None and not isinstance(online, dict):
                raise ModelError("decoder.online must be a JSON object of parameters or "
                                 f"null, got {type(online).__name__}")
            if not isinstance(d.get("tuned_on", ""), str):
                raise ModelError("decoder.tuned_on must be a string")
            return cls(offline=dict(offline or {}), online=online,
                       tuned_on=d.get("tuned_on", ""))
        tuned = d.pop("tuned_on", "")  # schema 1, flat (music/speech detector)
        if not isinstance(tuned, str):
            raise ModelError("decoder.tuned_on must be a string")
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
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ModelError(f"training section must be a JSON object, got {type(d).__name__}")
        d = dict(d)
        known = {k: d.pop(k) for k in ("data", "command", "seed", "seconds") if k in d}
        if not isinstance(known.get("command", ""), str):
            raise ModelError("training.command must be a string")
        seed = known.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ModelError(f"training.seed must be an integer or null, got {seed!r}")
        sec = known.get("seconds")
        if sec is not None and (isinstance(sec, bool) or not isinstance(sec, (int, float))):
            raise ModelError(f"training.seconds must be a number or null, got {sec!r}")
        return cls(**known, extra=d)

    def to_dict(self) -> dict:
        out = {"data": self.data, "command": self.command, "seed": self.seed,
               "seconds": self.seconds}
        out.update(self.extra)
        return out


_REQUIRED = ("name", "task", "arch", "frontend", "weights", "sha256")
#: front-end settings a card may declare (bounds what building the pipeline allocates)
_SR_RANGE = (1000, 384000)
_MAX_BINS = 4096
#: a card file is small; larger ones are refused before parsing
MAX_CARD_BYTES = 4 * 2 ** 20


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
        where = f"model card {self.name!r}" if isinstance(self.name, str) else "model card"
        for k in ("name", "task", "arch", "weights"):
            if not isinstance(getattr(self, k), str) or not getattr(self, k):
                raise ModelError(f"{where}: {k!r} must be a non-empty string")
        if not isinstance(self.sha256, str):
            raise ModelError(f"{where}: 'sha256' must be a hex string")
        if self.layout not in LAYOUTS:
            raise ModelError(f"{where}: layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not isinstance(self.frontend, FrontendConfig):
            raise ModelError(f"{where}: frontend must be a FrontendConfig")
        fe = self.frontend
        if not (_SR_RANGE[0] <= fe.sr <= _SR_RANGE[1]) or fe.n_bins > _MAX_BINS:
            raise ModelError(f"{where}: frontend sr={fe.sr} Hz / {fe.n_bins} bins outside "
                             f"the supported range (sr {_SR_RANGE}, <= {_MAX_BINS} bins)")
        if isinstance(self.labels, (str, bytes)) or not isinstance(self.labels, (list, tuple)) \
                or not all(isinstance(x, str) for x in self.labels):
            raise ModelError(f"{where}: 'labels' must be a list of strings, got "
                             f"{self.labels!r}")
        if len(set(self.labels)) != len(self.labels):
            raise ModelError(f"{where}: 'labels' has duplicates {list(self.labels)}")
        object.__setattr__(self, "labels", tuple(self.labels))
        if not isinstance(self.args, dict) or not all(isinstance(k, str) for k in self.args):
            raise ModelError(f"{where}: 'args' must be a JSON object of architecture "
                             f"arguments, got {type(self.args).__name__}")
        for k in ("normalization", "licence", "paper", "recipe", "description"):
            if not isinstance(getattr(self, k), str):
                raise ModelError(f"{where}: {k!r} must be a string, got "
                                 f"{type(getattr(self, k)).__name__}")
        if not isinstance(self.default, bool):
            raise ModelError(f"{where}: 'default' must be true or false, got {self.default!r}")
        for k in ("metrics", "versions"):
            if not isinstance(getattr(self, k), dict):
                raise ModelError(f"{where}: {k!r} must be a JSON object")
        if not isinstance(self.decoder, DecoderSpec) or not isinstance(self.training,
                                                                        TrainingInfo):
            raise ModelError(f"{where}: decoder/training must be DecoderSpec/TrainingInfo")

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
        version = d.pop("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelError(f"{where}model card schema_version must be a positive integer, "
                             f"got {version!r}")
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
        if not isinstance(d["frontend"], dict):
            raise ModelError(f"{where}model card frontend must be a JSON object of front-end "
                             f"settings, got {type(d['frontend']).__name__}")
        try:
            d["frontend"] = FrontendConfig.from_dict(d["frontend"])
        except Exception as exc:  # ParameterError, TypeError, ValueError, OverflowError ...
            raise ModelError(f"{where}model card frontend invalid ({exc})") from None
        try:
            d["decoder"] = DecoderSpec.from_dict(d.get("decoder"))
            d["training"] = TrainingInfo.from_dict(d.get("training"))
            return cls(**d)
        except ModelError as exc:
            raise ModelError(f"{where}{exc}") from None
        except (TypeError, ValueError, OverflowError) as exc:
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
        from ..io.textfiles import loads_json, read_text
        path = Path(path)
        text = read_text(path, error=ModelError, what="model card", max_bytes=MAX_CARD_BYTES)
        d = loads_json(text, path, error=ModelError)
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
                     weights=weights or f"{name}.safetensors", sha256=sha256 or "0" * 64)


def ensemble_training(cards, paths, script: str, *, member_metric: Optional[str] = None
                      ) -> "tuple[TrainingInfo, str]":
    """Training record of a seed ensemble built from the member ``cards`` (read from ``paths``)
    by the recipe ``script``: the first member's record with the members listed (card, seed,
    command, time, best epoch, weights sha256 and their ``member_metric`` when given), the
    summed time and a command naming every member. Returns it and the members' seeds as text."""
    members = []
    for c, path in zip(cards, paths):
        t = c.training
        m = {"card": str(path), "name": c.name, "seed": t.seed, "command": t.command,
             "seconds": t.seconds, "best_epoch": t.extra.get("best_epoch"), "sha256": c.sha256}
        if member_metric:
            m[member_metric] = (c.metrics or {}).get(member_metric)
        members.append(m)
    first = cards[0]
    seeds = " ".join(str(m["seed"]) for m in members)
    training = dict(first.training.to_dict(),
                    command=f"{first.training.command} (seeds {seeds}; {script} "
                            f"{' '.join('--card ' + str(p) for p in paths)})",
                    seconds=round(sum(m["seconds"] or 0.0 for m in members), 1),
                    members=members)
    for k in ("best_epoch", "train_seconds"):
        training.pop(k, None)
    return TrainingInfo.from_dict(training), seeds
