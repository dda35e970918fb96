"""Audio file I/O via soundfile, with soxr resampling and clear errors.

Every failure caused by the input raises :class:`audiodl.errors.AudioError`
naming the file and the reason; nothing leaks a libsndfile traceback.
Usable but suspicious input (samples above full scale, very short files) is
reported once per file on the ``audiodl.io.audio`` logger (see
:func:`report_peak`), never through :mod:`warnings`.

Input rules (files and arrays alike; each breach is an ``AudioError``):
sampling rate in [:data:`MIN_SR`, :data:`MAX_SR`]; at least
:data:`MIN_ANALYSIS` seconds (warning below :data:`MIN_DURATION`), judged
before resampling; finite samples; peaks at most :data:`MAX_PEAK`; at most
:data:`MAX_CHANNELS` channels; no truncated or corrupt file (see :func:`load`
and :mod:`audiodl.io.integrity`). Decoding and resampling run in blocks of
:data:`DECODE_BLOCK` frames, so memory never exceeds the output plus a block.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator, Optional

import numpy as np

from ..errors import AudioError, ParameterError
from ..types import Signal

__all__ = ["find_audio_files", "AUDIO_EXTENSIONS", "info", "load", "load_signal", "save", "stream",
           "as_signal", "resample", "report_peak", "check_rate", "MAX_CHANNELS", "MIN_DURATION",
           "MIN_ANALYSIS", "MIN_SR", "MAX_SR", "MAX_PEAK", "LOSSY_OVERSHOOT", "DECODE_BLOCK"]

log = logging.getLogger(__name__)

#: Files with more channels than this are not a plain mono/stereo/surround layout.
MAX_CHANNELS = 8
#: Shorter inputs are reported at WARNING level on this module's logger (seconds).
MIN_DURATION = 0.1
#: Shorter inputs are refused (seconds, judged before resampling): a few samples give
#: no analysis frame, and any label or onset found in them would be noise.
MIN_ANALYSIS = 0.01
#: Header sampling rates accepted [Hz], inclusive: from telephone-band recordings down
#: to 1 kHz, up to the highest PCM rate in use (384 kHz). Outside is a corrupt or hostile
#: header (an 88 KB file at 1 Hz claims 12 hours of audio).
MIN_SR = 1000
MAX_SR = 384000
#: Samples whose magnitude exceeds this (full scale = 1.0; +40 dB) are refused: float
#: data that far out is not audio scaled to [-1, 1] (e.g. integer-scaled or garbage).
MAX_PEAK = 100.0
#: Frames decoded (and resampled) per step by :func:`load` and :func:`stream`.
DECODE_BLOCK = 65536
#: Peaks up to this (full scale = 1.0) are normal overshoot of lossy decoders (INFO, not WARNING).
LOSSY_OVERSHOOT = 1.25
#: libsndfile formats / subtypes decoded from lossy codecs.
LOSSY_FORMATS = frozenset({"OGG", "MP3", "MPEG"})
LOSSY_SUBTYPES = frozenset({"VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"})


#: file name extensions searched for when a folder is given
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au", ".opus")


def find_audio_files(paths) -> list:
    """Files as given; folders expand, recursively and sorted, to the audio files inside.

    Parameters
    ----------
    paths : iterable of str or os.PathLike

    Returns
    -------
    list of str
    """
    from pathlib import Path
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            out.extend(sorted(str(f) for f in Path(p).rglob("*")
                              if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(p)
    return out


def _soundfile():
    import soundfile as sf
    return sf


def _check_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"expected a file path, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(path, "file not found")
    if os.path.isdir(path):
        raise AudioError(path, "is a directory, not an audio file")
    if os.path.getsize(path) == 0:
        raise AudioError(path, "empty file (0 bytes)")
    return path


def info(path) -> dict:
    """Describe an audio file without decoding it.

    Returns
    -------
    dict with keys ``sr`` [Hz], ``channels``, ``frames``, ``duration`` [s],
    ``format``, ``subtype``.
    """
    from .integrity import DecoderMessages
    sf = _soundfile()
    path = _check_path(path)
    try:  # libmpg123 prints header warnings while probing: keep them off stderr
        with DecoderMessages(_maybe_mpeg(path)) as msgs:
            i = sf.info(path)
    except Exception as exc:  # LibsndfileError, RuntimeError, TypeError
        raise AudioError(path, f"not a readable audio file ({_clean(exc)})") from None
    for line in msgs.lines:
        log.debug("%s: decoder: %s", path, line)
    return {"sr": int(i.samplerate), "channels": int(i.channels), "frames": int(i.frames),
            "duration": float(i.frames) / i.samplerate if i.samplerate else 0.0,
            "format": i.format, "subtype": i.subtype}


def _maybe_mpeg(path: str) -> bool:
    """Whether libsndfile may hand the file to libmpg123 (which prints to stderr)."""
    if path.lower().endswith((".mp3", ".mp2", ".mp1", ".mpga", ".mpeg")):
        return True
    with open(path, "rb") as f:
        head = f.read(3)
    return head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _clean(exc) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg.replace("Error opening", "cannot open")


def resample(y: np.ndarray, orig_sr: int, target_sr: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample along the last axis with soxr (float32 in, float32 out).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    orig_sr, target_sr : int [Hz]
    quality : {'QQ', 'LQ', 'MQ', 'HQ', 'VHQ'}
    """
    if orig_sr == target_sr:
        return y
    if orig_sr <= 0 or target_sr <= 0:
        raise ParameterError(f"sampling rates must be positive, got {orig_sr} -> {target_sr}")
    import soxr
    if y.ndim == 1:
        out = soxr.resample(y, orig_sr, target_sr, quality=quality)
    else:
        out = soxr.resample(np.ascontiguousarray(y.T), orig_sr, target_sr, quality=quality).T
    return np.ascontiguousarray(out, dtype=np.float32)


