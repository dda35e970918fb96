"""Frame activations -> labelled segments: median filter, hysteresis, HMM.

Plain numpy (and scipy.ndimage); the two-state Viterbi has a lazily compiled
numba kernel (``cache=True``) and a numpy twin (:func:`viterbi_binary_reference`)
the tests compare against. Never imports torch.

Conventions: activations are ``values [shape=(n_frames,) or (n_frames,
n_classes)]`` at ``fps`` frames per second, frame ``i`` centred at ``i / fps``
and covering ``[(i - 0.5) / fps, (i + 0.5) / fps)``; every public time is in
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from .params import ParamSet
from ..errors import ParameterError
from ..types import Activations, Segments

__all__ = ["SegmentParams", "median_filter", "median_at_least", "hysteresis", "hysteresis_masks",
           "viterbi_binary", "viterbi_binary_reference", "frames_to_intervals", "fill_gaps",
           "drop_short", "decode_segments", "METHODS"]

METHODS = ("threshold", "hysteresis", "viterbi")

_PerClass = Union[float, tuple]


def _check(name, v, lo, hi, *, allow_none=False):
    """Validate a number or a per-class tuple of numbers in [lo, hi]; return it as such."""
    if v is None and allow_none:
        return None
    vals = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]
    if not vals:
        raise ParameterError(f"{name}: empty")
    out = []
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) \
                or not np.isfinite(x) or not lo <= x <= hi:
            raise ParameterError(f"{name} must be a number in [{lo}, {hi}] (or one per class), "
                                 f"got {v!r}")
        out.append(float(x))
    return tuple(out) if isinstance(v, (list, tuple, np.ndarray)) else out[0]


@dataclass(frozen=True)
class SegmentParams(ParamSet):
    """Validated parameters of :func:`decode_segments` (times in seconds).

    Per-class values are tuples in the order of the activation labels; a
    single number applies to every class.
    """

    what = "segment-decoding"

    method: str = "hysteresis"
    threshold: _PerClass = 0.5
    low: Optional[_PerClass] = None
    median: float = 0.0
    min_duration: _PerClass = 0.0
    min_gap: _PerClass = 0.0
    p_stay: tuple = (0.99, 0.99)
    prior: _PerClass = 0.5

    def __post_init__(self):
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {self.method!r}")
        set_ = object.__setattr__
        set_(self, "threshold", _check("threshold", self.threshold, 0.0, 1.0))
        set_(self, "low", _check("low", self.low, 0.0, 1.0, allow_none=True))
        set_(self, "median", _check("median [s]", self.median, 0.0, 3600.0))
        set_(self, "min_duration", _check("min_duration [s]", self.min_duration, 0.0, 3600.0))
        set_(self, "min_gap", _check("min_gap [s]", self.min_gap, 0.0, 3600.0))
        set_(self, "prior", _check("prior", self.prior, 0.0, 1.0))
        stay = np.asarray(self.p_stay, dtype=float)
        if stay.ndim not in (1, 2) or stay.shape[-1] != 2 or np.any(stay <= 0) \
                or np.any(stay >= 1):
            raise ParameterError(f"p_stay must be (off, on) probabilities in (0, 1), "
                                 f"got {self.p_stay!r}")
        set_(self, "p_stay", tuple(map(tuple, stay)) if stay.ndim == 2 else tuple(stay))


def _as_2d(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ParameterError(f"activations must have shape (n_frames,) or (n_frames, n_classes), "
                             f"got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ParameterError("activations contain NaN or infinite values")
    return v


def median_filter(values, *, size: int) -> np.ndarray:
    """Running median over time, per column (edges: nearest value repeated).

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames,) or (n_frames, n_classes)]
    size : int [frames]
        Window length; 1 (or less) returns a copy. Even sizes are rounded up.

    Returns
    -------
    np.ndarray, same shape and float64
    """
    v = np.asarray(values, dtype=np.float64)
    if size <= 1 or len(v) == 0:
        return v.copy()
    from scipy.ndimage import median_filter as _mf
    size = int(size) | 1
    return _mf(v, size=(size,) + (1,) * (v.ndim - 1), mode="nearest")


def median_at_least(values, *, size: int, threshold: float) -> np.ndarray:
    """``median_filter(values, size=size) >= threshold``, exactly, in O(n) per column.

    The running median of an odd window of ``size`` values is at least
    ``threshold`` exactly when at least ``(size + 1) // 2`` of them are, so a
    running count of the frames ``>= threshold`` (a cumulative sum, edges padded
    with the nearest value as in :func:`median_filter`) gives the decision without
    sorting any window: the median filter's rank filter costs ~0.3 s per hour of
    frames at 70 fps with a 1.6 s window, the count ~2 ms.

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames,) or (n_frames, n_classes)]
    size : int [frames]
        Window length, as :func:`median_filter` (even sizes rounded up; 1 or less:
        no filter).
    threshold : float

    Returns
    -------
    np.ndarray of bool, same shape as ``values``
    """
    v = np.asarray(values)
    if size <= 1 or len(v) == 0:
        return v >= threshold  # no filter: compared in the values' own precision
    above = v.astype(np.float64, copy=False) >= threshold  # median_filter's precision
    size = int(size) | 1
    half = size // 2
    a = above.reshape(len(v), -1).astype(np.int32)
    padded = np.concatenate([np.repeat(a[:1], half, axis=0), a, np.repeat(a[-1:], half, axis=0)])
    c = np.concatenate([np.zeros((1, a.shape[1]), np.int64), np.cumsum(padded, axis=0)])
    counts = c[size:] - c[:-size]
    return (counts >= (size + 1) // 2).reshape(v.shape)


def hysteresis_masks(high_mask, low_mask) -> np.ndarray:
    """Hysteresis on two decisions of one column: frames in a run of ``low_mask``
    that contains at least one ``high_mask`` frame (``high_mask`` implies
    ``low_mask``)."""
    above_low = np.asarray(low_mask, dtype=bool)
    high_mask = np.asarray(high_mask, dtype=bool)
    if not len(above_low):
        return above_low.copy()
    # run id of every frame (runs of above_low); keep runs containing a high frame
    starts = np.diff(np.concatenate([[False], above_low]).astype(np.int8)) == 1
    run = np.cumsum(starts)
    run[~above_low] = 0
    has_high = np.zeros(run.max() + 1, dtype=bool)
    has_high[run[high_mask & above_low]] = True
    has_high[0] = False
    return has_high[run]


def hysteresis(values, *, high: float, low: float) -> np.ndarray:
    """Two-threshold decision per column.

    A frame is active when it lies in a run of frames ``>= low`` that contains
    at least one frame ``>= high``.

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames,) or (n_frames, n_classes)]
    high, low : float
        ``low <= high``.

    Returns
    -------
    np.ndarray of bool, same shape as ``values``
    """
    if low > high:
        raise ParameterError(f"hysteresis needs low <= high, got low={low}, high={high}")
    v = np.asarray(values, dtype=np.float64)
    squeeze = v.ndim == 1
    v = _as_2d(v)
    out = np.zeros(v.shape, dtype=bool)
    for c in range(v.shape[1]):
        out[:, c] = hysteresis_masks(v[:, c] >= high, v[:, c] >= low)
    return out[:, 0] if squeeze else out


def _log_probs(p, p_stay, prior):
    eps = 1e-7
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    # scaled likelihoods: posterior / prior (hybrid HMM)
    emit = np.stack([np.log(1 - p) - np.log(1 - prior), np.log(p) - np.log(prior)], axis=1)
    trans = np.log(np.array([[p_stay[0], 1 - p_stay[0]], [1 - p_stay[1], p_stay[1]]]))
    init = np.log(np.array([1 - prior, prior]))
    return emit, trans, init


def viterbi_binary_reference(p, *, p_stay=(0.99, 0.99), prior: float = 0.5) -> np.ndarray:
    """Numpy twin of :func:`viterbi_binary` (slow loop, for tests)."""
    emit, trans, init = _log_probs(p, p_stay, prior)
    n = len(emit)
    if n == 0:
        return np.zeros(0, dtype=bool)
    delta = init + emit[0]
    back = np.zeros((n, 2), dtype=np.int8)
    for t in range(1, n):
        cand = delta[:, None] + trans  # from i to j
        back[t] = np.argmax(cand, axis=0)
        delta = cand[back[t], [0, 1]] + emit[t]
    path = np.zeros(n, dtype=np.int8)
    path[-1] = int(np.argmax(delta))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path.astype(bool)


_KERNEL = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from ..jitcache import jit

        @jit(nogil=True)
        def _viterbi2(emit, trans, init):  # pragma: no cover - compiled
            n = emit.shape[0]
            back = np.zeros((n, 2), dtype=np.int8)
            d0 = init[0] + emit[0, 0]
            d1 = init[1] + emit[0, 1]
            for t in range(1, n):
                a = d0 + trans[0, 0]
                b = d1 + trans[1, 0]
                if b > a:
                    n0 = b
                    back[t, 0] = 1
                else:
                    n0 = a
                a = d0 + trans[0, 1]
                b = d1 + trans[1, 1]
                if b > a:
                    n1 = b
                    back[t, 1] = 1
                else:
                    n1 = a
                d0 = n0 + emit[t, 0]
                d1 = n1 + emit[t, 1]
            path = np.zeros(n, dtype=np.bool_)
            s = 1 if d1 > d0 else 0
            path[n - 1] = s == 1
            for t in range(n - 1, 0, -1):
                s = back[t, s]
                path[t - 1] = s == 1
            return path

        _KERNEL = _viterbi2
    return _KERNEL


def viterbi_binary(p, *, p_stay=(0.99, 0.99), prior: float = 0.5) -> np.ndarray:
    """Most likely on/off path of a two-state HMM driven by posteriors.

    Parameters
    ----------
    p : np.ndarray [shape=(n_frames,)]
        Posterior probability of "active" per frame.
    p_stay : (float, float)
        Probability of staying off / staying on from one frame to the next
        (a self-loop of ``q`` gives a mean run length of ``1 / (1 - q)`` frames).
    prior : float
        Class prior the posteriors were trained with (emissions are
        ``posterior / prior``, the hybrid NN/HMM rule).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], bool
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1:
        raise ParameterError(f"viterbi_binary takes one column, got shape {p.shape}")
    if not all(0 < q < 1 for q in p_stay) or not 0 < prior < 1:
        raise ParameterError("p_stay and prior must lie strictly between 0 and 1")
    if len(p) == 0:
        return np.zeros(0, dtype=bool)
    emit, trans, init = _log_probs(p, p_stay, prior)
    return _kernel()(np.ascontiguousarray(emit), trans, init)


