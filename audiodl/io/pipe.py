"""Audio from a pipe: WAV streams and raw float32 PCM on stdin (or any binary stream).

Files on disk go through :mod:`audiodl.io.audio` (libsndfile); a pipe cannot
seek, and the WAV headers that ``sox ... -t wav -`` or ``ffmpeg ... -f wav -``
write there carry a placeholder data size (``0`` or ``0xFFFFFFFF``), so this
module parses the RIFF header itself and decodes the samples as they arrive.

* :func:`read_pipe_blocks` — the sampling rate and an iterator of mono
  float32 blocks, yielded as soon as bytes arrive (online processing);
* :func:`read_pipe` — the whole stream as one mono float32 array (every task
  command accepting ``-`` for stdin).

Supported WAV encodings: integer PCM with 8, 16, 24 or 32 bits, IEEE float
with 32 or 64 bits (``WAVE_FORMAT_EXTENSIBLE`` too), RIFF or RF64 headers.
Several channels are averaged to mono. Every failure raises
:class:`~audiodl.errors.AudioError` naming the source (``"<stdin>"``) and the reason.
"""

from __future__ import annotations

import logging
import struct
from typing import Iterator, Optional

import numpy as np

from ..errors import AudioError, ParameterError
from .audio import MAX_CHANNELS, report_peak

__all__ = ["PIPE_FORMATS", "read_pipe_blocks", "read_pipe"]

log = logging.getLogger(__name__)

PIPE_FORMATS = ("wav", "raw")
#: data-chunk sizes that mean "unknown, read to the end of the stream"
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_TAG_PCM, _TAG_FLOAT, _TAG_EXTENSIBLE = 1, 3, 0xFFFE


def _read_exact(stream, n: int) -> bytes:
    """Read ``n`` bytes (fewer only at the end of the stream)."""
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _skip(stream, n: int, source: str, what: str) -> None:
    if len(_read_exact(stream, n)) < n:
        raise AudioError(source, f"WAV stream ended inside its {what} chunk")