def _validate_samples(y: np.ndarray, source) -> None:
    if y.size == 0:
        raise AudioError(source, "contains no samples (zero length)")
    if not np.all(np.isfinite(y)):
        n_bad = int(np.count_nonzero(~np.isfinite(y)))
        raise AudioError(source, f"contains {n_bad} NaN or infinite samples")


def _is_lossy(meta: dict) -> bool:
    """True for formats decoded from a lossy codec (Vorbis, Opus, MP3)."""
    return (str(meta.get("format", "")).upper() in LOSSY_FORMATS
            or str(meta.get("subtype", "")).upper() in LOSSY_SUBTYPES)


def report_peak(peak: float, source, *, lossy: bool = False, array: bool = False) -> None:
    """Log, once, that decoded samples exceed full scale (nothing is changed).

    Parameters
    ----------
    peak : float
        Largest absolute sample value (full scale is 1.0).
    source : str or os.PathLike or None
        File (or ``"<array>"``, ``"<stdin>"``; None reads as ``"<array>"``)
        named in the message.
    lossy : bool
        Decoded from a lossy codec (Vorbis, Opus, MP3): peaks up to
        :data:`LOSSY_OVERSHOOT` are the codec's normal overshoot and are
        logged at INFO; higher peaks at WARNING.
    array : bool
        Samples passed as an array by the caller: float data has not been
        clipped, so the report is INFO whatever the peak.

    Notes
    -----
    Reports go to the ``audiodl.io.audio`` logger, never through
    :mod:`warnings`; samples above 1.0 are passed on unchanged.
    """
    if not peak > 1.0:
        return
    name = "<array>" if source is None else os.fspath(source)
    if array:
        log.info("%s: peak %.2f above full scale (float samples, used as they are)",
                 name, peak)
    elif lossy and peak <= LOSSY_OVERSHOOT:
        log.info("%s: decoded peak %.2f above full scale (normal for lossy codecs)", name, peak)
    elif lossy:
        log.warning("%s: decoded peak %.2f far above full scale: the recording was probably "
                    "clipped or too loud before encoding", name, peak)
    else:
        log.warning("%s: samples exceed full scale (peak %.2f): the input clips when played "
                    "or converted to fixed point; used as they are", name, peak)


