"""One exception family for bad input.

Every error raised because of what a user passed (a file, an array, a
parameter) derives from :class:`AudiodlError`, itself a :class:`ValueError`,
and names the offending file or parameter together with the reason.
"""

from __future__ import annotations

import os

__all__ = [
    "AudiodlError",
    "AudioError",
    "ParameterError",
    "ManifestError",
    "ModelError",
    "AudioWarning",
]


class AudiodlError(ValueError):
    """Base class of audiodl's input errors."""


class AudioError(AudiodlError):
    """An audio file or array cannot be used.

    Parameters
    ----------
    source : str or os.PathLike or None
        The file (or a description such as ``"<array>"``) that is at fault.
    reason : str
        What is wrong with it, in plain words.
    """

    def __init__(self, source, reason: str):
        self.source = None if source is None else os.fspath(source)
        self.reason = reason
        where = self.source if self.source is not None else "<array>"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep picklable for multiprocessing workers
        return (type(self), (self.source, self.reason))


class ParameterError(AudiodlError):
    """A parameter value is invalid (named in the message)."""


class ManifestError(AudiodlError):
    """A dataset manifest or annotation file is malformed (file, line and reason)."""


class ModelError(AudiodlError):
    """A pretrained model or checkpoint cannot be loaded (name and reason)."""


class AudioWarning(UserWarning):
    """Suspicious but usable input: clipping, very short audio, resampling."""
