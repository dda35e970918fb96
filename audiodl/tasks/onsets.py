"""Onset detection: the Schlüter & Böck CNN and SuperFlux behind one API.

>>> import audiodl
>>> res = audiodl.onsets("song.wav")                 # doctest: +SKIP
>>> res.times                                        # seconds
>>> res.activations.values, res.activations.fps      # the onset strength, 100 fps

Stages (each callable on its own, so decoding can be re-tuned without
re-running the network): ``load`` -> ``features`` -> ``activations`` (an
:class:`~audiodl.types.Activations` at 100 fps) -> ``decode`` (madmom-style
peak picking, :mod:`audiodl.decoders.peaks`).

Methods
-------
``'cnn'``
    The shipped Schlüter & Böck CNN (default model of task ``onsets``).
``'superflux'``
    Böck & Widmer's SuperFlux (DAFx 2013), no model, no torch
    (:class:`~audiodl.features.odf.SuperFluxODF`).

Online mode: :meth:`OnsetPipeline.online` (:mod:`audiodl.tasks.onsets_online`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..decoders.peaks import (DB_PER_NEPER, SUPERFLUX_DEFAULTS, PeakPickingParams,
                             pick_onsets)
from ..errors import ParameterError
from ..types import Activations, Events
from .base import Pipeline

__all__ = ["OnsetResult", "OnsetPipeline", "SuperFlux", "onsets", "detector", "METHODS",
           "TASK", "edge_margin"]

METHODS = ("cnn", "superflux")
TASK = "onsets"


@dataclass(frozen=True)
class OnsetResult:
    """Detected onsets with the activation function they were picked from.

    Attributes
    ----------
    times : np.ndarray [shape=(n_onsets,)], float64 [seconds], ascending
    activations : Activations
        Onset strength per frame (``values`` shape ``(n_frames,)``) with its fps.
    method : str
    params : dict
        The peak-picking parameters used (seconds).
    source : str or None
    """

    times: np.ndarray
    activations: Activations
    method: str = "cnn"
    params: dict = field(default_factory=dict)
    source: Optional[str] = None

    def __len__(self) -> int:
        return len(self.times)

    @property
    def events(self) -> Events:
        return Events(times=self.times)


def edge_margin(config, context_frames: int = 0) -> float:
    """Seconds at the end of a file in which onsets are not reported.

    The last frames' windows reach past the end of the audio into zero
    padding, and a network sees ``context_frames`` further frames; the sudden
    drop to silence there is not an onset in the signal, yet the activation
    can rise at it. Onsets later than ``duration - max(n_fft) / 2 / sr -
    context_frames / fps`` are dropped (116 ms for the shipped CNN, 23 ms
    for SuperFlux).
    """
    return max(config.n_ffts) / 2.0 / config.sr + context_frames / config.fps


def envelope_of_features(features) -> np.ndarray:
    """``(n_frames, n_bands)`` dB envelope of onset-CNN features: the first (shortest-FFT)
    log-mel channel (natural log of magnitude) times ``20 / ln 10``; a 2-D input is one
    channel already."""
    f = np.asarray(features)
    if f.ndim == 3:
        f = f[0]
    return (f * DB_PER_NEPER).astype(np.float32)


class _OnsetTask(Pipeline):
    """Peak picking, formats and scores shared by the CNN and SuperFlux detectors."""

    task = TASK
    method = ""
    params_type = PeakPickingParams
    online_params_type = PeakPickingParams
    formats = {"text": ".onsets.txt", "json": ".onsets.json", "jams": ".onsets.jams"}
    default_format = "text"
    #: allowed threshold range of the activation (CNN: probabilities)
    threshold_range = (0.0, np.inf)

    def params(self, **overrides) -> PeakPickingParams:
        p = super().params(**overrides)
        lo, hi = self.threshold_range
        if not lo <= p.threshold < hi:
            raise ParameterError(f"{self.method}: threshold must be in [{lo}, {hi}) for this "
                                 f"activation, got {p.threshold}")
        return p

    def decode(self, activations: Activations, **params) -> OnsetResult:
        """Peak picking with the tuned parameters, overridden by ``params`` (seconds)."""
        p = self.params(**params)
        if p.gate_rise and activations.envelope is None:
            raise ParameterError(f"{self.method}: gate_rise needs the input's envelope, which "
                                 "these activations do not carry (computed without the gate, "
                                 "or by another detector); pass gate_rise=0")
        times = pick_onsets(activations, params=p, envelope=activations.envelope)
        if activations.audio_duration is not None:
            ctx = self.backend.future_frames if self.backend is not None else 0
            times = times[times <= activations.audio_duration - edge_margin(self.config, ctx)]
        return OnsetResult(times=times, activations=activations, method=self.method,
                           params=p.to_dict())

    def __call__(self, x, sr: Optional[int] = None, **params) -> OnsetResult:
        res = self.decode(self.activations(x, sr), **params)
        src = x if isinstance(x, str) else getattr(x, "path", None)
        return OnsetResult(res.times, res.activations, res.method, res.params, src)

    def online(self, **params):
        """A causal streaming detector sharing this front end (and model)."""
        from .onsets_online import OnlineOnsetDetector
        return OnlineOnsetDetector(self, **params)

    @property
    def online_params(self) -> PeakPickingParams:
        on = self.card.decoder.online if self.card is not None else None
        if on:
            return PeakPickingParams.from_dict(on)
        return self.default_params.replace(post_max=0.0, smooth=0.0)

    def write(self, result: OnsetResult, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:
        """Onsets as ``text`` (MIREX: one time per line), ``json`` or ``jams``."""
        from ..io.annotations import format_events
        act = result.activations
        conf = [float(act.values[min(len(act.values) - 1, int(round(t * act.fps)))])
                for t in result.times] if len(act.values) else None
        return format_events(result.times, fmt or self.default_format, confidence=conf,
                             duration=act.duration, source=source or result.source,
                             namespace="onset", key="onsets", tool=result.method,
                             extra={"method": result.method, "fps": act.fps,
                                    "params": result.params})

    def evaluate(self, reference, estimate, *, protocol: Optional[str] = None) -> dict:
        """Onset scores of one file (mir_eval matching; protocol ``mirex`` or ``cpjku``)."""
        from ..evaluation.onsets import evaluate
        est = estimate.times if isinstance(estimate, OnsetResult) else estimate
        return evaluate(reference, est, protocol=protocol)


class OnsetPipeline(_OnsetTask):
    """CNN onset detector: front end -> :class:`~audiodl.models.onsets.OnsetCNN` -> peaks."""

    method = "cnn"
    threshold_range = (0.0, 1.0)
    card_labels = ("onset",)

    @property
    def keep_envelope(self) -> bool:
        """Keep the log-mel envelope when the card's peak picking has the energy gate."""
        return bool(self.default_params.gate_rise)

    def envelope_of(self, features):
        """dB envelope of a feature chunk: its first (shortest-FFT) log-mel channel."""
        return envelope_of_features(features)

    def postprocess(self, outputs):
        return np.asarray(outputs, np.float32).reshape(-1)