def check_rate(sr, source) -> int:
    """``sr`` as an int when it lies in [:data:`MIN_SR`, :data:`MAX_SR`], else :class:`AudioError`.

    A header rate outside the range is a corrupt or hostile file: at 1 Hz an
    88 KB file claims 12 hours, and resampling it would allocate gigabytes.
    """
    try:
        rate = int(sr)
    except (TypeError, ValueError, OverflowError):
        raise AudioError(source, f"sampling rate {sr!r} is not a number") from None
    if not MIN_SR <= rate <= MAX_SR:
        raise AudioError(source, f"unsupported sampling rate {rate} Hz (audiodl reads "
                                 f"{MIN_SR} Hz to {MAX_SR} Hz)")
    return rate


def _check_duration(n: int, sr: int, source) -> None:
    """Refuse input shorter than :data:`MIN_ANALYSIS`; log input shorter than :data:`MIN_DURATION`.

    Judged on the samples at their own rate, before any resampling.
    """
    seconds = n / float(sr)
    if seconds < MIN_ANALYSIS:
        raise AudioError(source, f"too short to analyse: {n} sample(s) at {sr} Hz "
                                 f"({seconds * 1000:.2f} ms; at least {MIN_ANALYSIS * 1000:g} "
                                 "ms needed)")
    if seconds < MIN_DURATION:
        log.warning("%s: very short input (%.3f s): results are unreliable",
                    "<array>" if source is None else os.fspath(source), seconds)


def _check_peak(peak: float, source) -> None:
    if peak > MAX_PEAK:
        raise AudioError(source, f"samples reach {peak:.3g}, far above full scale 1.0 (at most "
                                 f"{MAX_PEAK:g} accepted): not audio in the expected range; "
                                 "rescale it to [-1, 1]")


def _open(path):
    """``(path, info)`` of a readable file whose header passes every check."""
    path = _check_path(path)
    meta = info(path)
    if meta["channels"] > MAX_CHANNELS:
        raise AudioError(path, f"unsupported channel layout: {meta['channels']} channels "
                               f"(at most {MAX_CHANNELS} supported)")
    check_rate(meta["sr"], path)
    if meta["frames"] == 0:
        raise AudioError(path, "contains no samples (zero length)")
    from .integrity import header_problem
    problem = header_problem(path, meta)
    if problem is not None:
        raise AudioError(path, problem)
    return path, meta


def _is_mpeg(meta: dict) -> bool:
    return str(meta.get("format", "")).upper() in ("MP3", "MPEG")


class _Resampler:
    """Streaming soxr resampler (identity when the rates agree); float32 ``(channels, n)``."""

    def __init__(self, in_sr: int, out_sr: Optional[int], channels: int):
        self.rs = None
        if out_sr is not None and int(out_sr) != in_sr:
            if int(out_sr) <= 0:
                raise ParameterError(f"sampling rates must be positive, got {out_sr}")
            import soxr
            self.rs = soxr.ResampleStream(in_sr, int(out_sr), channels, dtype="float32",
                                          quality="HQ")
        self.channels = channels

    def push(self, y: np.ndarray, last: bool = False) -> np.ndarray:
        if self.rs is None:
            return y
        out = self.rs.resample_chunk(np.ascontiguousarray(y.T), last=last)
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def flush(self) -> np.ndarray:
        return self.push(np.zeros((self.channels, 0), np.float32), last=True)


