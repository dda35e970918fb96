"""Pipeline: front end -> model -> decoder, each stage callable on its own.

Task modules subclass :class:`Pipeline` and implement :meth:`activations`
(features -> :class:`~audiodl.types.Activations`) and :meth:`decode`
(activations -> result). ``pipeline(x)`` runs all stages; ``--save-activations``
style workflows call the stages separately.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .errors import ModelError
from .features.config import FrontendConfig
from .features.frontend import Frontend
from .io.audio import as_signal
from .types import Activations, Signal

__all__ = ["Stages", "Pipeline"]


class Stages:
    """Front end -> activations -> decoder, for any detector with a front end.

    Subclasses set ``self.frontend`` (a :class:`~audiodl.features.Frontend`)
    and implement :meth:`activations` and :meth:`decode`. Learned models use
    :class:`Pipeline`; non-learned methods (e.g. SuperFlux) use this directly.
    """

    frontend: Frontend

    @property
    def config(self) -> FrontendConfig:
        return self.frontend.config

    @property
    def sr(self) -> int:
        return self.config.sr

    def load(self, x, sr: Optional[int] = None) -> Signal:
        """Path, Signal or array -> mono Signal at the model's rate."""
        return as_signal(x, sr, target_sr=self.sr)

    def features(self, signal: Signal) -> np.ndarray:
        """Front end on a signal at the model's rate."""
        return self.frontend(signal.y)

    def activations(self, x, sr: Optional[int] = None) -> Activations:  # pragma: no cover
        raise NotImplementedError

    def decode(self, activations: Activations, **params):  # pragma: no cover
        raise NotImplementedError

    def __call__(self, x, sr: Optional[int] = None, **decode_params):
        return self.decode(self.activations(x, sr), **decode_params)


class Pipeline(Stages):
    """A loaded model with its front end and decoder settings.

    Parameters
    ----------
    model : torch.nn.Module (eval mode)
    card : dict
        The model card (see :mod:`audiodl.pretrained`); ``card['frontend']``
        is the FrontendConfig the model was trained with and ``card['decoder']``
        its default decoding parameters.
    device : str
    """

    #: task name(s) this pipeline serves (checked against the card)
    tasks: tuple = ()

    def __init__(self, model, card: dict, *, device: str = "cpu"):
        if self.tasks and card.get("task") not in self.tasks:
            raise ModelError(f"model {card.get('name')!r} is for task {card.get('task')!r}, "
                             f"not {self.tasks}")
        self.model = model
        self.card = card
        self.device = device
        self.frontend = Frontend(FrontendConfig.from_dict(card["frontend"]))
        self.decoder_params = dict(card.get("decoder", {}))
        self.labels = tuple(card.get("labels", ()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.card.get('name')!r})"

    @classmethod
    def from_pretrained(cls, name: Optional[str] = None, *, device: str = "cpu"):
        """Load a shipped model by name (default: the task's default model) or card path."""
        from . import pretrained
        if name is None:
            if not cls.tasks:
                raise ModelError("no model name given")
            name = pretrained.default_model(cls.tasks[0])
        model, card = pretrained.load(name, device=device)
        return cls(model, card, device=device)

