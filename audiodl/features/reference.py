"""Plain-numpy reference front end (float64), the twin the numba kernels are tested against.

Readable rather than fast: strided frames, ``np.fft.rfft``, dense filterbank
matrix product, logarithm.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .config import FrontendConfig
from .filterbanks import filterbank_for

__all__ = ["window", "frame_signal", "reference_spectrogram", "apply_log", "spectral_diff"]


def window(kind: str, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic window of ``win_length`` centred in ``n_fft`` samples (float64)."""
    n = np.arange(win_length)
    if kind == "hann":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * n / win_length)
    elif kind == "hamming":
        w = 0.54 - 0.46 * np.cos(2 * np.pi * n / win_length)
    elif kind == "blackman":
        w = (0.42 - 0.5 * np.cos(2 * np.pi * n / win_length)
             + 0.08 * np.cos(4 * np.pi * n / win_length))
    elif kind == "rect":
        w = np.ones(win_length)
    else:
        raise ParameterError(f"unknown window {kind!r}")
    out = np.zeros(n_fft)
    lpad = (n_fft - win_length) // 2
    out[lpad:lpad + win_length] = w
    return out


def frame_signal(y: np.ndarray, *, n_fft: int, hop_length: int, center: bool,
                 pad_mode: str, n_frames: int, dtype=np.float64) -> np.ndarray:
    """Frames ``[shape=(n_frames, n_fft)]``; frame t centred on ``t * hop_length`` if ``center``
    (a strided view of the padded signal, in ``dtype``)."""
    y = np.asarray(y, dtype=dtype)
    if center:
        pad = n_fft // 2
        mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}[pad_mode]
        if mode == "reflect" and len(y) <= pad:
            mode = "constant"
        y = np.pad(y, (pad, pad + hop_length), mode=mode)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]
    if len(frames) < n_frames:
        raise ParameterError("signal too short for the requested frames")
    return frames[:n_frames]


def apply_log(x: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """The configured magnitude compression."""
    if config.log == "none":
        return x
    if config.log == "db":
        return 10.0 * np.log10(np.maximum(x, config.amin))
    if config.log == "log":
        return np.log(np.maximum(x, config.amin))
    if config.log == "log10":
        return np.log10(np.maximum(x, config.amin))
    if config.log == "log1p":
        return np.log1p(config.log_mul * x)
    raise ParameterError(f"unknown log kind {config.log!r}")


def spectral_diff(x: np.ndarray) -> np.ndarray:
    """Half-wave rectified first-order difference along frames (axis -2); first frame 0."""
    d = np.zeros_like(x)
    d[..., 1:, :] = np.maximum(x[..., 1:, :] - x[..., :-1, :], 0)
    return d


def reference_spectrogram(y: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Compute the configured spectrogram in float64 with plain numpy.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    config : FrontendConfig

    Returns
    -------
    np.ndarray [shape=(n_frames, n_bins) or (n_channels, n_frames, n_bins)], float64
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"reference_spectrogram expects 1-D samples, got {y.shape}")
    if config.is_multires and not config.center:
        raise ParameterError("multi-resolution front ends need center=True")
    n_frames = config.n_frames(len(y))
    outs = []
    for n_fft in config.n_ffts:
        win = window(config.window, config.win_length or n_fft, n_fft)
        frames = frame_signal(y, n_fft=n_fft, hop_length=config.hop_length,
                              center=config.center, pad_mode=config.pad_mode,
                              n_frames=n_frames)
        spec = np.abs(np.fft.rfft(frames * win, axis=1))
        if config.power == 2.0:
            spec = spec ** 2
        fb = filterbank_for(config, n_fft).astype(np.float64)
        m = apply_log(spec @ fb.T, config)
        if config.diff:
            m = np.concatenate([m, spectral_diff(m)], axis=-1)
        outs.append(m)
    return np.stack(outs) if config.is_multires else outs[0]