def _decode(path: str, meta: dict, *, start: int = 0, stop: Optional[int] = None,
            block: int = DECODE_BLOCK, mono: bool = True) -> Iterator[np.ndarray]:
    """Decoded float32 blocks ``(channels, m)`` (1 channel when ``mono``) at the file's rate.

    Every block is checked for NaN/inf and absurd peaks as it is read;
    libmpg123's messages are kept off stderr; at the end a short read or a
    decoder's damage report raises :class:`AudioError` (see :func:`load`),
    and the peak is reported once (:func:`report_peak`).
    """
    from .integrity import DecoderMessages, short_read_problem
    sf = _soundfile()
    n_read, peak = 0, 0.0
    want = None if stop is None else max(0, stop - start)
    quiet = _is_mpeg(meta)
    damage: list = []
    try:
        with DecoderMessages(quiet) as msgs:
            f = sf.SoundFile(path)
        damage += msgs.damage
        with f:
            if start:
                f.seek(start)
            while want is None or n_read < want:
                n = block if want is None else min(block, want - n_read)
                with DecoderMessages(quiet) as msgs:
                    data = f.read(n, dtype="float32", always_2d=True)
                damage += msgs.damage
                if not len(data):
                    break
                n_read += len(data)
                if not np.all(np.isfinite(data)):
                    n_bad = int(np.count_nonzero(~np.isfinite(data)))
                    raise AudioError(path, f"contains {n_bad} NaN or infinite samples "
                                           f"(in the block at frame {n_read - len(data)})")
                peak = max(peak, float(np.max(np.abs(data))))
                _check_peak(peak, path)
                y = data.mean(axis=1)[None] if mono and data.shape[1] > 1 else data.T
                yield np.ascontiguousarray(y, dtype=np.float32)
                if len(data) < n:
                    break
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"truncated or corrupt audio ({_clean(exc)})") from None
    if n_read == 0:
        raise AudioError(path, "contains no samples (zero length)")
    if damage:
        raise AudioError(path, f"truncated or corrupt MP3 stream: the decoder reported {len(damage)} "
                               f"problem(s), e.g. {damage[0].strip()!r}")
    expected = (meta["frames"] if stop is None else min(stop, meta["frames"])) - start
    problem = short_read_problem(path, meta, n_read, expected=expected)
    if problem is not None:
        raise AudioError(path, problem)
    report_peak(peak, path, lossy=_is_lossy(meta))


