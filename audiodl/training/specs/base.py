"""What a task's training spec provides, and the config fields every spec shares.

A spec subclasses :class:`TrainingSpec` and sets :attr:`~TrainingSpec.task`
and :attr:`~TrainingSpec.config_class` (a dataclass extending
:class:`SpecConfig`). The runner calls, in this order::

    prepared = spec.prepare(config, data_root=...)       # model + datasets (+ stats set)
    loss_fn  = spec.loss(config)
    metric_fn = spec.metrics(config, prepared)            # validation scores, or None
    forward_fn = spec.forward(config)                     # or None: model(inputs)
    ... trainer.train(...) ...                            # restores the best epoch
    decoder = spec.tune(model, config, prepared)          # on VALIDATION only, or None
    card = spec.card(model, config, prepared, info=..., decoder=decoder)

and saves ``card`` with the weights (:func:`audiodl.pretrained.save`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Optional

from ...errors import ParameterError
from ..trainer import TrainConfig

__all__ = ["SpecConfig", "Prepared", "RunInfo", "TrainingSpec", "parse_arch_args"]


@dataclass
class SpecConfig(TrainConfig):
    """Fields shared by every task's config (beyond :class:`TrainConfig`).

    Parameters
    ----------
    name : str
        Model name written in the card (``<name>.json`` in the run folder);
        empty: the spec's default.
    arch : str
        Registered architecture (:mod:`audiodl.models.registry`).
    arch_args : str
        JSON object of architecture keyword arguments.
    threads : int
        torch CPU threads per process.
    feature_cache : str
        Feature cache folder; empty: the user cache (``~/.cache/audiodl/features``).
    smoke : bool
        A smoke/CI run: marked in the card (``training.smoke``), never shipped.
    init_from : str
        Fine-tuning: a shipped model name or card path whose (sha256-checked)
        weights replace the freshly initialised ones before training, the
        input normalisation included; its architecture must be the config's.
        The optimiser, schedule and history start afresh.
    """

    name: str = ""
    arch: str = ""
    arch_args: str = "{}"
    threads: int = 1
    feature_cache: str = ""
    smoke: bool = False
    init_from: str = ""

    def __post_init__(self):
        super().__post_init__()
        parse_arch_args(self.arch_args)
        if self.threads < 1:
            raise ParameterError("threads must be >= 1")


def parse_arch_args(text: str) -> dict:
    """``arch_args`` (a JSON object) as a dict."""
    try:
        args = json.loads(text or "{}")
    except (ValueError, RecursionError) as exc:
        raise ParameterError(f"arch_args must be a JSON object, got {text!r} ({exc})") from None
    if not isinstance(args, dict):
        raise ParameterError(f"arch_args must be a JSON object, got {text!r}")
    return args


@dataclass
class Prepared:
    """A spec's model and data, ready for the trainer.

    Attributes
    ----------
    model : torch.nn.Module
        Built, with the training-set normalisation statistics set.
    train, valid : torch Dataset (valid may be None)
    data : dict or str
        Summary of the training data for the card (relative paths only).
    extra : dict
        Whatever the spec's ``metrics``/``tune``/``card`` need (validation
        items, the front end, ...).
    """

    model: object
    train: object
    valid: object
    data: object = ""
    extra: dict = field(default_factory=dict)


@dataclass
class RunInfo:
    """Facts about the finished run passed to :meth:`TrainingSpec.card`.

    Attributes
    ----------
    name : str
        Model name of the card.
    command : str
        The command that trained it (no machine paths).
    seconds : float
        Wall time of the whole run [s].
    result : dict
        The trainer's result (``best_epoch``, ``best``, ``history``...).
    world_size : int
        Training processes.
    config : dict
        The resolved config.
    """

    name: str
    command: str
    seconds: float
    result: dict
    world_size: int = 1
    config: dict = field(default_factory=dict)


class TrainingSpec:
    """Base class of the training spec of one task (see the module notes)."""

    #: task name (:data:`audiodl.tasks.TASKS`)
    task: str = ""
    #: the flat config dataclass of this task
    config_class: type = SpecConfig
    #: model name when the config leaves ``name`` empty
    default_name: str = ""

    def prepare(self, config, *, data_root) -> Prepared:
        """Read the data under ``data_root``, build the model and the datasets."""
        raise NotImplementedError

    def loss(self, config) -> Callable:
        """``loss_fn(outputs, targets) -> scalar tensor``."""
        raise NotImplementedError

    def metrics(self, config, prepared: Prepared) -> Optional[Callable]:
        """``metric_fn(list of outputs, list of targets) -> dict`` of validation scores."""
        return None

    def forward(self, config) -> Optional[Callable]:
        """``forward_fn(model, batch, loss_fn) -> (loss, outputs)``, or None for ``model(x)``."""
        return None

    def tune(self, model, config, prepared: Prepared) -> Optional[dict]:
        """Decoder parameters chosen on the validation data.

        Returns
        -------
        dict in the :class:`~audiodl.pretrained.card.DecoderSpec` layout
        (``offline``, ``online``, ``tuned_on``), optionally with ``scores``
        (validation scores of the tuned decoder, moved to the card's
        metrics), or None.
        """
        return None

    def card(self, model, config, prepared: Prepared, *, info: RunInfo,
             decoder: Optional[dict]):
        """The :class:`~audiodl.pretrained.card.ModelCard` of the trained model."""
        raise NotImplementedError

    # helpers for subclasses ---------------------------------------------------
    def model_name(self, config) -> str:
        return config.name or self.default_name

    def run_name(self, config) -> str:
        """Folder name of a run under ``DATA_ROOT/runs/<task>/``."""
        return f"{self.model_name(config)}-seed{config.seed}"

    @staticmethod
    def card_metrics(info: RunInfo, decoder: Optional[dict], *, valid_key: str = "valid",
                     tuned_key: str = "valid_tuned") -> tuple:
        """``(metrics, decoder section)`` for :func:`~audiodl.pretrained.card.build_card`.

        ``metrics[valid_key]`` holds the trainer's best validation scores (floats
        rounded to 5 digits); the validation scores of the tuned decoder
        (``decoder['scores']``, see :meth:`tune`) move to ``metrics[tuned_key]``;
        the decoder section is the rest (None when empty).
        """
        metrics = {valid_key: {k: (round(v, 5) if isinstance(v, float) else v)
                               for k, v in (info.result.get("best") or {}).items()}}
        if decoder and "scores" in decoder:
            metrics[tuned_key] = decoder["scores"]
        dec = {k: v for k, v in (decoder or {}).items() if k != "scores"} or None
        return metrics, dec

    @staticmethod
    def training_info(config, info: RunInfo, data, **extra) -> dict:
        """The card's ``training`` section: data, command, seed, seconds + extras."""
        out = {"data": data, "command": info.command, "seed": config.seed,
               "seconds": round(info.seconds, 1),
               # the trainer's clock, summed over resumed runs (seconds: this process)
               "train_seconds": round(float(info.result.get("seconds") or 0.0), 1),
               "best_epoch": info.result.get("best_epoch"),
               "world_size": info.world_size, "threads": config.threads,
               "config": info.config}
        if config.smoke:
            out["smoke"] = True
        out.update(extra)
        return out


def init_weights(model, ref: str) -> dict:
    """Load the weights of model ``ref`` (name or card path) into ``model`` (fine-tuning).

    Returns what the card records: ``{"model": name, "sha256": ...}``.

    Raises
    ------
    ModelError
        When ``ref`` cannot be resolved or its weights do not fit ``model``.
    """
    from ...pretrained import load_weights_into, resolve
    card, wdir = resolve(ref)
    target = getattr(model, "init_target", None)  # a model built around another one
    load_weights_into(model if target is None else target(card.arch), card, wdir)
    return {"model": card.name, "sha256": card.sha256}
