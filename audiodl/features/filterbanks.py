"""Filterbanks shared by the numpy/numba and torch front ends.

Each function returns a dense matrix ``[shape=(n_bands, n_fft // 2 + 1)]``
(float32), built with our own code in float64 (building it through librosa
would cost ~0.5 s of import). :func:`to_sparse` keeps only the nonzero
weights for the fused kernels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["hz_to_mel", "mel_to_hz", "mel", "mel_yaafe", "logfreq", "linear",
           "normalize", "filterbank_for", "SparseFilterbank", "to_sparse", "fft_frequencies"]


def fft_frequencies(sr: int, n_fft: int) -> np.ndarray:
    """Centre frequency of each rFFT bin [Hz], shape ``(n_fft // 2 + 1,)``."""
    return np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)


def hz_to_mel(f, *, htk: bool = False):
    """Hz -> mel. Slaney scale (linear below 1 kHz, log above) or HTK (2595 log10(1 + f/700))."""
    f = np.asanyarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep,
                    mels)


def mel_to_hz(m, *, htk: bool = False):
    """Inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    f_sp * m)


def _triangles(fft_hz: np.ndarray, edges_hz: np.ndarray) -> np.ndarray:
    """Triangles rising from edges[i] to edges[i+1] and falling to edges[i+2]."""
    n = len(edges_hz) - 2
    lower = (fft_hz[None, :] - edges_hz[:n, None]) / np.maximum(
        edges_hz[1:n + 1, None] - edges_hz[:n, None], 1e-12)
    upper = (edges_hz[2:, None] - fft_hz[None, :]) / np.maximum(
        edges_hz[2:, None] - edges_hz[1:n + 1, None], 1e-12)
    return np.maximum(0.0, np.minimum(lower, upper))


def normalize(weights: np.ndarray, norm, *, edges_hz=None) -> np.ndarray:
    """Normalise filters (rows). ``slaney`` needs the band edges in Hz."""
    w = np.array(weights, dtype=np.float64)
    if norm is None:
        return w
    if norm == "slaney":
        if edges_hz is None:
            raise ParameterError("norm='slaney' needs band edges")
        n = w.shape[0]
        return w * (2.0 / (edges_hz[2:n + 2] - edges_hz[:n]))[:, None]
    if norm == "area":
        s = w.sum(axis=1, keepdims=True)
        return np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    if norm == "max":
        s = w.max(axis=1, keepdims=True)
        return np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    raise ParameterError(f"unknown filter norm {norm!r}")


def mel(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax=None,
        htk: bool = False, norm="slaney") -> np.ndarray:
    """Triangular mel filterbank, equal to ``librosa.filters.mel`` for the same settings.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float32
    """
    fmax = sr / 2.0 if fmax is None else float(fmax)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk),
                                     n_mels + 2), htk=htk)
    w = _triangles(fft_frequencies(sr, n_fft), edges_hz)
    return normalize(w, norm, edges_hz=edges_hz).astype(np.float32)


def mel_yaafe(*, sr: int, n_fft: int, n_mels: int = 80, fmin: float = 27.5,
              fmax: float = 8000.0, norm="area") -> np.ndarray:
    """Mel filterbank in the style of yaafe as used by Schlüter & Grill (2015).

    Mel scale ``1127 ln(1 + f / 700)``; the triangle corners are snapped up to
    the next FFT bin, the slopes computed from the exact corner frequencies,
    and each filter normalised to unit sum.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float32
    """
    fft_hz = fft_frequencies(sr, n_fft)
    m_lo, m_hi = 1127.0 * np.log1p(fmin / 700.0), 1127.0 * np.log1p(fmax / 700.0)
    corners_hz = 700.0 * np.expm1(np.linspace(m_lo, m_hi, n_mels + 2) / 1127.0)
    corners_bin = np.searchsorted(fft_hz, corners_hz)
    w = np.zeros((n_mels, len(fft_hz)))
    for b in range(n_mels):
        lo_hz, top_hz, hi_hz = corners_hz[b:b + 3]
        lo, top, hi = corners_bin[b:b + 3]
        w[b, lo:top] = (fft_hz[lo:top] - lo_hz) / (top_hz - lo_hz)
        w[b, top:hi] = (hi_hz - fft_hz[top:hi]) / (hi_hz - top_hz)
    return normalize(w, norm).astype(np.float32)


def logfreq(*, sr: int, n_fft: int, bands_per_octave: int = 12, fmin: float = 30.0,
            fmax: float = 17000.0, norm="area") -> np.ndarray:
    """Logarithmically spaced triangular filters (madmom's LogarithmicFilterbank style).

    Centre frequencies are ``440 * 2 ** (k / bands_per_octave)`` within
    [fmin, fmax], snapped to FFT bins; duplicates are merged, so low bands
    become single bins.

    Returns
    -------
    np.ndarray [shape=(n_bands, n_fft // 2 + 1)], float32
    """
    fft_hz = fft_frequencies(sr, n_fft)
    k_lo = np.floor(np.log2(fmin / 440.0) * bands_per_octave)
    k_hi = np.ceil(np.log2(fmax / 440.0) * bands_per_octave)
    centres = 440.0 * 2.0 ** (np.arange(k_lo, k_hi + 1) / bands_per_octave)
    centres = centres[(centres >= fmin) & (centres <= fmax)]
    bins = np.unique(np.clip(np.round(centres / fft_hz[1]).astype(int), 0, len(fft_hz) - 1))
    if len(bins) < 3:
        raise ParameterError("logfreq filterbank: too few bands for this n_fft/fmin/fmax")
    w = np.zeros((len(bins) - 2, len(fft_hz)))
    for b in range(len(bins) - 2):
        lo, c, hi = bins[b:b + 3]
        w[b, lo:c + 1] = np.linspace(0, 1, c - lo + 1, endpoint=True) if c > lo else 1.0
        w[b, c:hi + 1] = np.maximum(w[b, c:hi + 1],
                                    np.linspace(1, 0, hi - c + 1, endpoint=True))
        if lo == c:
            w[b, c] = 1.0
        w[b, hi] = 0.0 if hi > c else w[b, hi]
    return normalize(w, norm).astype(np.float32)


def linear(*, n_fft: int) -> np.ndarray:
    """Identity 'filterbank' keeping the ``n_fft // 2 + 1`` STFT bins."""
    return np.eye(n_fft // 2 + 1, dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _filterbank_cached(kind, sr, n_fft, n_mels, fmin, fmax, norm):
    if kind == "mel_slaney":
        return mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False, norm=norm)
    if kind == "mel_htk":
        return mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=True, norm=norm)
    if kind == "mel_yaafe":
        return mel_yaafe(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, norm=norm)
    if kind == "logfreq":
        return logfreq(sr=sr, n_fft=n_fft, bands_per_octave=n_mels, fmin=fmin, fmax=fmax,
                       norm=norm)
    if kind == "linear":
        return linear(n_fft=n_fft)
    raise ParameterError(f"unknown filterbank {kind!r}")


def filterbank_for(config, n_fft: int) -> np.ndarray:
    """Dense filterbank of a :class:`FrontendConfig` for one of its FFT sizes (read-only)."""
    w = _filterbank_cached(config.filterbank, config.sr, int(n_fft), config.n_mels,
                           float(config.fmin), config.f_max, config.norm)
    w.setflags(write=False)
    return w


@dataclass(frozen=True)
class SparseFilterbank:
    """Nonzero weights only: band ``b`` covers bins ``start[b] : start[b] + length[b]``
    with weights ``weights[offset[b] : offset[b] + length[b]]``."""

    start: np.ndarray    # int64 (n_bands,)
    length: np.ndarray   # int64 (n_bands,)
    offset: np.ndarray   # int64 (n_bands,)
    weights: np.ndarray  # float32 (nnz,)
    n_bins: int

    @property
    def n_bands(self) -> int:
        return len(self.start)


def to_sparse(w: np.ndarray) -> SparseFilterbank:
    """Convert a dense filterbank to :class:`SparseFilterbank` (contiguous support per band)."""
    w = np.asarray(w, dtype=np.float32)
    starts, lengths, offsets, chunks = [], [], [], []
    off = 0
    for row in w:
        nz = np.flatnonzero(row)
        if len(nz) == 0:
            s, e = 0, 0
        else:
            s, e = int(nz[0]), int(nz[-1]) + 1
        starts.append(s)
        lengths.append(e - s)
        offsets.append(off)
        chunks.append(row[s:e])
        off += e - s
    weights = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return SparseFilterbank(np.array(starts, np.int64), np.array(lengths, np.int64),
                            np.array(offsets, np.int64), weights, w.shape[1])