def load(path, sr: Optional[int] = None, *, mono: bool = True, offset: float = 0.0,
         duration: Optional[float] = None, dtype=np.float32):
    """Load an audio file (wav, flac, ogg, mp3, ... as libsndfile reads them).

    The file is decoded, mixed down and resampled in blocks of
    :data:`DECODE_BLOCK` frames (soxr's streaming resampler, identical to a
    whole-array call), so memory is the output array plus one block. For
    files of any length inside a model pipeline, prefer :func:`stream`.

    Parameters
    ----------
    path : str or os.PathLike
    sr : int or None [Hz]
        Target rate; ``None`` keeps the file's rate. Resampling uses soxr HQ.
    mono : bool
        Average channels to one.
    offset, duration : float [seconds]
        Read only part of the file.
    dtype : numpy dtype (float32 or float64)

    Returns
    -------
    y : np.ndarray [shape=(n,) if mono else (channels, n)]
    sr : int [Hz]

    Raises
    ------
    AudioError
        Missing, empty or unreadable file; header rate outside
        [:data:`MIN_SR`, :data:`MAX_SR`]; more than :data:`MAX_CHANNELS`
        channels; shorter than :data:`MIN_ANALYSIS` (judged before
        resampling); NaN/inf samples or peaks above :data:`MAX_PEAK`;
        truncated or corrupt file (policy below).

    Notes
    -----
    Damaged files are refused, never decoded silently: a WAV/AIFF data chunk
    shorter than its header says, an Ogg stream with missing or damaged pages,
    an MP3 whose decoder reports damage (its messages never reach stderr), or
    any file that decodes to fewer frames than it declares raises
    :class:`AudioError` naming the file. There is no partial mode: repair or
    re-encode the file (e.g. ``ffmpeg -i in.mp3 out.wav``) to use what is
    decodable. Damage inside PCM data that keeps the length cannot be told
    from audio and passes. Inputs shorter than :data:`MIN_DURATION` are
    logged at WARNING on the ``audiodl.io.audio`` logger.
    """
    path, meta = _open(path)
    if not (offset >= 0) or (duration is not None and not duration > 0):
        raise ParameterError(f"offset must be >= 0 and duration > 0, got {offset}, {duration}")
    file_sr = meta["sr"]
    start = min(int(round(offset * file_sr)), meta["frames"])
    stop = meta["frames"] if duration is None else min(meta["frames"], start + int(round(
        duration * file_sr)))
    if start >= meta["frames"]:
        raise AudioError(path, f"offset {offset} s is past the end ({meta['duration']:.3f} s)")
    _check_duration(stop - start, file_sr, path)
    channels = 1 if mono else meta["channels"]
    rs = _Resampler(file_sr, sr, channels)
    ratio = 1.0 if sr is None else int(sr) / file_sr
    out = _Collector(channels, int(np.ceil((stop - start) * ratio)) + 16)
    for y in _decode(path, meta, start=start, stop=stop if duration is not None else None,
                     mono=mono):
        out.add(rs.push(y))
    out.add(rs.flush())
    y = out.result()
    y = y[0] if mono else y
    return y.astype(dtype, copy=False), int(file_sr if sr is None else sr)


class _Collector:
    """Blocks ``(channels, m)`` into one preallocated array (grows if the estimate was short)."""

    def __init__(self, channels: int, estimate: int):
        self.buf = np.empty((channels, max(1, estimate)), np.float32)
        self.n = 0

    def add(self, y: np.ndarray) -> None:
        m = y.shape[-1]
        if not m:
            return
        if self.n + m > self.buf.shape[1]:
            grown = np.empty((self.buf.shape[0], max(2 * self.buf.shape[1], self.n + m)),
                             np.float32)
            grown[:, :self.n] = self.buf[:, :self.n]
            self.buf = grown
        self.buf[:, self.n:self.n + m] = y
        self.n += m

    def result(self) -> np.ndarray:
        return self.buf[:, :self.n]


def load_signal(path, sr: Optional[int] = None, *, mono: bool = True) -> Signal:
    """:func:`load` wrapped in a :class:`~audiodl.types.Signal`."""
    y, sr = load(path, sr, mono=mono)
    return Signal(y=y, sr=sr, path=os.fspath(path))


def as_signal(x, sr: Optional[int] = None, *, target_sr: Optional[int] = None,
              mono: bool = True, name: str = "<array>") -> Signal:
    """Accept a path, a :class:`Signal` or an array, and return a mono float32 Signal.

    Arrays obey the rules of files (see :func:`load`): a rate in
    [:data:`MIN_SR`, :data:`MAX_SR`], at least :data:`MIN_ANALYSIS` of
    audio (checked before resampling), finite samples, peaks at most
    :data:`MAX_PEAK`.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray
    sr : int or None
        Rate of ``x`` when it is an array (required then).
    target_sr : int or None
        Resample to this rate.
    """
    if isinstance(x, Signal):
        y, rate, src = x.y, x.sr, x.path
    elif isinstance(x, (str, os.PathLike)):
        y, rate = load(x, target_sr, mono=mono)
        return Signal(y=y, sr=rate, path=os.fspath(x))
    else:
        if sr is None:
            raise ParameterError("sr is required when passing an array")
        y = np.asarray(x)
        rate, src = sr, name
        if not np.issubdtype(y.dtype, np.floating):
            if np.issubdtype(y.dtype, np.integer):
                y = y.astype(np.float32) / float(np.iinfo(y.dtype).max)
            else:
                raise AudioError(src, f"unsupported sample type {y.dtype}")
        if y.ndim == 2 and y.shape[0] > y.shape[1]:
            raise AudioError(src, f"shape {y.shape} looks like (n, channels); "
                                  "pass (channels, n)")
        if y.ndim not in (1, 2):
            raise AudioError(src, f"expected 1-D or (channels, n) samples, got shape {y.shape}")
    rate = check_rate(rate, src)
    y = np.asarray(y, dtype=np.float32)
    _validate_samples(y, src)
    _check_duration(y.shape[-1], rate, src)
    peak = float(np.max(np.abs(y)))
    _check_peak(peak, src)
    if not isinstance(x, Signal) or x.path is None:
        report_peak(peak, src, array=True)
    if mono and y.ndim == 2:
        y = y.mean(axis=0)
    if target_sr is not None and target_sr != rate:
        y = resample(y, rate, int(target_sr))
        rate = int(target_sr)
    return Signal(y=np.ascontiguousarray(y), sr=int(rate), path=src)


