"""The task contract: what every task's pipeline is made of.

A task is four small pieces on shared machinery (see CONTRIBUTING.md,
"Adding a task"): a model module (``models/<task>.py``), a task module
(``tasks/<task>.py``, a :class:`Pipeline` subclass), a training spec
(``training/specs/<task>.py``) and a card (``pretrained/weights/<name>.json``).

A task subclass declares:

``task``           the task name in model cards (the registry key, :data:`audiodl.tasks.TASKS`);
``accepts``        card tasks it can run (default: ``(task,)``);
``params_type``    the typed decoding parameter set (seconds), with ``from_dict``,
                   ``replace(**overrides)`` (None keeps a value) and ``to_dict``;
``formats``        output format -> file suffix for ``-o DIR``;
``card_labels``    the labels a card must declare, in the order of the model's output
                   columns (None: any); a card whose labels differ (e.g. swapped
                   ``music``/``speech``, which would invert the result) is refused;
``online_params_type`` the parameter set of ``decoder.online`` (tasks with a causal mode);
``decode()``       activations -> result;
``evaluate()``     reference, estimate -> dict of scores (through :mod:`audiodl.evaluation`);
``write()``        result -> text in a format (through :mod:`audiodl.io.annotations`);

and may override :meth:`Pipeline.postprocess` (runner outputs -> activation
values) and ``excerpt_hop``. Everything else comes from here: the front end
from the card, bounded-memory :meth:`Pipeline.activations` through the one
streaming front end and the one :class:`~audiodl.runtime.runner.ContextRunner`,
backends, loading by name, and ``pipeline(x)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..decoders.params import ParamSet
from ..errors import ModelError, ParameterError
from ..features.config import FrontendConfig, as_config
from ..types import Activations, Signal

__all__ = ["Pipeline", "NoParams", "check_input"]


@dataclass(frozen=True)
class NoParams(ParamSet):
    """The empty parameter set of decoders that take no parameters."""

    @classmethod
    def _check_names(cls, names) -> None:
        if names:
            raise ParameterError(f"this decoder takes no parameters, got {sorted(names)}")

    def replace(self, **changes) -> "NoParams":
        return super().replace(**{k: v for k, v in changes.items() if v is not None})


def check_input(x, sr) -> None:
    """Refuse inputs no task can take before any work: wrong types, impossible rates.

    ``x``: a path, a :class:`Signal` or a real number array (or list) with
    ``sr`` a positive whole number of Hz (an ``int``, or a float/NumPy number
    equal to one).

    Raises
    ------
    ParameterError
        Naming what is wrong.
    """
    if isinstance(x, (str, os.PathLike, Signal)):
        return
    if not isinstance(x, (np.ndarray, list, tuple)):
        raise ParameterError(f"expected a file path, a Signal or an array of samples, got "
                             f"{type(x).__name__}")
    if sr is None:
        raise ParameterError("an array input needs its sampling rate: pass sr=")
    if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) \
            or not np.isfinite(sr) or sr <= 0 or float(sr) != int(sr):
        raise ParameterError(f"sr must be a positive whole number of Hz, got {sr!r}")
    arr = x if isinstance(x, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"samples are not a regular array ({exc})") from None
    if arr.dtype.kind not in "fiub" or arr.ndim not in (1, 2):
        raise ParameterError(f"samples must be a 1-D or (channels, n) real number array, got "
                             f"{arr.dtype} {arr.shape}")


class Pipeline:
    """Front end -> model -> decoder for one task, each stage callable on its own.

    Build with :meth:`from_pretrained`. On the base class it dispatches on the
    card's task: ``audiodl.Pipeline.from_pretrained("onsets_cnn")`` returns
    an onset pipeline.

    Parameters
    ----------
    card : ModelCard or None
        None for non-learned methods (then ``config`` is required).
    backend : Backend or None
    config : FrontendConfig, preset name or dict, optional
        Front end of a non-learned method (learned ones take the card's).
    """

    task: str = ""
    accepts: tuple = ()
    params_type = NoParams
    formats: dict = {}
    default_format: str = "text"
    #: excerpt hop in frames (excerpt models)
    excerpt_hop: int = 1
    #: frames per backend call (bounds memory; outputs do not depend on it)
    chunk_frames: int = 6000
    #: ``window`` layout (recurrent models): seconds per window, and real context on each side
    window_seconds: float = 30.0
    overlap_seconds: float = 2.0
    #: results are rows of one table (``classify``) rather than one document per input
    combine_outputs: bool = False
    #: the labels (output columns, in order) a card of this task declares; None: any
    card_labels: Optional[tuple] = None
    #: parameter set of the card's ``decoder.online`` section (None: must be null)
    online_params_type = None

    @classmethod
    def check_card(cls, card) -> None:
        """Refuse a card this task cannot run honestly (labels, decoding parameters).

        Raises
        ------
        ModelError
            Naming the card: labels other than :attr:`card_labels` (a swapped
            order would silently invert results), or a ``decoder`` section whose
            parameters are unknown or invalid for this task.
        """
        where = f"model card {card.name!r} (task {card.task!r})"
        if cls.card_labels is not None and tuple(card.labels) != tuple(cls.card_labels):
            raise ModelError(f"{where}: labels {list(card.labels)} must be "
                             f"{list(cls.card_labels)} (the order of the model's outputs)")
        try:
            cls.params_type.from_dict(card.decoder.offline)
        except (ParameterError, TypeError, ValueError) as exc:
            raise ModelError(f"{where}: invalid decoder.offline ({exc})") from None
        if card.decoder.online:
            if cls.online_params_type is None:
                raise ModelError(f"{where}: decoder.online given but the task has no online "
                                 "mode")
            try:
                cls.online_params_type.from_dict(card.decoder.online)
            except (ParameterError, TypeError, ValueError) as exc:
                raise ModelError(f"{where}: invalid decoder.online ({exc})") from None

    def __init__(self, card=None, backend=None, *, config=None):
        if card is not None and card.task not in (self.accepts or (self.task,)):
            raise ModelError(f"model {card.name!r} is for task {card.task!r}, not "
                             f"{self.accepts or (self.task,)}")
        self.card, self.backend = card, backend
        if card is not None:
            self.config: FrontendConfig = card.frontend
        elif config is not None:
            self.config = as_config(config)
        else:
            raise ParameterError(f"{type(self).__name__} needs a model card or a front end")
        if card is not None:
            self.check_card(card)
        self.labels = tuple(card.labels) if card is not None else ()
        offline = card.decoder.offline if card is not None else {}
        self.default_params = self.params_type.from_dict(offline)

    def __repr__(self) -> str:
        name = self.card.name if self.card is not None else self.config
        return f"{type(self).__name__}({name!r})"

    # ------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, name: Optional[str] = None, *, backend: str = "auto",
                        device: str = "cpu") -> "Pipeline":
        """Load a shipped model by name (or a card path) with its front end and decoder.

        Parameters
        ----------
        name : str or None
            Shipped model name or ``.json`` card path; None: the task's default.
        backend : {'auto', 'torch', 'numpy', 'onnx', 'onnx-int8'}
        device : str
            torch device.
        """
        from .. import pretrained
        from ..runtime.backends import make_backend
        if name is None:
            if not cls.task:
                raise ModelError("Pipeline.from_pretrained: give a model name "
                                 f"(shipped: {', '.join(pretrained.list_models())})")
            name = pretrained.default_model(cls.task)
        card, wdir = pretrained.resolve(name)
        target = cls
        if not cls.task:  # the public face: dispatch on the card's task
            from . import task_class
            target = task_class(card.task)
        return target(card, make_backend(card, wdir, backend=backend, device=device))

    # -------------------------------------------------------------- stages
    @property
    def sr(self) -> int:
        """Rate the model's front end runs at [Hz]."""
        return self.config.sr

    @property
    def fps(self) -> float:
        """Rate of the activations [Hz]."""
        if self.backend is not None and self.backend.layout == "excerpt":
            return self.config.fps / self.excerpt_hop
        if self.backend is not None and self.backend.layout in ("same", "window"):
            return self.config.fps / self.backend.time_stride
        return self.config.fps

    def load(self, x, sr: Optional[int] = None) -> Signal:
        """Path, Signal or array -> mono Signal at the model's rate."""
        from ..io.audio import as_signal
        return as_signal(x, sr, target_sr=self.sr)

    def features(self, signal: Signal) -> np.ndarray:
        """Offline front end on a whole signal at the model's rate."""
        from ..features.frontend import spectrogram
        return spectrogram(signal.y, self.config)

    def feature_chunks(self, x, sr: Optional[int] = None):
        """Features in bounded-memory chunks (the streaming front end)."""
        from ..runtime.source import feature_chunks
        return feature_chunks(x, sr, config=self.config)

    def runner(self, *, stream: bool = False):
        """A fresh :class:`~audiodl.runtime.runner.ContextRunner` on this model
        (``stream``: for small pushes, see the runner)."""
        from ..runtime.runner import ContextRunner
        if self.backend is None:
            raise ModelError(f"{type(self).__name__} has no model")
        fps = self.config.fps
        return ContextRunner(self.backend, hop=self.excerpt_hop, chunk_frames=self.chunk_frames,
                             window=int(round(self.window_seconds * fps)),
                             overlap=int(round(self.overlap_seconds * fps)), stream=stream)

    def postprocess(self, outputs: np.ndarray) -> np.ndarray:
        """Runner outputs ``(n_out, n_outputs)`` -> activation values (default: as is)."""
        return outputs

    def activation_values(self, chunks, progress=None) -> np.ndarray:
        """Activation values of an iterable of feature chunks."""
        return self.postprocess(self.runner().run(chunks, progress=progress))

    def activations(self, x, sr: Optional[int] = None, *, progress: bool = False) -> Activations:
        """Activations of audio of any length, in bounded memory (equal to whole-file).

        Parameters
        ----------
        x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        sr : int or None [Hz]
            Rate of an array input (resampled to the model's).
        progress : bool
            Progress bar on stderr (only when it is a terminal).
        """
        from ..runtime.source import duration_of, progress_bar
        check_input(x, sr)
        dur = duration_of(x, sr)
        bar = progress_bar(dur, progress)
        fps = self.config.fps
        tick = (lambda n: bar.update(round(n / fps, 1))) if bar is not None else None
        chunks, env = self.feature_chunks(x, sr), None
        if self.keep_envelope:  # the decoder also looks at the input's energy
            env = []
            chunks = _kept(chunks, self.envelope_of, env)
        try:
            values = self.activation_values(chunks, tick)
        finally:
            if bar is not None:
                bar.close()
        if env is not None:
            env = np.concatenate(env)[:len(values)] if env else None
        return Activations(values=values, fps=self.fps, labels=self.labels,
                           audio_duration=dur, envelope=env)

    #: keep :meth:`envelope_of` of the features in :attr:`Activations.envelope`
    keep_envelope = False

    def envelope_of(self, features: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        """``(k, n_bands)`` dB envelope of a feature chunk (tasks with ``keep_envelope``)."""
        raise NotImplementedError

    # ------------------------------------------------------------ decoding
    def params(self, **overrides):
        """The card's tuned decoding parameters with ``overrides`` (None keeps a value)."""
        return self.default_params.replace(**overrides)

    def decode(self, activations: Activations, **params):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, x, sr: Optional[int] = None, **params):
        return self.decode(self.activations(x, sr), **params)

    # ------------------------------------------------------ results, scores
    def write(self, result, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def write_many(self, items, fmt: Optional[str] = None) -> str:
        """Several ``(source, result)`` as one text (tasks with ``combine_outputs``)."""
        return "".join(self.write(r, fmt, source=s) for s, r in items)

    def evaluate(self, reference, estimate) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    # --------------------------------------------------------------- plots
    def plot(self, x, sr: Optional[int], result, activations: Activations, dest: str, *,
             title: str = "") -> str:
        """Spectrogram (Hz axis), activations and the result, to a PNG at ``dest``."""
        from ..plotting import plot_result
        return plot_result(self.features(self.load(x, sr)), self.config, dest, result=result,
                           activations=activations, title=title)


def _kept(chunks, envelope_of, out):
    """Yield ``chunks`` unchanged, appending ``envelope_of(chunk)`` of each to ``out``."""
    for c in chunks:
        out.append(envelope_of(c))
        yield c
