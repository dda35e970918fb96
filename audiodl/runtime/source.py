"""Audio in, feature chunks out, in bounded memory, through the one streaming front end.

:func:`feature_chunks` reads a path (streamed from disk when long), a
:class:`~audiodl.types.Signal` or an array, resamples to the front end's rate
and pushes blocks through :class:`~audiodl.features.StreamingFrontend`; the
concatenated chunks equal the offline front end on the whole signal.
"""

from __future__ import annotations

import os
import sys
from typing import Iterator, Optional

import numpy as np

from ..errors import AudioError
from ..types import Signal

__all__ = ["feature_chunks", "duration_of", "progress_bar", "frontend_for", "STREAM_SECONDS",
           "CHUNK_SECONDS", "COLD_SECONDS", "PUSH_SECONDS"]

#: files longer than this are streamed from disk instead of loaded whole [s]
STREAM_SECONDS = 600.0
#: seconds of audio per processing chunk
CHUNK_SECONDS = 120.0
#: audio a process may send through the numpy front end before it loads the numba
#: kernels [s] (see :func:`frontend_for`)
COLD_SECONDS = 300.0

_cold_used = [0.0]


def frontend_for(n_seconds: float):
    """The batch front end for ``n_seconds`` of audio: numpy while cold, else numba.

    Importing numba and loading the cached kernels costs 2-4 s once per process;
    numpy's FFT costs ~10-50 ms per 30 s of audio more than the kernels. So a
    process uses :func:`audiodl.features.numpy_frontend.spectrogram` (no numba)
    until it has handled :data:`COLD_SECONDS` of audio or numba is already loaded,
    then the kernels. Both give the same features (float32 rounding apart: tested).
    ``AUDIODL_FRONTEND=numba|numpy`` forces one.
    """
    choice = os.environ.get("AUDIODL_FRONTEND", "auto")
    if choice == "numpy" or (choice == "auto" and "numba" not in sys.modules
                             and _cold_used[0] + n_seconds <= COLD_SECONDS):
        _cold_used[0] += n_seconds
        from ..features.numpy_frontend import spectrogram as numpy_spectrogram
        return numpy_spectrogram
    from ..features.frontend import spectrogram
    return spectrogram
#: seconds of audio per push into the streaming front end (its complex STFT of a push is
#: the largest transient array: ~100 MB for 120 s at 44.1 kHz, ~17 MB for 20 s)
PUSH_SECONDS = 20.0


def _name(x) -> str:
    if isinstance(x, (str, os.PathLike)):
        return os.fspath(x)
    return getattr(x, "path", None) or "<array>"


def sample_blocks(x, sr: Optional[int], target_sr: int, block: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``target_sr`` from a path, Signal or array."""
    from ..io.audio import as_signal, info, stream
    if isinstance(x, (str, os.PathLike)) and info(x)["duration"] > STREAM_SECONDS:
        yield from stream(x, block_length=block, sr=target_sr)
        return
    sig = as_signal(x, sr, target_sr=target_sr)
    if sig.y.shape[-1] == 0:
        raise AudioError(sig.path or "<array>", "zero-length audio")
    for s in range(0, len(sig.y), block):
        yield sig.y[s:s + block]


def feature_chunks(x, sr: Optional[int] = None, *, config,
                   chunk_seconds: Optional[float] = None) -> Iterator[np.ndarray]:
    """Front-end features of any-length input, chunk by chunk.

    Input that fits one chunk goes through the batch front end in one call;
    longer input streams through :class:`~audiodl.features.StreamingFrontend`
    (equal to the batch front end within 2e-5 dB).

    Parameters
    ----------
    x : path, Signal or np.ndarray [shape=(n,) or (channels, n)]
    sr : int or None [Hz]
        Rate of an array input (resampled to ``config.sr``).
    config : FrontendConfig
    chunk_seconds : float or None [s]
        Audio per chunk (bounds memory; default :data:`CHUNK_SECONDS`).

    Yields
    ------
    np.ndarray [shape=(k, n_bins) or (n_channels, k, n_bins)], float32
    """
    hop = config.hop_length
    block = max(hop, int((chunk_seconds or CHUNK_SECONDS) * config.sr))
    step = max(hop, min(block, int(PUSH_SECONDS * config.sr) // hop * hop))
    blocks = sample_blocks(x, sr, config.sr, step)
    head, n = [], 0  # up to one chunk of audio, to decide batch or streaming
    for b in blocks:
        head.append(np.asarray(b, dtype=np.float32))
        n += len(b)
        if n > block:
            break
    else:
        if n == 0:
            raise AudioError(_name(x), "zero-length audio")
        # fits one chunk: the batch front end
        y = head[0] if len(head) == 1 else np.concatenate(head)
        yield frontend_for(len(y) / config.sr)(y, config)
        return
    from ..features.streaming import StreamingFrontend
    sf = StreamingFrontend(config)
    while head:  # pushes of PUSH_SECONDS: the STFT of a push is the largest transient
        out = sf.process(head.pop(0))
        if out.shape[-2]:
            yield out
    for b in blocks:
        out = sf.process(np.asarray(b, dtype=np.float32))
        if out.shape[-2]:
            yield out
    out = sf.flush()
    if out.shape[-2]:
        yield out


def duration_of(x, sr: Optional[int] = None) -> float:
    """Duration of a path, Signal or array [s]."""
    from ..io.audio import info
    if isinstance(x, (str, os.PathLike)):
        return float(info(x)["duration"])
    if isinstance(x, Signal):
        return x.duration
    if sr is None:
        return float("nan")
    return np.asarray(x).shape[-1] / float(sr)


def progress_bar(total_seconds: float, enabled: bool, desc: str = "audio"):
    """tqdm over seconds of audio on stderr, off when stderr is not a terminal (or disabled)."""
    if not enabled or not sys.stderr.isatty() or not np.isfinite(total_seconds):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=round(total_seconds, 1), unit="s", desc=desc, file=sys.stderr,
                leave=False)
