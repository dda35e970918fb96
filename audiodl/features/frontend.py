"""Public front end: waveform(s) -> frames x bins, batch and streaming.

The fused numba kernels (:mod:`audiodl.features._kernels`) are compiled
lazily on first use (``cache=True``); :mod:`audiodl.features.reference` is
the plain-numpy twin.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ParameterError
from .config import as_config

__all__ = ["spectrogram", "Frontend"]

BACKENDS = ("auto", "numba", "numpy")


def _check_samples(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ParameterError(f"expected samples of shape (n,) or (batch, n), got {y.shape}")
    if y.shape[-1] == 0:
        raise ParameterError("cannot compute a spectrogram of zero samples")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"expected floating-point samples, got {y.dtype}")
    return y


def spectrogram(y, config="librosa", *, sr: Optional[int] = None,
                backend: str = "auto") -> np.ndarray:
    """Compute the configured (log-)filterbank spectrogram.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (batch, n)], float
        Samples at ``sr``.
    config : FrontendConfig, preset name or dict
    sr : int or None [Hz]
        Rate of ``y``. When it differs from ``config.sr`` the samples are
        resampled (soxr, high quality) to ``config.sr`` first, so that frames
        and filterbank mean what the config says; None means ``y`` is already
        at ``config.sr`` (the caller's promise: nothing is checked).
    backend : {'auto', 'numba', 'numpy'}
        ``numpy`` is the float64 reference (slow); ``auto`` picks numba.

    Returns
    -------
    np.ndarray, float32
        ``(n_frames, n_bins)``, or ``(n_channels, n_frames, n_bins)`` for a
        multi-resolution config, with a leading batch axis for 2-D input.
    """
    config = as_config(config)
    y = _check_samples(y)
    if sr is not None:
        if not (isinstance(sr, (int, np.integer)) and sr > 0):
            raise ParameterError(f"sr must be a positive integer [Hz], got {sr!r}")
        if int(sr) != config.sr:
            import soxr
            y = np.asarray(soxr.resample(np.ascontiguousarray(y.T), int(sr), config.sr,
                                         quality="HQ").T, dtype=np.float32)
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend in ("auto", "numba"):
        from . import _kernels
        return _kernels.spectrogram(y, config)
    from .reference import reference_spectrogram
    if y.ndim == 2:
        return np.stack([reference_spectrogram(row, config) for row in y]).astype(np.float32)
    return reference_spectrogram(y, config).astype(np.float32)


class Frontend:
    """A configured front end (callable); see :class:`StreamingFrontend` for streams.

    Parameters
    ----------
    config : FrontendConfig or preset name
    backend : {'auto', 'numba', 'numpy'}
    """

    def __init__(self, config="librosa", *, backend: str = "auto"):
        self.config = as_config(config)
        self.backend = backend

    def __repr__(self) -> str:
        return f"Frontend({self.config!r})"

    @property
    def fps(self) -> float:
        return self.config.fps

    def __call__(self, y, sr: Optional[int] = None) -> np.ndarray:
        return spectrogram(y, self.config, sr=sr, backend=self.backend)
