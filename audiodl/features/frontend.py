"""Public front end: waveform(s) -> frames x bins, batch and streaming.

The fused numba kernels (:mod:`audiodl.features._kernels`) are compiled
lazily on first use (``cache=True``); :mod:`audiodl.features.reference` is
the plain-numpy twin.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .config import FrontendConfig, preset

__all__ = ["spectrogram", "Frontend"]

BACKENDS = ("auto", "numba", "numpy")


def _as_config(config) -> FrontendConfig:
    if isinstance(config, FrontendConfig):
        return config
    if isinstance(config, str):
        return preset(config)
    if isinstance(config, dict):
        return FrontendConfig.from_dict(config)
    raise ParameterError(f"expected a FrontendConfig, preset name or dict, got {type(config)}")


def _check_samples(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ParameterError(f"expected samples of shape (n,) or (batch, n), got {y.shape}")
    if y.shape[-1] == 0:
        raise ParameterError("cannot compute a spectrogram of zero samples")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"expected floating-point samples, got {y.dtype}")
    return y


def spectrogram(y, config="librosa", *, backend: str = "auto") -> np.ndarray:
    """Compute the configured (log-)filterbank spectrogram.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (batch, n)], float
        Samples at ``config.sr``.
    config : FrontendConfig, preset name or dict
    backend : {'auto', 'numba', 'numpy'}
        ``numpy`` is the float64 reference (slow); ``auto`` picks numba.

    Returns
    -------
    np.ndarray, float32
        ``(n_frames, n_bins)``, or ``(n_channels, n_frames, n_bins)`` for a
        multi-resolution config, with a leading batch axis for 2-D input.
    """
    config = _as_config(config)
    y = _check_samples(y)
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
    """A configured front end (callable), with file and streaming helpers.

    Parameters
    ----------
    config : FrontendConfig or preset name
    backend : {'auto', 'numba', 'numpy'}
    """

    def __init__(self, config="librosa", *, backend: str = "auto"):
        self.config = _as_config(config)
        self.backend = backend

    def __repr__(self) -> str:
        return f"Frontend({self.config!r})"

    @property
    def fps(self) -> float:
        return self.config.fps

    def __call__(self, y) -> np.ndarray:
        return spectrogram(y, self.config, backend=self.backend)

    def process_file(self, path) -> np.ndarray:
        """Load ``path`` (resampled to ``config.sr``, mono) and compute its features."""
        from ..io.audio import load
        y, _ = load(path, self.config.sr)
        return self(y)

    def stream(self):
        """A :class:`~audiodl.features.streaming.StreamingFrontend` with this config."""
        from .streaming import StreamingFrontend
        return StreamingFrontend(self.config)