class SuperFlux(_OnsetTask):
    """Non-learned onset detector with the same stages as :class:`OnsetPipeline`.

    The spectrogram is the ``superflux`` preset (2048-point frames, 100 fps,
    24 bands per octave 30 Hz-17 kHz, log(1 + magnitude)); the activation
    is scaled by 1/ln(10) so its values match madmom's log10 front end.
    """

    method = "superflux"

    def __init__(self, config=None, params: Optional[PeakPickingParams] = None):
        from ..features.config import preset
        super().__init__(None, None, config=config or preset("superflux"))
        self.default_params = params or SUPERFLUX_DEFAULTS

    def activation_values(self, chunks, progress=None) -> np.ndarray:
        from ..features.odf import SuperFluxODF
        odf, outs = SuperFluxODF(), []
        for c in chunks:
            outs.append(odf.push(c))
            if progress is not None:
                progress(np.shape(c)[-2])
        return np.concatenate(outs) if outs else np.zeros(0, np.float32)


def detector(method: str = "cnn", *, model: Optional[str] = None, device: str = "cpu",
             backend: str = "auto"):
    """Build a reusable detector (loads the model once).

    Parameters
    ----------
    method : {'cnn', 'superflux'}
    model : str or None
        Pretrained model name or card path (``cnn`` only; default: the task default).
    """
    if method == "cnn":
        return OnsetPipeline.from_pretrained(model, device=device, backend=backend)
    if method == "superflux":
        if model is not None:
            raise ParameterError("method='superflux' takes no model")
        return SuperFlux()
    raise ParameterError(f"unknown onset method {method!r}; known: {METHODS}")


def onsets(path_or_array, sr: Optional[int] = None, *, method: str = "cnn",
           model: Optional[str] = None, threshold: Optional[float] = None,
           smooth: Optional[float] = None, pre_max: Optional[float] = None,
           post_max: Optional[float] = None, pre_avg: Optional[float] = None,
           post_avg: Optional[float] = None, combine: Optional[float] = None,
           delay: Optional[float] = None) -> OnsetResult:
    """Detect note onsets.

    Parameters
    ----------
    path_or_array : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        Audio; resampled to 44.1 kHz and mixed to mono.
    sr : int or None [Hz]
        Sampling rate of an array input.
    method : {'cnn', 'superflux'}
    model : str or None
        Pretrained model name (``cnn``).
    threshold, smooth, pre_max, post_max, pre_avg, post_avg, combine, delay : float or None
        Peak-picking overrides (durations in seconds; see
        :class:`~audiodl.decoders.peaks.PeakPickingParams`); defaults come
        from the model card (tuned on validation data).

    Returns
    -------
    OnsetResult
        ``.times`` in seconds and ``.activations`` (with fps).

    Notes
    -----
    Loads the model on every call; for many files build one :func:`detector`
    and call it.
    """
    det = detector(method, model=model)
    return det(path_or_array, sr, threshold=threshold, smooth=smooth, pre_max=pre_max,
               post_max=post_max, pre_avg=pre_avg, post_avg=post_avg, combine=combine,
               delay=delay)
