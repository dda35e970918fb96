"""Audio and annotation input/output."""

from .audio import info, load, load_signal, save, stream, as_signal

__all__ = ["info", "load", "load_signal", "save", "stream", "as_signal"]