def _parse_wav_header(stream, source: str):
    """Read up to the start of the samples; return (sr, channels, dtype, bits, data_size)."""
    head = _read_exact(stream, 12)
    if len(head) < 12:
        raise AudioError(source, f"WAV stream ended inside its header ({len(head)} bytes "
                                 "read, a RIFF header has 12)")
    if head[:4] == b"RIFX":
        raise AudioError(source, "big-endian WAV (RIFX) is not supported")
    if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise AudioError(source, f"not a WAV stream (starts with {head[:12]!r}); for "
                                 "headerless float32 samples use the raw format")
    fmt = None
    while True:
        h = _read_exact(stream, 8)
        if len(h) < 8:
            raise AudioError(source, "WAV stream ended before its data chunk")
        cid, size = h[:4], struct.unpack("<I", h[4:])[0]
        if cid == b"fmt ":
            if size < 16:
                raise AudioError(source, f"WAV fmt chunk too short ({size} bytes)")
            body = _read_exact(stream, size + (size & 1))
            if len(body) < size:
                raise AudioError(source, "WAV stream ended inside its fmt chunk")
            tag, ch, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _TAG_EXTENSIBLE:
                if len(body) < 26:
                    raise AudioError(source, "WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, ch, rate, bits)
        elif cid == b"data":
            break
        else:  # LIST, fact, ds64 (RF64), ...
            if size in _UNKNOWN_SIZES and cid != b"ds64":
                raise AudioError(source, f"WAV chunk {cid!r} of unknown size before the data")
            _skip(stream, size + (size & 1), source, repr(cid.decode("latin-1")))
    if fmt is None:
        raise AudioError(source, "WAV stream has no fmt chunk before its data")
    tag, ch, rate, bits = fmt
    if ch < 1 or ch > MAX_CHANNELS:
        raise AudioError(source, f"unsupported channel layout: {ch} channels "
                                 f"(1 to {MAX_CHANNELS} supported)")
    from .audio import check_rate
    check_rate(rate, source)  # the file rules: [MIN_SR, MAX_SR]
    dtypes = {(_TAG_PCM, 8): "u1", (_TAG_PCM, 16): "<i2", (_TAG_PCM, 24): "i3",
              (_TAG_PCM, 32): "<i4", (_TAG_FLOAT, 32): "<f4", (_TAG_FLOAT, 64): "<f8"}
    if (tag, bits) not in dtypes:
        kind = {1: "integer PCM", 3: "float"}.get(tag, f"format tag {tag:#x}")
        raise AudioError(source, f"unsupported WAV encoding ({kind}, {bits} bit); "
                                 "supported: 8/16/24/32-bit PCM, 32/64-bit float")
    data_size = None if size in _UNKNOWN_SIZES else size
    return rate, ch, dtypes[(tag, bits)], bits, data_size


def _decode(buf: bytes, code: str, channels: int) -> np.ndarray:
    """Interleaved little-endian samples -> mono float32 in [-1, 1) (integers) or as stored."""
    if code == "i3":  # 24-bit: widen each 3-byte sample to int32 (low byte zero), then scale
        b = np.frombuffer(buf, dtype=np.uint8).reshape(-1, 3)
        wide = np.zeros((len(b), 4), dtype=np.uint8)
        wide[:, 1:] = b
        x = wide.view("<i4").ravel().astype(np.float32) * np.float32(1 / 2147483648.0)
    elif code == "u1":
        x = (np.frombuffer(buf, dtype=np.uint8).astype(np.float32) - 128.0) / np.float32(128.0)
    elif code == "<i2":
        x = np.frombuffer(buf, dtype=code).astype(np.float32) * np.float32(1 / 32768.0)
    elif code == "<i4":
        x = np.frombuffer(buf, dtype=code).astype(np.float32) * np.float32(1 / 2147483648.0)
    else:
        x = np.frombuffer(buf, dtype=code).astype(np.float32)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return x


def _blocks(stream, *, code: str, width: int, channels: int, block_length: int,
            data_size: Optional[int], source: str) -> Iterator[np.ndarray]:
    frame = width * channels
    want = block_length * frame
    left = data_size  # bytes of samples still to come (None: until the end of the stream)
    rest = b""
    n_frames = 0
    peak = 0.0
    read1 = getattr(stream, "read1", None)
    while left is None or left > 0:
        n = want if left is None else min(want, left)
        data = read1(n) if read1 is not None else stream.read(n)
        if not data:
            if left is not None:
                log.debug("%s: stream ended %d bytes before the size in its WAV header",
                          source, left)
            break
        if left is not None:
            left -= len(data)
        data = rest + data
        usable = len(data) // frame * frame
        rest = data[usable:]
        if not usable:
            continue
        x = _decode(data[:usable], code, channels)
        if not np.all(np.isfinite(x)):
            raise AudioError(source, "contains NaN or infinite samples (garbage, or not "
                                     "float32 PCM?)")
        n_frames += len(x)
        peak = max(peak, float(np.max(np.abs(x))))
        yield x
    if rest:
        log.info("%s: stream ended inside a sample frame; %d trailing bytes ignored",
                 source, len(rest))
    if n_frames == 0:
        raise AudioError(source, "contains no samples (zero length)")
    report_peak(peak, source)


def read_pipe_blocks(stream, *, fmt: str = "wav", sr: Optional[int] = None,
                     channels: Optional[int] = None, block_length: int = 4096,
                     source: str = "<stdin>") -> tuple[int, Iterator[np.ndarray]]:
    """Decode a WAV or raw float32 stream block by block, as the bytes arrive.

    Parameters
    ----------
    stream : binary file object
        E.g. ``sys.stdin.buffer`` or ``io.BytesIO``; read sequentially, never seeked.
        With ``read1`` (buffered streams) a block is yielded as soon as data
        is available, so latency stays low on a live pipe.
    fmt : {'wav', 'raw'}
        ``'wav'``: a RIFF/RF64 WAVE header followed by the samples; a data
        size of 0 or ``0xFFFFFFFF`` (what ``sox``/``ffmpeg`` write to a pipe)
        means "until the end of the stream", any other size is honoured.
        ``'raw'``: headerless interleaved little-endian float32.
    sr : int or None [Hz]
        Sampling rate of ``'raw'`` input (required there); must be ``None``
        for ``'wav'``, whose header declares it.
    channels : int or None
        Interleaved channels of ``'raw'`` input (default 1); must be ``None``
        for ``'wav'``.
    block_length : int [samples]
        Largest block yielded; blocks are shorter when less data is available.
    source : str
        Name used in error messages.

    Returns
    -------
    sr : int [Hz]
    blocks : iterator of np.ndarray [shape=(m,)], float32
        Mono (channels averaged) blocks, 1 <= m <= ``block_length``; integer
        PCM is scaled to [-1, 1). The header is parsed before this function
        returns; the samples as the iterator is consumed.

    Raises
    ------
    AudioError
        Not a WAV stream, a truncated or unsupported header, NaN/inf samples,
        or no samples at all (the last two while iterating).
    ParameterError
        Unknown ``fmt``, ``sr``/``channels`` given for WAV, missing ``sr``
        for raw, or a non-positive ``block_length``.
    """
    if fmt not in PIPE_FORMATS:
        raise ParameterError(f"unknown pipe format {fmt!r}; choose from {PIPE_FORMATS}")
    if block_length < 1:
        raise ParameterError(f"block_length must be >= 1 sample, got {block_length}")
    if fmt == "wav":
        if sr is not None or channels is not None:
            raise ParameterError("sr and channels describe raw PCM; a WAV stream declares "
                                 "its own in the header")
        rate, ch, code, bits, data_size = _parse_wav_header(stream, source)
        width = bits // 8
    else:
        if sr is None or int(sr) < 1:
            raise ParameterError(f"raw PCM needs its sampling rate: sr=<Hz> (got {sr})")
        ch = 1 if channels is None else int(channels)
        if ch < 1 or ch > MAX_CHANNELS:
            raise ParameterError(f"channels must be 1 to {MAX_CHANNELS}, got {channels}")
        from .audio import check_rate
        rate, code, width, data_size = check_rate(sr, source), "<f4", 4, None
    blocks = _blocks(stream, code=code, width=width, channels=ch, block_length=block_length,
                     data_size=data_size, source=source)
    return int(rate), blocks


def read_pipe(stream, *, fmt: str = "wav", sr: Optional[int] = None,
              channels: Optional[int] = None,
              source: str = "<stdin>") -> tuple[np.ndarray, int]:
    """Read a whole WAV or raw float32 stream into memory (e.g. ``-`` for stdin).

    Parameters
    ----------
    stream, fmt, sr, channels, source
        As in :func:`read_pipe_blocks`.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32
        Mono samples (channels averaged).
    sr : int [Hz]

    Raises
    ------
    AudioError, ParameterError
        As :func:`read_pipe_blocks`.
    """
    rate, blocks = read_pipe_blocks(stream, fmt=fmt, sr=sr, channels=channels,
                                    block_length=1 << 16, source=source)
    return np.concatenate(list(blocks)), rate
