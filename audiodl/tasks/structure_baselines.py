"""Music structure building blocks (numpy, scipy, librosa; never torch).

* :class:`FramePooler` — front-end frames -> frames pooled in time (max and
  mean over ``pool`` frames), chunk by chunk, so long files stay in bounded memory;
* :func:`foote_novelty` — Foote's checkerboard-kernel novelty on the cosine
  self-similarity of the pooled features (J. Foote, "Automatic audio
  segmentation using a measure of audio novelty", ICME 2000), computed on
  the band around the diagonal only (memory linear in the file length);
* :func:`sf_novelty` — structural features (J. Serrà, M. Müller, P. Grosche,
  J. L. Arcos, "Unsupervised music structure annotation by time series
  structure features and segment similarity", IEEE TMM 2014): time-delay
  embedding, k-nearest-neighbour recurrence, lag matrix, Gaussian smoothing,
  novelty of the lag columns (librosa's ``stack_memory``,
  ``recurrence_matrix`` and ``recurrence_to_lag``);
* :class:`StructureParams` and :func:`decode_structure` — peak picking of a
  boundary curve (madmom-style, :mod:`audiodl.decoders.peaks`), optionally
  :func:`~audiodl.decoders.sections.split_repeats` (a segment that starts or ends with a copy of
  another segment is split there: A A found as one segment), and section
  labels from segment similarity + agglomerative clustering
  (:mod:`audiodl.decoders.sections`, re-exported here).

Frame ``i`` of a pooled curve is reported at ``i / fps`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..decoders.params import ParamSet
from ..decoders.sections import (cluster_labels, label_segments, section_names,  # noqa: F401
                                 segment_distances, split_halves, split_repeats,
                                 unit_rows)
from ..errors import ParameterError
from ..types import Segments

__all__ = ["FramePooler", "foote_novelty", "sf_novelty", "StructureParams",
           "decode_structure", "pick_boundaries", "split_repeats", "structure_boundaries",
           "label_segments", "normalize_curve", "section_names"]


class FramePooler:
    """Pool frames in time by ``pool`` (max and mean), chunk by chunk.

    The output frame ``i`` covers input frames ``[pool * i, pool * (i + 1))``
    (the last one may be shorter), exactly as a max-pool with ``ceil_mode``.

    Parameters
    ----------
    pool : int [frames]
    """

    def __init__(self, pool: int):
        if pool < 1:
            raise ParameterError(f"pool must be >= 1 frames, got {pool}")
        self.pool = int(pool)
        self._rest = None

    def push(self, frames: np.ndarray) -> tuple:
        """``(max, mean)`` pooled frames ``(k, n_bins)`` completed by ``frames (n, n_bins)``."""
        x = np.asarray(frames, dtype=np.float32)
        if x.ndim == 3:  # multi-resolution: pool the channel mean
            x = x.mean(axis=0)
        if self._rest is not None and len(self._rest):
            x = np.concatenate([self._rest, x])
        k = len(x) // self.pool
        self._rest = x[k * self.pool:]
        blocks = x[:k * self.pool].reshape(k, self.pool, x.shape[-1])
        return blocks.max(axis=1), blocks.mean(axis=1)

    def flush(self) -> tuple:
        """The last, partial pooled frame (if any); then reset."""
        rest, self._rest = self._rest, None
        if rest is None or not len(rest):
            return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        return rest.max(axis=0, keepdims=True), rest.mean(axis=0, keepdims=True)


def normalize_curve(v: np.ndarray) -> np.ndarray:
    """A novelty curve scaled to [0, 1] (divided by its maximum; all-zero stays zero)."""
    v = np.maximum(np.asarray(v, dtype=np.float64), 0.0)
    m = v.max() if v.size else 0.0
    return (v / m if m > 0 else v).astype(np.float32)


def foote_novelty(feats: np.ndarray, *, half_width: int) -> np.ndarray:
    """Checkerboard-kernel novelty along the diagonal of the cosine self-similarity.

    Parameters
    ----------
    feats : np.ndarray [shape=(n, d)]
        Pooled features.
    half_width : int [frames]
        Half the kernel size ``L``; the kernel is ``2L x 2L``, tapered by a
        Gaussian (sigma ``L / 2``).

    Returns
    -------
    np.ndarray [shape=(n,)], float32 in [0, 1]
    """
    L = int(half_width)
    if L < 1:
        raise ParameterError(f"half_width must be >= 1 frame, got {half_width}")
    x = unit_rows(feats)
    n = len(x)
    if n == 0:
        return np.zeros(0, np.float32)
    g = np.exp(-0.5 * ((np.arange(2 * L) - L + 0.5) / (L / 2.0)) ** 2)
    sign = np.where(np.arange(2 * L) < L, -1.0, 1.0)
    kern = np.outer(g * sign, g * sign)  # + on the diagonal blocks, - across
    xp = np.concatenate([np.zeros((L, x.shape[1])), x, np.zeros((L, x.shape[1]))])
    nov = np.zeros(n)
    for d in range(2 * L):  # lag d: S[t+a, t+a+d] summed with the weights of that diagonal
        diag = np.einsum("ij,ij->i", xp[:len(xp) - d], xp[d:])  # (n + 2L - d,)
        w = np.array([kern[a, a + d] for a in range(2 * L - d)])
        if d:
            w = w + np.array([kern[a + d, a] for a in range(2 * L - d)])
        # novelty(t) = sum_a w[a] * diag[t + a]  (t indexes the padded start)
        nov += np.correlate(diag, w, mode="valid")[:n]
    return normalize_curve(nov)


def sf_novelty(feats: np.ndarray, *, fps: float, embed: float = 2.0, k_frac: float = 0.04,
               sigma: float = 0.3, max_frames: int = 3000) -> np.ndarray:
    """Structural-features novelty (Serrà et al. 2014) with librosa's building blocks.

    Parameters
    ----------
    feats : np.ndarray [shape=(n, d)]
    fps : float [Hz]
        Rate of ``feats``.
    embed : float [s]
        Time-delay embedding length.
    k_frac : float
        Nearest neighbours per frame as a fraction of the frames.
    sigma : float [s]
        Gaussian smoothing of the lag matrix along time.
    max_frames : int
        Longer inputs are averaged down to at most this many frames first
        (the lag matrix is ``n x 2n``) and the novelty is repeated back.

    Returns
    -------
    np.ndarray [shape=(n,)], float32 in [0, 1]
    """
    import librosa
    from scipy.ndimage import gaussian_filter

    n = len(feats)
    if n < 4:
        return np.zeros(n, np.float32)
    f = max(1, -(-n // int(max_frames)))
    x = np.asarray(feats, dtype=np.float64)
    if f > 1:
        m = -(-n // f) * f
        x = np.concatenate([x, np.repeat(x[-1:], m - n, axis=0)]).reshape(-1, f, x.shape[1])
        x = x.mean(axis=1)
    rate = fps / f
    x = unit_rows(x)
    steps = max(1, int(round(embed * rate)))
    emb = librosa.feature.stack_memory(x.T, n_steps=steps, mode="edge")
    k = max(2, int(round(k_frac * emb.shape[1])))
    import sklearn  # librosa's nearest neighbours; its distance chunks capped at 32 MB
    with sklearn.config_context(working_memory=32):
        rec = librosa.segment.recurrence_matrix(emb, k=min(k, emb.shape[1] - 1), sym=True,
                                                mode="connectivity", metric="euclidean")
    lag = _recurrence_to_lag(rec)
    del rec
    # (lag, time), in place: ndimage filters run on line buffers, one copy of the matrix
    gaussian_filter(lag, sigma=(0.5, max(0.5, sigma * rate)), output=lag)
    nov = np.zeros(lag.shape[1])
    for c in range(1, lag.shape[1], 256):  # squared column differences, a few columns at a time
        e = min(c + 256, lag.shape[1])
        d = lag[:, c:e] - lag[:, c - 1:e - 1]
        nov[c:e] = np.einsum("ij,ij->j", d, d)
    # the embedding looks back ``steps`` frames: centre it (a change at t shows at t + steps / 2)
    half = (steps - 1) // 2
    nov = np.concatenate([nov[half:], np.zeros(half)])
    nov = np.repeat(nov, f)[:n]
    return normalize_curve(nov)


def _recurrence_to_lag(rec) -> np.ndarray:
    """``librosa.segment.recurrence_to_lag(rec, pad=True)`` (equal: tested) in float32,
    filled column by column: one ``(2n, n)`` matrix, none of librosa's temporary copies
    (its peak is ~3x the result's size)."""
    n = len(rec)
    lag = np.zeros((2 * n, n), np.float32)
    for j in range(n):  # lag[i, j] = rec[(i + j) mod 2n, j] of the zero-padded matrix
        lag[:n - j, j] = rec[j:, j]
        if j:
            lag[2 * n - j:, j] = rec[:j, j]
    return lag


@dataclass(frozen=True)
class StructureParams(ParamSet):
    """Decoding parameters of a boundary curve (durations in seconds).

    Parameters
    ----------
    threshold : float
        A frame is a boundary candidate when its (smoothed) curve value is at
        least ``moving average + threshold`` (curves are in [0, 1]).
    smooth : float [s]
        Hamming smoothing window (0: none).
    pre_max, post_max : float [s]
        Past / future context of the local-maximum test (the long look-ahead
        of Ullrich et al. 2014).
    pre_avg, post_avg : float [s]
        Context of the moving average (0, 0: none).
    min_segment : float [s]
        Boundaries closer than this to each other or to the file ends are dropped.
    label_threshold : float
        Distance (1 - similarity, in [0, 2]) below which segments are merged
        into one label by average-linkage clustering.
    repeat_split : float
        Cosine similarity (in (0, 1]) above which a segment that starts or
        ends with a copy of another segment is split there
        (:func:`split_repeats`); 0: off.
    half_split : float
        A segment at least this many times the song's median segment length
        whose halves match (cosine similarity >= ``repeat_split``, or 0.6 when
        that is off) is split in the middle (:func:`split_halves`, after the
        repeat split); 0: off.
    """

    what = "structure decoding"

    threshold: float = 0.1
    smooth: float = 0.0
    pre_max: float = 6.0
    post_max: float = 6.0
    pre_avg: float = 0.0
    post_avg: float = 0.0
    min_segment: float = 3.0
    label_threshold: float = 0.35
    repeat_split: float = 0.0
    half_split: float = 0.0

    def __post_init__(self):
        self._as_floats()
        if self.label_threshold > 2:
            raise ParameterError("structure decoding: label_threshold must be in [0, 2], got "
                                 f"{self.label_threshold}")
        if self.repeat_split > 1:
            raise ParameterError("structure decoding: repeat_split must be in [0, 1], got "
                                 f"{self.repeat_split}")


def pick_boundaries(curve: np.ndarray, fps: float, duration: float,
                    params: StructureParams) -> np.ndarray:
    """Boundary times [s] (ascending, inside ``(min_segment, duration - min_segment)``)."""
    from ..decoders.peaks import peak_picking
    fr = {k: int(round(getattr(params, k) * fps))
          for k in ("smooth", "pre_avg", "post_avg", "pre_max", "post_max")}
    idx = peak_picking(np.asarray(curve, dtype=np.float64), params.threshold, **fr)
    times = idx / float(fps)
    ms = params.min_segment
    times = times[(times >= ms) & (times <= duration - ms)]
    if ms > 0 and len(times) > 1:  # keep the stronger of two close peaks
        order = np.argsort(-np.asarray(curve)[np.round(times * fps).astype(int)], kind="stable")
        kept = []
        for i in order:
            if all(abs(times[i] - times[j]) >= ms for j in kept):
                kept.append(i)
        times = np.sort(times[kept])
    return times


def structure_boundaries(curve: np.ndarray, feats: np.ndarray, fps: float, duration: float,
                         params: StructureParams, *, min_duration: float = 0.0):
    """The inner boundaries [s] :func:`decode_structure` segments at (None: one segment)."""
    if duration <= 0:
        raise ParameterError(f"duration must be > 0 seconds, got {duration}")
    if duration < min_duration or len(curve) < 3:
        return None
    times = pick_boundaries(curve, fps, duration, params)
    if params.repeat_split > 0:
        times = split_repeats(times, feats, fps, threshold=params.repeat_split,
                              min_segment=params.min_segment)
    if params.half_split > 0:
        times = split_halves(times, feats, fps, ratio=params.half_split,
                             threshold=params.repeat_split or 0.6,
                             min_segment=params.min_segment)
    return times


def decode_structure(curve: np.ndarray, feats: np.ndarray, fps: float, duration: float,
                     params: StructureParams, *, min_duration: float = 0.0) -> Segments:
    """Labelled segments covering ``[0, duration]`` from a boundary curve and features.

    Parameters
    ----------
    curve : np.ndarray [shape=(n,)]
        Boundary activation or novelty in [0, 1].
    feats : np.ndarray [shape=(n, d)]
        Features for the labels (``d`` may be 0: every segment ``A``).
    fps : float [Hz]
    duration : float [s]
    params : StructureParams
    min_duration : float [s]
        Inputs shorter than this (the method's context) give one segment.

    Returns
    -------
    Segments
    """
    times = structure_boundaries(curve, feats, fps, duration, params, min_duration=min_duration)
    if times is None:
        return Segments(intervals=np.array([[0.0, duration]]), labels=("A",))
    edges = np.concatenate([[0.0], times, [duration]])
    frames = np.minimum(np.round(edges * fps).astype(int), len(feats))
    frames[-1] = len(feats)
    labels = label_segments(frames, feats, fps, threshold=params.label_threshold)
    return Segments(intervals=np.stack([edges[:-1], edges[1:]], axis=1), labels=tuple(labels))
