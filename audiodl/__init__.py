"""audiodl: deep learning on audio and music.

Light at import: nothing here imports torch or compiles numba kernels.
The task functions (:func:`classify`, :func:`detect`, :func:`onsets`) are
loaded on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import AudioError, AudiodlError, ManifestError, ModelError, ParameterError  # noqa: E402
from .types import Activations, Codes, Events, Segments, Signal, Transcript  # noqa: E402

#: public name -> module that defines it (imported lazily)
_LAZY = {
    "transcribe": "audiodl.tasks.asr",
    "classify": "audiodl.tasks.musicspeech",
    "detect": "audiodl.tasks.musicspeech",
    "onsets": "audiodl.tasks.onsets",
    "segment": "audiodl.tasks.structure",
    "singing": "audiodl.tasks.singing",
    "Pipeline": "audiodl.pipeline",
    "from_pretrained": "audiodl.pipeline",
    "load": "audiodl.io.audio",
    "spectrogram": "audiodl.features.frontend",
    "FrontendConfig": "audiodl.features.config",
    "Index": "audiodl.index", "codes": "audiodl.tasks.similarity",
}

__all__ = ["__version__", "AudiodlError", "AudioError", "ParameterError", "ManifestError",
           "ModelError", "Signal", "Activations", "Events", "Segments", "Transcript", "Codes",
           *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audiodl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
