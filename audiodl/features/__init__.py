"""Waveform -> time-frequency front ends (numpy + numba; never torch).

Nothing here compiles at import: numba kernels build lazily on first call.
"""

from .config import PRESETS, FrontendConfig, preset
from .frontend import Frontend, spectrogram
from .streaming import StreamingFrontend

__all__ = ["FrontendConfig", "PRESETS", "preset", "Frontend", "spectrogram",
           "StreamingFrontend"]
