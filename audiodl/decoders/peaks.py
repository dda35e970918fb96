"""Peak picking on onset activation functions (numpy only; never torch).

A faithful port of madmom's onset peak picking (``peak_picking``,
``OnsetPeakPickingProcessor``, ``combine_events``; Böck, Krebs & Schedl,
"Evaluating the online capabilities of onset detection methods", ISMIR 2012),
with every public parameter in seconds, plus a causal online picker that
reports each onset as soon as the frame carrying it arrives.

Conventions
-----------
* Frame ``i`` of an activation function sampled at ``fps`` is centred at
  ``i / fps`` seconds.
* Smoothing convolves with an *unnormalised* Hamming window of
  ``round(smooth * fps)`` frames, exactly as madmom does (so a threshold of
  0.54 with ``smooth=0.05`` means what it means in madmom's
  ``CNNOnsetDetector``).
* Seconds are converted to frames with ``round(seconds * fps)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .params import ParamSet
from ..errors import ParameterError

__all__ = [
    "PeakPickingParams",
    "CNN_DEFAULTS",
    "SUPERFLUX_DEFAULTS",
    "smooth_activations",
    "decay_mask",
    "envelope_rise",
    "peak_picking",
    "combine_events",
    "pick_onsets",
    "OnlinePeakPicker",
]


@dataclass(frozen=True)
class PeakPickingParams(ParamSet):
    """Peak-picking settings, all durations in seconds.

    Parameters
    ----------
    threshold : float
        A frame is a candidate when its (smoothed) activation is at least
        ``moving average + threshold``.
    smooth : float [s]
        Length of the Hamming smoothing window (0: none).
    pre_avg, post_avg : float [s]
        Past / future context of the moving average (0, 0: no average).
    pre_max, post_max : float [s]
        Past / future context of the local-maximum test.
    combine : float [s]
        Report only the first onset within ``combine`` seconds.
    delay : float [s]
        Added to every reported time.
    decay_ratio : float
        Decay-aware threshold (0: off). A frame is a candidate only when its (smoothed)
        activation is also at least ``decay_ratio`` times the recent maximum, each past
        frame's value decaying by ``exp(-dt / decay_time)``: false onsets in the ringing
        decay of a loud hit (an open hi-hat's chatter, a cymbal's shimmer) are lower than
        the hit and close to it, a new hit is not. See :func:`decay_mask`.
    decay_time : float [s]
        Time constant of that decaying maximum.
    gate_rise : float [dB]
        Energy gate (0: off; offline only, needs the input's spectral envelope, see
        :func:`envelope_rise`). A frame is a candidate only when some band of the
        spectrogram rises at least ``gate_rise`` dB above that band's held past maximum:
        the ringing tail of a hit (an open hi-hat's chatter, a cymbal's shimmer) stays
        under the envelope the hit itself left, a new hit rises above it.
    gate_release : float [dB/s]
        How fast the held maximum falls (peak hold with a linear release in dB).
    gate_keep : float
        Frames whose (unsmoothed) activation reaches ``gate_keep`` pass the gate anyway
        (1: the gate applies to every frame): a confident detection is kept.
    """

    what = "peak picking"

    threshold: float = 0.54
    smooth: float = 0.05
    pre_avg: float = 0.0
    post_avg: float = 0.0
    pre_max: float = 0.01
    post_max: float = 0.01
    combine: float = 0.03
    delay: float = 0.0
    decay_ratio: float = 0.0
    decay_time: float = 0.1
    gate_rise: float = 0.0
    gate_release: float = 40.0
    gate_keep: float = 1.0

    def __post_init__(self):
        self._as_floats(signed=("threshold", "delay"))
        if self.decay_ratio and not self.decay_time > 0:
            raise ParameterError(f"{self.what}: decay_time must be > 0 when decay_ratio is "
                                 f"set, got {self.decay_time}")
        if self.gate_rise and not self.gate_release > 0:
            raise ParameterError(f"{self.what}: gate_release must be > 0 when gate_rise is "
                                 f"set, got {self.gate_release}")

    def frames(self, fps: float) -> dict:
        """The frame counts used internally at ``fps``."""
        return {k: int(round(getattr(self, k) * fps))
                for k in ("smooth", "pre_avg", "post_avg", "pre_max", "post_max")}


#: madmom's ``CNNOnsetDetector`` defaults (Schlüter & Böck CNN at 100 fps).
CNN_DEFAULTS = PeakPickingParams(threshold=0.54, smooth=0.05, pre_max=0.01, post_max=0.01,
                                 combine=0.03)
#: madmom's ``SuperFlux`` defaults.
SUPERFLUX_DEFAULTS = PeakPickingParams(threshold=1.1, smooth=0.0, pre_avg=0.15, post_avg=0.0,
                                       pre_max=0.01, post_max=0.05, combine=0.03)


def _check_activations(activations) -> np.ndarray:
    a = np.asarray(activations)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ParameterError(f"expected a 1-D activation function (n_frames,), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise ParameterError(f"expected numeric activations, got dtype {a.dtype}")
    if a.size and not np.all(np.isfinite(a)):
        raise ParameterError("activations contain NaN or infinite values")
    return a.astype(np.float64, copy=False)


def smooth_activations(activations, size: int) -> np.ndarray:
    """Convolve with an unnormalised Hamming window of ``size`` frames (madmom ``smooth``).

    Parameters
    ----------
    activations : np.ndarray [shape=(n_frames,)]
    size : int [frames]
        0 or 1: no smoothing.

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float64
    """
    a = _check_activations(activations)
    size = int(size)
    if size < 0:
        raise ParameterError(f"smoothing size must be >= 0 frames, got {size}")
    if size <= 1 or a.size == 0:
        return a
    out = np.convolve(a, np.hamming(size), "same")
    # np.convolve(..., 'same') returns max(M, N) samples; keep the signal's length
    if len(out) != len(a):
        start = (len(out) - len(a)) // 2
        out = out[start:start + len(a)]
    return out


def _windows(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """Views ``a[i - before : i + after + 1]`` (zeros beyond the edges), one row per frame.

    The moving maximum and average over these windows equal scipy.ndimage's
    ``maximum_filter1d``/``uniform_filter1d`` (``mode='constant'``, ``origin=floor((before -
    after) / 2)``, as madmom calls them; tested), without importing scipy.ndimage (~0.3 s
    of a cold start).
    """
    return np.lib.stride_tricks.sliding_window_view(np.pad(a, (before, after)),
                                                    before + after + 1)


def decay_mask(activations, ratio: float, time_frames: float) -> np.ndarray:
    """The decay-aware threshold ``ratio * max_{k >= 1} a[i - k] * exp(-k / time_frames)``.

    The maximum of the past frames (the current one excluded), each decayed exponentially
    with its distance: high right after a loud peak, fading with the time constant
    ``time_frames``. Computed exactly in the log domain with a running maximum
    (``log a[k] + k / T`` accumulated, minus ``i / T``), so it is O(n) and causal.

    Parameters
    ----------
    activations : np.ndarray [shape=(n_frames,)], >= 0
    ratio : float
        0 gives zeros.
    time_frames : float [frames], > 0

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float64
    """
    a = np.asarray(activations, dtype=np.float64)
    if not ratio or a.size == 0:
        return np.zeros(a.shape, np.float64)
    if not time_frames > 0:
        raise ParameterError(f"decay time must be > 0 frames, got {time_frames}")
    k = np.arange(a.size, dtype=np.float64) / float(time_frames)
    with np.errstate(divide="ignore"):
        lg = np.log(np.maximum(a, 0.0)) + k
    run = np.maximum.accumulate(lg)
    out = np.zeros(a.size, np.float64)
    out[1:] = np.exp(run[:-1] - k[1:])
    return float(ratio) * out


#: dB per natural-log unit of a magnitude spectrogram (``20 / ln 10``)
DB_PER_NEPER = 20.0 / np.log(10.0)


def envelope_rise(envelope, release: float, *, lookahead: int = 2) -> np.ndarray:
    """How far each frame's spectrum rises above its own held past maximum [dB].

    Each band's envelope is held with a linear release of ``release`` dB per frame (a peak
    hold: ``H[t] = max(E[t - 1], H[t - 1] - release)``, so ``H[t]`` remembers frames before
    ``t``). Frame ``t`` gets the largest rise over bands of ``max(E[t - 1 .. t + lookahead])``
    above ``H[t - 1]`` (the hold before the attack's first frame). Before the first frame
    the hold is empty: the first frames always rise.

    Parameters
    ----------
    envelope : np.ndarray [shape=(n_frames, n_bands)], dB
        E.g. a log-magnitude (mel) spectrogram times :data:`DB_PER_NEPER`.
    release : float [dB per frame], > 0
    lookahead : int [frames], >= 0

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float64 [dB]; large (1000) where the hold is empty
    """
    e = np.asarray(envelope, dtype=np.float64)
    if e.ndim != 2:
        raise ParameterError(f"expected a (n_frames, n_bands) envelope, got shape {e.shape}")
    if not release > 0:
        raise ParameterError(f"release must be > 0 dB per frame, got {release}")
    lookahead = int(lookahead)
    if lookahead < 0:
        raise ParameterError(f"lookahead must be >= 0 frames, got {lookahead}")
    n = len(e)
    if n == 0:
        return np.zeros(0, np.float64)
    # H[t] = max_{k >= 1} E[t - k] - (k - 1) * release: a running maximum of E[j] + j * release
    j = np.arange(n, dtype=np.float64)[:, None] * release
    run = np.maximum.accumulate(e + j, axis=0)
    hold = np.full(e.shape, -np.inf)
    hold[1:] = run[:-1] - j[1:] + release
    # window maximum over frames t - 1 .. t + lookahead (frames beyond the ends: -inf)
    padded = np.pad(e, ((1, lookahead), (0, 0)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(padded, lookahead + 2, axis=0).max(-1)[:n]
    before = np.full(e.shape, -np.inf)
    before[1:] = hold[:-1]  # the hold before frame t - 1
    with np.errstate(invalid="ignore"):
        d = win - before
    d = np.where(np.isfinite(d) | (d > 0), d, 0.0)
    return np.minimum(d.max(axis=1), 1000.0)


def peak_picking(activations, threshold: float, *, smooth: int = 0, pre_avg: int = 0,
                 post_avg: int = 0, pre_max: int = 1, post_max: int = 1,
                 decay_ratio: float = 0.0, decay_time: float = 10.0,
                 rise=None, gate_rise: float = 0.0, gate_keep: float = 1.0) -> np.ndarray:
    """Frame indices of peaks (madmom's ``peak_picking``; contexts in frames).

    A frame is a peak when its smoothed activation is >= the moving average
    over ``[i - pre_avg, i + post_avg]`` plus ``threshold`` and equals the
    maximum over ``[i - pre_max, i + post_max]`` (values beyond the edges are 0).

    Parameters
    ----------
    activations : np.ndarray [shape=(n_frames,)]
    threshold : float
    smooth, pre_avg, post_avg, pre_max, post_max : int [frames]
    decay_ratio : float
        With ``decay_ratio > 0`` a candidate must also reach :func:`decay_mask` of the
        smoothed activations (ratio ``decay_ratio``, time constant ``decay_time``).
    decay_time : float [frames]
    rise : np.ndarray [shape=(n_frames,)] or None, dB
        :func:`envelope_rise` of the input; needed when ``gate_rise > 0``.
    gate_rise : float [dB]
        With ``gate_rise > 0`` a candidate must also have ``rise >= gate_rise`` or an
        (unsmoothed) activation of at least ``gate_keep``.
    gate_keep : float

    Returns
    -------
    np.ndarray [shape=(n_peaks,)], int64 frame indices, ascending
    """
    a = smooth_activations(activations, smooth)
    for name, v in (("pre_avg", pre_avg), ("post_avg", post_avg), ("pre_max", pre_max),
                    ("post_max", post_max)):
        if int(v) < 0:
            raise ParameterError(f"{name} must be >= 0 frames, got {v}")
    if a.size == 0:
        return np.zeros(0, np.int64)
    avg_len = int(pre_avg) + int(post_avg) + 1
    if avg_len > 1:
        w = _windows(a, int(pre_avg), int(post_avg))
        mov_avg = (w.sum(axis=-1, dtype=np.float64) / avg_len).astype(a.dtype)
    else:
        mov_avg = 0.0
    det = a * (a >= mov_avg + threshold)
    if decay_ratio:
        det = det * (a >= decay_mask(a, decay_ratio, decay_time))
    if gate_rise:
        if rise is None:
            raise ParameterError("gate_rise needs the input's envelope rise (rise=...)")
        r = np.asarray(rise, dtype=np.float64).reshape(-1)
        if r.shape != a.shape:
            raise ParameterError(f"rise has {r.size} frames, the activations {a.size}")
        det = det * ((r >= gate_rise) | (_check_activations(activations) >= gate_keep))
    max_len = int(pre_max) + int(post_max) + 1
    if max_len > 1:
        mov_max = _windows(det, int(pre_max), int(post_max)).max(axis=-1)
        det = det * (det == mov_max)
    return np.nonzero(det)[0].astype(np.int64)


def combine_events(times, delta: float, combine: str = "left") -> np.ndarray:
    """Merge events closer than ``delta`` seconds (madmom ``combine_events``).

    Parameters
    ----------
    times : array-like [shape=(n,)], float [seconds], ascending
    delta : float [s]
    combine : {'left', 'mean', 'right'}
        Which time a merged pair keeps.

    Returns
    -------
    np.ndarray [shape=(m,)], float64 [seconds], m <= n
    """
    if combine not in ("left", "mean", "right"):
        raise ParameterError(f"combine must be 'left', 'mean' or 'right', got {combine!r}")
    ev = np.array(times, dtype=np.float64).reshape(-1)
    if len(ev) <= 1 or delta <= 0:
        return ev
    delta = float(delta) + 1e-12  # as madmom: avoid floating-point surprises at the boundary
    idx = 0
    left = ev[0]
    for right in ev[1:]:
        if right - left <= delta:
            if combine == "mean":
                left = ev[idx] = 0.5 * (right + left)
            elif combine == "right":
                left = ev[idx] = right
        else:
            idx += 1
            left = ev[idx] = right
    return ev[:idx + 1].copy()


def pick_onsets(activations, fps: Optional[float] = None, *,
                params: Optional[PeakPickingParams] = None, threshold: Optional[float] = None,
                smooth: Optional[float] = None, pre_avg: Optional[float] = None,
                post_avg: Optional[float] = None, pre_max: Optional[float] = None,
                post_max: Optional[float] = None, combine: Optional[float] = None,
                delay: Optional[float] = None, decay_ratio: Optional[float] = None,
                decay_time: Optional[float] = None, gate_rise: Optional[float] = None,
                gate_release: Optional[float] = None, gate_keep: Optional[float] = None,
                envelope=None) -> np.ndarray:
    """Onset times from an activation function (madmom ``OnsetPeakPickingProcessor``).

    Parameters
    ----------
    activations : Activations or np.ndarray [shape=(n_frames,)]
        An :class:`~audiodl.types.Activations` carries its own fps.
    fps : float or None
        Frames per second; required for a plain array.
    params : PeakPickingParams or None
        Base settings (default :data:`CNN_DEFAULTS`); keyword arguments override.
    threshold, smooth, pre_avg, post_avg, pre_max, post_max, combine, delay : float or None
    decay_ratio, decay_time : float or None
        See :class:`PeakPickingParams` (durations in seconds).
    gate_rise, gate_release, gate_keep : float or None
        See :class:`PeakPickingParams` (dB, dB/s, activation).
    envelope : np.ndarray [shape=(n_frames, n_bands)] or None, dB
        Spectral envelope of the input at the activations' frame rate (e.g. the onset
        CNN's log-mel input times :data:`DB_PER_NEPER`); needed when ``gate_rise > 0``.

    Returns
    -------
    np.ndarray [shape=(n_onsets,)], float64 [seconds], ascending
    """
    values, fps = _values_and_fps(activations, fps)
    p = (params or CNN_DEFAULTS).replace(threshold=threshold, smooth=smooth, pre_avg=pre_avg,
                                         post_avg=post_avg, pre_max=pre_max,
                                         post_max=post_max, combine=combine, delay=delay,
                                         decay_ratio=decay_ratio, decay_time=decay_time,
                                         gate_rise=gate_rise, gate_release=gate_release,
                                         gate_keep=gate_keep)
    fr = p.frames(fps)
    rise = None
    if p.gate_rise:
        if envelope is None:
            raise ParameterError("gate_rise is set: pass the input's spectral envelope "
                                 "(envelope=...)")
        rise = envelope_rise(envelope, p.gate_release / fps)
    idx = peak_picking(values, p.threshold, **fr, decay_ratio=p.decay_ratio,
                       decay_time=p.decay_time * fps, rise=rise, gate_rise=p.gate_rise,
                       gate_keep=p.gate_keep)
    times = idx.astype(np.float64) / fps
    if p.delay:
        times = times + p.delay
    if p.combine:
        times = combine_events(times, p.combine, "left")
    return times


def _values_and_fps(activations, fps):
    from ..types import Activations
    if isinstance(activations, Activations):
        if fps is not None and abs(float(fps) - activations.fps) > 1e-9:
            raise ParameterError(f"fps={fps} contradicts the activations' own fps "
                                 f"{activations.fps}")
        return _check_activations(activations.values), float(activations.fps)
    if fps is None:
        raise ParameterError("fps is required when passing a plain array of activations")
    if not fps > 0:
        raise ParameterError(f"fps must be > 0, got {fps}")
    return _check_activations(activations), float(fps)


class OnlinePeakPicker:
    """Causal peak picking, one or more frames at a time.

    Reports frame ``i`` as an onset as soon as frame ``i + post_max_frames``
    has arrived (``post_max=0``, the default, means no added latency):
    its activation is >= the mean of the previous ``pre_avg`` frames (and
    itself) plus ``threshold``, and is the maximum of frames
    ``[i - pre_max, i + post_max]``; onsets within ``combine`` seconds of
    the previously reported one are dropped; with ``decay_ratio`` it must also
    reach the (causal) decay-aware threshold of :func:`decay_mask`. No smoothing
    (it would need future frames). With ``post_max=0`` the result equals
    ``pick_onsets(..., smooth=0, post_avg=0, post_max=0)`` on the whole
    activation function.

    Parameters
    ----------
    fps : float
    params : PeakPickingParams or None
        Default: :data:`CNN_DEFAULTS` with ``post_max=0``. ``smooth``,
        ``post_avg`` and the energy gate ``gate_rise`` (offline only) are ignored
        (set to 0); ``post_max`` is kept and adds ``post_max`` seconds of latency.
    **overrides
        Fields of :class:`PeakPickingParams` to change (seconds).
    """

    def __init__(self, fps: float, params: Optional[PeakPickingParams] = None, **overrides):
        if not fps > 0:
            raise ParameterError(f"fps must be > 0, got {fps}")
        p = (params or CNN_DEFAULTS.replace(post_max=0.0)).replace(**overrides)
        self.params = dataclasses.replace(p, smooth=0.0, post_avg=0.0, gate_rise=0.0)
        self.fps = float(fps)
        fr = self.params.frames(self.fps)
        self._pre_avg, self._pre_max, self._post_max = fr["pre_avg"], fr["pre_max"], fr["post_max"]
        self._hist = self._pre_avg + self._pre_max + self._post_max + 1
        self._decay = float(np.exp(-1.0 / (self.params.decay_time * self.fps))) \
            if self.params.decay_ratio else 0.0
        self.reset()

    @property
    def latency(self) -> float:
        """Added decision latency in seconds (``post_max`` frames)."""
        return self._post_max / self.fps

    def reset(self) -> None:
        """Forget everything (start of a new stream)."""
        self._buf = np.zeros(self._hist, np.float64)  # zeros before the start, as madmom
        self._mask = np.zeros(self._hist, np.float64)  # decay-aware threshold of each frame
        self._run = 0.0  # decayed maximum of all frames before the newest one
        self._n = 0  # frames seen
        self._last = -np.inf

    def process(self, values) -> np.ndarray:
        """Feed the next activation frame(s); return onsets decided now [seconds].

        Parameters
        ----------
        values : float or np.ndarray [shape=(k,)]

        Returns
        -------
        np.ndarray [shape=(m,)], float64 [seconds]
        """
        v = np.atleast_1d(np.asarray(values, dtype=np.float64)).reshape(-1)
        if v.size and not np.all(np.isfinite(v)):
            raise ParameterError("activations contain NaN or infinite values")
        out = []
        thr = self.params.threshold
        pm, po, pa = self._pre_max, self._post_max, self._pre_avg
        buf = self._buf
        c = len(buf) - 1 - po  # index of the frame being decided
        mask, ratio = self._mask, self.params.decay_ratio
        for x in v:
            if ratio:  # decay_mask: ratio * decayed maximum of the frames before x
                self._run = self._decay * max(buf[-1], self._run) if self._n else 0.0
                mask[:-1] = mask[1:]
                mask[-1] = ratio * self._run
            buf[:-1] = buf[1:]
            buf[-1] = x
            self._n += 1
            i = self._n - 1 - po
            if i < 0:
                continue
            a = buf[c]
            if not (a > 0 and a >= self._avg(buf, c, pa) + thr and a >= mask[c]):
                continue
            # local maximum of the thresholded values over [c - pm, c + po]
            ok = True
            for j in range(c - pm, c + po + 1):
                if buf[j] > a and buf[j] >= self._avg(buf, j, pa) + thr and buf[j] >= mask[j]:
                    ok = False
                    break
            if not ok:
                continue
            t = i / self.fps + self.params.delay
            if self.params.combine and t - self._last <= self.params.combine + 1e-12:
                continue
            self._last = t
            out.append(t)
        return np.asarray(out, dtype=np.float64)

    @staticmethod
    def _avg(buf, j, pa):
        if not pa:
            return 0.0
        lo = j - pa
        if lo < 0:  # only for the leftmost frames of the max window: older history is gone
            return buf[:j + 1].sum() / (pa + 1)
        return buf[lo:j + 1].sum() / (pa + 1)

    def flush(self) -> np.ndarray:
        """Decide the last ``post_max`` frames at the end of a stream (zeros after it)."""
        if self._post_max == 0:
            return np.zeros(0)
        return self.process(np.zeros(self._post_max))
