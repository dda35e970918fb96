"""A float32 numpy front end for cold starts: no numba, no scipy.

The fused numba kernels (:mod:`audiodl.features._kernels`) are the fastest
front end once loaded, but importing numba and loading their cached machine
code costs 2-4 s per process, far more than computing a 30 s file's
spectrogram with numpy's own FFT (pocketfft). :func:`spectrogram`
here computes the same spectrogram as the kernels (same windows, framing,
dense filterbank of :func:`~audiodl.features.filterbanks.filterbank_for`,
float32 log with the same floor) in blocks of frames, so memory stays
bounded; :mod:`audiodl.runtime.source` uses it for the first minutes of
audio a process handles (see :data:`audiodl.runtime.source.COLD_SECONDS`).
Tests compare it with the kernels.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .config import FrontendConfig, as_config
from .filterbanks import filterbank_for
from .reference import frame_signal, spectral_diff, window

__all__ = ["spectrogram"]

_LOG_SCALE = {"db": 10.0 / np.log(10.0), "log10": 1.0 / np.log(10.0), "log": 1.0}


def _compress(x: np.ndarray, config: FrontendConfig) -> np.ndarray:
    if config.log == "none":
        return x
    if config.log == "log1p":
        return np.log1p(np.float32(config.log_mul) * x)
    if config.log not in _LOG_SCALE:
        raise ParameterError(f"unknown log kind {config.log!r}")
    amin = max(config.amin, float(np.finfo(np.float32).tiny))  # as the kernels do
    out = np.log(np.maximum(x, np.float32(amin)))
    scale = _LOG_SCALE[config.log]
    if scale != 1.0:
        out *= np.float32(scale)
    return out


def spectrogram(y, config, *, block: int = 256) -> np.ndarray:
    """The configured spectrogram of 1-D samples at ``config.sr``, float32.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    config : FrontendConfig or preset
    block : int
        Frames per FFT call (bounds memory).

    Returns
    -------
    np.ndarray [shape=(n_frames, n_bins) or (n_channels, n_frames, n_bins)], float32
    """
    config = as_config(config)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"expected 1-D samples, got shape {y.shape}")
    if y.shape[0] == 0:
        raise ParameterError("cannot compute a spectrogram of zero samples")
    if config.is_multires and not config.center:
        raise ParameterError("multi-resolution front ends need center=True")
    n_frames = config.n_frames(len(y))
    outs = []
    for n_fft in config.n_ffts:
        win = window(config.window, config.win_length or n_fft, n_fft)  # float64
        frames = frame_signal(y, n_fft=n_fft, hop_length=config.hop_length,
                              center=config.center, pad_mode=config.pad_mode,
                              n_frames=n_frames, dtype=np.float32)
        fbt = np.ascontiguousarray(filterbank_for(config, n_fft).T, dtype=np.float32)
        m = np.empty((n_frames, fbt.shape[1]), np.float32)
        for s in range(0, n_frames, block):
            # float64 FFT: numpy's pocketfft is 2-3x faster in float64 than in float32
            spec = np.abs(np.fft.rfft(frames[s:s + block] * win, axis=1)).astype(np.float32)
            if config.power == 2.0:
                spec *= spec
            elif config.power != 1.0:
                spec **= np.float32(config.power)
            np.matmul(spec, fbt, out=m[s:s + block])
        m = _compress(m, config)
        if config.diff:
            m = np.concatenate([m, spectral_diff(m)], axis=-1)
        outs.append(m)
    return np.stack(outs) if config.is_multires else outs[0]
