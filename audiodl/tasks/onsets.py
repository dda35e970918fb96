"""Onset detection: the Schlüter & Böck CNN and SuperFlux behind one API.

>>> import audiodl
>>> res = audiodl.onsets("song.wav")                 # doctest: +SKIP
>>> res.times                                        # seconds
>>> res.activations.values, res.activations.fps      # the onset strength, 100 fps

Stages (each callable on its own, so decoding can be re-tuned without
re-running the network): :meth:`OnsetPipeline.load` -> ``features`` ->
``activations`` (an :class:`~audiodl.types.Activations` at 100 fps) ->
``decode`` (madmom-style peak picking, :mod:`audiodl.decoders.peaks`).

Methods
-------
``'cnn'``
    The shipped Schlüter & Böck CNN (default model of task ``onsets``).
``'superflux'``
    Böck & Widmer's SuperFlux (DAFx 2013): positive difference of a
    log-frequency log-magnitude spectrogram against a frequency-max-filtered
    earlier frame, summed over bands; no model, no torch.

Online mode (:class:`OnlineOnsetDetector`) computes one frame per hop of 441
samples and decides causally; its algorithmic latency is stated by
:attr:`OnlineOnsetDetector.latency`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..decoders.peaks import (CNN_DEFAULTS, SUPERFLUX_DEFAULTS, OnlinePeakPicker,
                              PeakPickingParams, pick_onsets)
from ..errors import ParameterError
from ..features.config import FrontendConfig, preset
from ..features.frontend import Frontend
from ..io.audio import as_signal
from ..pipeline import Pipeline, Stages
from ..types import Activations, Events, Signal

__all__ = ["OnsetResult", "OnsetPipeline", "SuperFlux", "OnlineOnsetDetector", "onsets",
           "detector", "format_result", "METHODS", "superflux_activation"]

log = logging.getLogger(__name__)

METHODS = ("cnn", "superflux")
TASK = "onsets"
#: frames of spectral difference lag for SuperFlux at 100 fps (madmom's ratio 0.5 rule)
SUPERFLUX_LAG = 1


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


# --------------------------------------------------------------------- decoding
def _decode(act: Activations, base: PeakPickingParams, method: str, source, **params):
    p = base.replace(**params)
    times = pick_onsets(act, params=p)
    return OnsetResult(times=times, activations=act, method=method, params=p.to_dict(),
                       source=source)


def _pp_from_card(card: dict, key: str = "offline") -> PeakPickingParams:
    """Peak-picking parameters stored in a card's ``decoder[key]`` (else madmom's defaults).

    A card's ``decoder`` holds ``offline`` and ``online`` parameter dicts (seconds),
    tuned on validation data by the recipe that trained the model.
    """
    d = card.get("decoder", {}).get(key)
    if d:
        return PeakPickingParams.from_dict(d)
    return CNN_DEFAULTS if key == "offline" else CNN_DEFAULTS.replace(smooth=0.0, post_max=0.0)


class _OnsetDecoding:
    """Peak-picking stage shared by the CNN and SuperFlux detectors.

    Subclasses set ``method`` and ``self.peak_params``.
    """

    method: str = ""

    def decode(self, activations: Activations, **params) -> OnsetResult:
        """Peak picking with the tuned parameters, overridden by ``params`` (seconds)."""
        return _decode(activations, self.peak_params, self.method, None, **params)

    def __call__(self, x, sr: Optional[int] = None, **params) -> OnsetResult:
        res = self.decode(self.activations(x, sr), **params)
        src = x if isinstance(x, str) else getattr(x, "path", None)
        return OnsetResult(res.times, res.activations, res.method, res.params, src)

    def online(self, **params) -> "OnlineOnsetDetector":
        """A causal streaming detector sharing this front end (and model)."""
        return OnlineOnsetDetector(self, **params)


class OnsetPipeline(_OnsetDecoding, Pipeline):
    """CNN onset detector: front end -> :class:`~audiodl.models.onsets.OnsetCNN` -> peaks.

    Build with :meth:`from_pretrained` (default: the task's default model).
    """

    tasks = (TASK,)
    method = "cnn"
    #: frames per network call (bounds memory on long files; outputs are identical)
    chunk_frames = 6000

    def __init__(self, model, card: dict, *, device: str = "cpu"):
        super().__init__(model, card, device=device)
        self.peak_params = _pp_from_card(card, "offline")
        self.online_params = _pp_from_card(card, "online")

    def load(self, x, sr: Optional[int] = None) -> Signal:
        return as_signal(x, sr, target_sr=self.sr)

    def network(self, feats: np.ndarray) -> np.ndarray:
        """Network activations of features ``(n_channels, n_frames, n_bands)`` -> ``(n_frames,)``."""
        import torch
        feats = np.asarray(feats, dtype=np.float32)
        n = feats.shape[1]
        h = self.model.context // 2
        padded = np.concatenate([np.repeat(feats[:, :1], h, axis=1), feats,
                                 np.repeat(feats[:, -1:], h, axis=1)], axis=1)
        out = np.empty(n, np.float32)
        with torch.inference_mode():
            for s in range(0, n, self.chunk_frames):
                e = min(n, s + self.chunk_frames)
                x = torch.from_numpy(padded[None, :, s:e + 2 * h]).to(self.device)
                out[s:e] = torch.sigmoid(self.model(x, pad=False))[0].cpu().numpy()
        return out

    def activations(self, x, sr: Optional[int] = None) -> Activations:
        """Onset activation function of audio (path, Signal or array with ``sr``)."""
        sig = self.load(x, sr)
        return Activations(values=self.network(self.features(sig)), fps=self.config.fps)



# -------------------------------------------------------------------- SuperFlux
def superflux_activation(spec: np.ndarray, *, lag: int = SUPERFLUX_LAG,
                         max_bins: int = 3) -> np.ndarray:
    """SuperFlux onset strength of a log-magnitude spectrogram.

    Parameters
    ----------
    spec : np.ndarray [shape=(n_frames, n_bins)]
        log(1 + magnitude) of a log-frequency filterbank.
    lag : int [frames]
        Compare with the frame ``lag`` frames earlier (frames before 0 repeat frame 0).
    max_bins : int
        Width of the maximum filter along frequency applied to the earlier frame.

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32
    """
    from scipy.ndimage import maximum_filter1d
    s = np.asarray(spec, dtype=np.float32)
    ref = maximum_filter1d(s, max_bins, axis=1) if max_bins > 1 else s
    prev = np.concatenate([np.repeat(ref[:1], lag, axis=0), ref[:-lag]], axis=0)
    return np.maximum(s - prev, 0).sum(axis=1).astype(np.float32)


class SuperFlux(_OnsetDecoding, Stages):
    """Non-learned onset detector with the same stages as :class:`OnsetPipeline`.

    The spectrogram is :data:`~audiodl.features.PRESETS` ``['superflux']``
    (2048-point frames, 100 fps, 24 bands per octave 30 Hz-17 kHz,
    log(1 + magnitude)); the activation is scaled by 1/ln(10) so its values
    match madmom's log10 front end.
    """

    tasks = (TASK,)
    method = "superflux"

    def __init__(self, config: Optional[FrontendConfig] = None,
                 params: Optional[PeakPickingParams] = None):
        self.frontend = Frontend(config or preset("superflux"))
        self.peak_params = params or SUPERFLUX_DEFAULTS
        self.online_params = self.peak_params.replace(post_max=0.0, smooth=0.0)

    def activations(self, x, sr: Optional[int] = None) -> Activations:
        spec = self.features(self.load(x, sr))
        return Activations(values=superflux_activation(spec) / np.float32(np.log(10.0)),
                           fps=self.config.fps)



# ----------------------------------------------------------------- public API
def detector(method: str = "cnn", *, model: Optional[str] = None, device: str = "cpu"):
    """Build a reusable detector (loads the model once).

    Parameters
    ----------
    method : {'cnn', 'superflux'}
    model : str or None
        Pretrained model name or card path (``cnn`` only; default: the task default).
    """
    if method == "cnn":
        return OnsetPipeline.from_pretrained(model, device=device)
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


# ------------------------------------------------------------------- streaming
class _StreamingSpectrogram:
    """Per-hop frames of a (multi-resolution) centred STFT filterbank front end.

    Produces exactly the frames of the offline front end (zero padding at both
    ends), each as soon as the samples it needs have arrived.
    """

    def __init__(self, config: FrontendConfig):
        from ..features.filterbanks import filterbank_for
        from ..features.reference import apply_log, window
        if not config.center or config.pad_mode != "constant" or config.diff:
            raise ParameterError("streaming needs center=True, pad_mode='constant', diff=False")
        self.config = config
        self._log = apply_log
        self.hop = config.hop_length
        self.half = max(config.n_ffts) // 2
        self.wins = [window(config.window, config.win_length or n, n).astype(np.float32)
                     for n in config.n_ffts]
        self.fbs = [np.ascontiguousarray(filterbank_for(config, n).T, dtype=np.float32)
                    for n in config.n_ffts]
        self.reset()

    def reset(self):
        self._buf = np.zeros(self.half, np.float32)  # padded signal from absolute index _base
        self._base = 0
        self._t = 0  # next frame index
        self._n = 0  # real samples received

    def _frame(self, centre):
        out = []
        for n, w, fb in zip(self.config.n_ffts, self.wins, self.fbs):
            s = centre - n // 2 - self._base
            mag = np.abs(np.fft.rfft(self._buf[s:s + n] * w))
            if self.config.power == 2.0:
                mag = mag * mag
            out.append(self._log(mag.astype(np.float32) @ fb, self.config))
        return np.stack(out).astype(np.float32)  # (n_channels, n_bins)

    def push(self, y: np.ndarray, *, last: bool = False) -> np.ndarray:
        """Add samples; return the newly complete frames ``(n_channels, k, n_bins)``."""
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        self._n += len(y)
        parts = [self._buf, y]
        n_total = 1 + self._n // self.hop if last else None
        if last:
            parts.append(np.zeros(self.half + self.hop, np.float32))
        self._buf = np.concatenate(parts)
        frames = []
        end = self._base + len(self._buf)
        while True:
            if last and self._t >= n_total:
                break
            centre = self._t * self.hop + self.half  # in padded coordinates
            if centre + self.half > end:
                break
            frames.append(self._frame(centre))
            self._t += 1
        keep_from = self._t * self.hop  # earliest padded index still needed
        drop = keep_from - self._base
        if drop > 0:
            self._buf = self._buf[drop:]
            self._base += drop
        if not frames:
            return np.zeros((self.config.n_channels, 0, len(self.fbs[0][0])), np.float32)
        return np.stack(frames, axis=1)


class OnlineOnsetDetector:
    """Causal onset detection on a stream of samples at 44.1 kHz.

    Each hop (441 samples, 10 ms) yields one spectrogram frame; the CNN
    needs ``context // 2`` (7) future frames and the longest FFT window half
    its length (2048 samples) of future audio, so an onset is reported
    :attr:`latency` seconds (116 ms for the default model) after it occurs,
    plus the compute time per hop. Peak picking is madmom's online mode
    (no smoothing, no future frames). On a whole file the activations equal
    the offline ones exactly.

    Per-hop inputs are tiny: run with ``torch.set_num_threads(1)`` (as
    ``audiodl onsets --online`` does); several threads only add
    synchronisation and, on a busy machine, large delays.

    Parameters
    ----------
    detector : OnsetPipeline or SuperFlux
    **params : float
        Peak-picking overrides (seconds).
    """

    def __init__(self, detector, **params):
        self.detector = detector
        self.fps = detector.config.fps
        self.picker = OnlinePeakPicker(self.fps, detector.online_params.replace(**params))
        self._spec = _StreamingSpectrogram(detector.config)
        self._is_cnn = hasattr(detector, "model")
        self._context = detector.model.context if self._is_cnn else 1
        self.reset()

    @property
    def latency(self) -> float:
        """Algorithmic latency [s]: future audio needed before a frame can be decided."""
        future_frames = self._context // 2 if self._is_cnn else 0
        return (self._spec.half + future_frames * self._spec.hop) / self.detector.sr \
            + self.picker.latency

    def reset(self):
        self._spec.reset()
        self.picker.reset()
        self._feats = None  # last frames kept as network context
        self._prev = None   # SuperFlux: earlier frames
        self._n_out = 0
        self.activations = []

    def _network(self, frames, *, last):
        h = self._context // 2
        if frames.shape[1] == 0 and not last:
            return np.zeros(0, np.float32)
        if self._feats is None:
            if frames.shape[1] == 0:
                return np.zeros(0, np.float32)
            self._feats = np.repeat(frames[:, :1], h, axis=1)
        buf = np.concatenate([self._feats, frames], axis=1)
        if last and buf.shape[1] > h:
            buf = np.concatenate([buf, np.repeat(buf[:, -1:], h, axis=1)], axis=1)
        n_out = buf.shape[1] - 2 * h
        if n_out <= 0:
            self._feats = buf
            return np.zeros(0, np.float32)
        import torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(buf[None]))
            out = torch.sigmoid(self.detector.model(x, pad=False))[0].numpy()
        self._feats = buf[:, -2 * h:]
        return out

    def _superflux(self, frames):
        if frames.shape[1] == 0:
            return np.zeros(0, np.float32)
        s = frames[0]
        lag = SUPERFLUX_LAG
        hist = np.repeat(s[:1], lag, axis=0) if self._prev is None else self._prev
        full = np.concatenate([hist, s], axis=0)
        act = superflux_activation(full, lag=lag)[lag:]
        self._prev = full[-lag:]
        return act / np.float32(np.log(10.0))

    def process(self, y, *, last: bool = False) -> np.ndarray:
        """Feed samples (44.1 kHz mono float); return onsets decided now [seconds].

        Parameters
        ----------
        y : np.ndarray [shape=(n,)], float
        last : bool
            End of stream: flush the remaining frames.
        """
        frames = self._spec.push(y, last=last)
        act = self._network(frames, last=last) if self._is_cnn else self._superflux(frames)
        self.activations.append(act)
        out = self.picker.process(act) if len(act) else np.zeros(0)
        if last:
            out = np.concatenate([out, self.picker.flush()])
        return out

    def all_activations(self) -> Activations:
        """Every activation computed so far, as one :class:`Activations`."""
        vals = np.concatenate(self.activations) if self.activations else np.zeros(0, np.float32)
        return Activations(values=vals.astype(np.float32), fps=self.fps)


# --------------------------------------------------------------------- output
def format_result(result: OnsetResult, fmt: str = "text", *, duration: Optional[float] = None,
                  source: Optional[str] = None) -> str:
    """Render onsets as ``text`` (one time per line, MIREX), ``json`` or ``jams``.

    Parameters
    ----------
    result : OnsetResult
    fmt : {'text', 'json', 'jams'}
    duration : float or None [s]
        Audio duration (JAMS ``file_metadata``); default: the activations' duration.
    """
    times = np.asarray(result.times, dtype=np.float64)
    if fmt == "text":
        return "".join(f"{t:.3f}\n" for t in times)
    act = result.activations
    conf = [float(act.values[min(len(act.values) - 1, int(round(t * act.fps)))])
            if len(act.values) else None for t in times]
    dur = float(duration if duration is not None else act.duration)
    if fmt == "json":
        return json.dumps({"source": source or result.source, "method": result.method,
                           "onsets": [round(float(t), 6) for t in times],
                           "fps": act.fps, "params": result.params, "duration": dur},
                          indent=1) + "\n"
    if fmt == "jams":
        from .. import __version__
        data = [{"time": float(t), "duration": 0.0, "value": None, "confidence": c}
                for t, c in zip(times, conf)]
        doc = {"file_metadata": {"title": source or result.source or "", "duration": dur,
                                 "jams_version": "0.3.4", "identifiers": {}},
               "annotations": [{"namespace": "onset", "data": data, "time": 0.0,
                                "duration": dur, "sandbox": {"params": result.params},
                                "annotation_metadata": {
                                    "annotation_tools": f"audiodl {__version__} "
                                                        f"({result.method})",
                                    "data_source": "program", "curator": {},
                                    "annotator": {}, "version": __version__, "corpus": "",
                                    "annotation_rules": "", "validation": ""}}],
               "sandbox": {}}
        return json.dumps(doc, indent=1) + "\n"
    raise ParameterError(f"unknown output format {fmt!r}; known: text, json, jams")
