"""Audio and annotation input/output: the only format layer.

* :mod:`audiodl.io.audio` — audio files (soundfile load/stream/info/save, soxr resampling);
* :mod:`audiodl.io.pipe` — WAV streams and raw float32 PCM on stdin;
* :mod:`audiodl.io.annotations` — events and segments as MIREX text, CSV, JSON, JAMS.
"""

from .audio import as_signal, info, load, load_signal, save, stream
from .pipe import read_pipe, read_pipe_blocks

__all__ = ["info", "load", "load_signal", "save", "stream", "as_signal", "read_pipe",
           "read_pipe_blocks"]