def save(path, y: np.ndarray, sr: int, *, subtype: Optional[str] = None) -> None:
    """Write samples (``(n,)`` or ``(channels, n)``) to a file; format from the extension."""
    sf = _soundfile()
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.T
    try:
        sf.write(os.fspath(path), y, int(sr), subtype=subtype)
    except Exception as exc:
        raise AudioError(path, f"cannot write audio ({_clean(exc)})") from None


def stream(path, *, block_length: int = 65536, sr: Optional[int] = None,
           mono: bool = True) -> Iterator[np.ndarray]:
    """Read a file block-wise in bounded memory (any length, e.g. hours).

    Parameters
    ----------
    path : str or os.PathLike
    block_length : int [samples at the output rate]
        Every block but the last has exactly this many samples (counted after
        resampling); memory is a few blocks whatever the file's length or rate.
    sr : int or None [Hz]
        Output rate (streaming soxr resampler, identical to :func:`load`).
    mono : bool

    Yields
    ------
    y : np.ndarray [shape=(m,) or (channels, m)], float32

    Raises
    ------
    AudioError
        As :func:`load`; damage found only at the end of the file (a short
        read) is raised after the blocks before it were yielded.
    """
    if not isinstance(block_length, (int, np.integer)) or block_length <= 0:
        raise ParameterError(f"block_length must be a positive integer, got {block_length!r}")
    path, meta = _open(path)
    file_sr = meta["sr"]
    _check_duration(meta["frames"], file_sr, path)
    channels = 1 if mono else meta["channels"]
    rs = _Resampler(file_sr, sr, channels)
    out_sr = file_sr if sr is None else int(sr)
    # input frames per output block, so that decoding never holds much more than a block
    in_block = max(1, min(DECODE_BLOCK, -(-int(block_length) * file_sr // out_sr)))
    pending: list = []
    n_pending = 0

    def blocks(final: bool):
        nonlocal pending, n_pending
        if not pending:
            return
        buf = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
        k = buf.shape[1] // block_length * block_length
        for s in range(0, k, block_length):
            yield buf[:, s:s + block_length]
        rest = buf[:, k:]
        if final and rest.shape[1]:
            yield rest
            rest = rest[:, :0]
        pending, n_pending = ([rest] if rest.shape[1] else []), rest.shape[1]

    for y in _decode(path, meta, block=in_block, mono=mono):
        y = rs.push(y)
        if y.shape[1]:
            pending.append(y)
            n_pending += y.shape[1]
        if n_pending >= block_length:
            for b in blocks(False):
                yield np.ascontiguousarray(b[0] if mono else b)
    tail = rs.flush()
    if tail.shape[1]:
        pending.append(tail)
    for b in blocks(True):
        yield np.ascontiguousarray(b[0] if mono else b)