def frames_to_intervals(active, *, fps: float, duration: float | None = None) -> np.ndarray:
    """Runs of active frames -> intervals in seconds.

    Parameters
    ----------
    active : np.ndarray [shape=(n_frames,)], bool
    fps : float
    duration : float or None [seconds]
        Clip the last interval to the signal length.

    Returns
    -------
    np.ndarray [shape=(n, 2)], float64 [seconds]: frame ``i`` covers
    ``[(i - 0.5) / fps, (i + 0.5) / fps)``, clipped at 0.
    """
    a = np.asarray(active, dtype=bool)
    edges = np.diff(np.concatenate([[0], a.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    iv = np.stack([(starts - 0.5) / fps, (ends - 0.5) / fps], axis=1) if len(starts) \
        else np.zeros((0, 2))
    iv = np.maximum(iv, 0.0)
    if duration is not None:
        if len(iv) and ends[-1] == len(a):  # a run reaching the last frame lasts to the end
            iv[-1, 1] = duration
        iv = np.minimum(iv, duration)
    return iv


def fill_gaps(intervals, *, min_gap: float) -> np.ndarray:
    """Merge intervals separated by less than ``min_gap`` seconds."""
    iv = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if len(iv) < 2 or min_gap <= 0:
        return iv.copy()
    out = [iv[0].copy()]
    for s, e in iv[1:]:
        if s - out[-1][1] < min_gap:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append(np.array([s, e]))
    return np.array(out)


def drop_short(intervals, *, min_duration: float) -> np.ndarray:
    """Remove intervals shorter than ``min_duration`` seconds."""
    iv = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    return iv[(iv[:, 1] - iv[:, 0]) >= min_duration]


def decode_segments(activations: Activations, *, method: str = "hysteresis",
                    threshold=0.5, low=None, median: float = 0.0, min_duration=0.0,
                    min_gap=0.0, p_stay=(0.99, 0.99), prior=0.5,
                    labels=None) -> Segments:
    """Smooth frame activations and turn them into labelled segments.

    Parameters
    ----------
    activations : Activations
        ``values [shape=(n_frames, n_classes)]`` probabilities in [0, 1].
    method : {'threshold', 'hysteresis', 'viterbi'}
    threshold : float or sequence of float
        Decision threshold per class (``high`` for hysteresis).
    low : float, sequence of float or None
        Hysteresis lower threshold (default ``threshold - 0.2``, at least 0).
    median : float [seconds]
        Median filter length applied before the decision (0 = none).
    min_duration : float or sequence of float [seconds]
        Drop segments shorter than this (after gap filling), per class or shared.
    min_gap : float or sequence of float [seconds]
        Close gaps shorter than this, per class or shared.
    p_stay : (float, float) or sequence of them
        Viterbi self-loop probabilities (off, on), per class or shared.
    prior : float or sequence of float
        Viterbi class priors.
    labels : sequence of str or None
        Class names (default ``activations.labels``).

    Returns
    -------
    Segments
        Sorted by start time; classes may overlap.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    v = _as_2d(activations.values)
    n_cls = v.shape[1]
    labels = tuple(labels or activations.labels)
    if len(labels) != n_cls:
        raise ParameterError(f"{n_cls} activation columns but labels {labels}")
    fps = activations.fps

    def per_class(x, name):
        if np.ndim(x) == 0:
            return [float(x)] * n_cls
        x = list(x)
        if len(x) != n_cls:
            raise ParameterError(f"{name}: one value per class ({n_cls}) expected, got {x}")
        return [float(a) for a in x]

    thr = per_class(threshold, "threshold")
    lows = per_class(low, "low") if low is not None else [max(0.0, t - 0.2) for t in thr]
    priors = per_class(prior, "prior")
    min_durs = per_class(min_duration, "min_duration")
    min_gaps = per_class(min_gap, "min_gap")
    stays = [tuple(p_stay)] * n_cls if np.ndim(p_stay) == 1 else [tuple(s) for s in p_stay]
    size = max(1, int(round(median * fps))) if median > 0 else 1
    if method == "viterbi" and size > 1:
        v = median_filter(v, size=size)
    duration = activations.duration  # the audio's, when known: never past its end
    ivs, labs = [], []
    for c in range(n_cls):
        # threshold and hysteresis only compare the filtered curve with thresholds:
        # median_at_least decides that exactly without computing the running median
        if method == "threshold":
            act = median_at_least(v[:, c], size=size, threshold=thr[c])
        elif method == "hysteresis":
            low_c = min(lows[c], thr[c])
            col = np.asarray(v[:, c], dtype=np.float64)
            act = hysteresis_masks(median_at_least(col, size=size, threshold=thr[c]),
                                   median_at_least(col, size=size, threshold=low_c))
        else:
            act = viterbi_binary(v[:, c], p_stay=stays[c], prior=priors[c])
        iv = frames_to_intervals(act, fps=fps, duration=duration)
        iv = drop_short(fill_gaps(iv, min_gap=min_gaps[c]), min_duration=min_durs[c])
        ivs.append(iv)
        labs += [labels[c]] * len(iv)
    iv = np.concatenate(ivs) if ivs else np.zeros((0, 2))
    order = np.lexsort((iv[:, 1], iv[:, 0])) if len(iv) else np.zeros(0, dtype=int)
    return Segments(intervals=iv[order], labels=tuple(labs[i] for i in order))
