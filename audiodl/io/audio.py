"""Audio file I/O via soundfile, with soxr resampling and clear errors.

Every failure caused by the input raises :class:`audiodl.errors.AudioError`
naming the file and the reason; nothing leaks a libsndfile traceback.
Usable but suspicious input (samples above full scale, very short files) is
reported once per file on the ``audiodl.io.audio`` logger (see
:func:`report_peak`), never through :mod:`warnings`.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator, Optional

import numpy as np

from ..errors import AudioError, ParameterError
from ..types import Signal

__all__ = ["find_audio_files", "AUDIO_EXTENSIONS", "info", "load", "load_signal", "save", "stream", "as_signal", "resample",
           "report_peak", "MAX_CHANNELS", "MIN_DURATION", "LOSSY_OVERSHOOT"]

log = logging.getLogger(__name__)

#: Files with more channels than this are not a plain mono/stereo/surround layout.
MAX_CHANNELS = 8
#: Shorter inputs are reported at WARNING level on this module's logger (seconds).
MIN_DURATION = 0.1
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


def _riff_truncation(path: str):
    """For RIFF/WAVE files, compare the data chunk's declared size with the bytes present.

    libsndfile silently shortens truncated WAV files; this returns
    ``(declared_bytes, present_bytes)`` when the data chunk is cut short, else None.
    """
    import struct
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        fmt = "<I" if head[:4] == b"RIFF" else ">I"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, csize = hdr[:4], struct.unpack(fmt, hdr[4:8])[0]
            if cid == b"data":
                present = size - (pos + 8)
                if csize not in (0, 0xFFFFFFFF) and present < csize:
                    return csize, present
                return None
            pos += 8 + csize + (csize & 1)
    return None


def info(path) -> dict:
    """Describe an audio file without decoding it.

    Returns
    -------
    dict with keys ``sr`` [Hz], ``channels``, ``frames``, ``duration`` [s],
    ``format``, ``subtype``.
    """
    sf = _soundfile()
    path = _check_path(path)
    try:
        i = sf.info(path)
    except Exception as exc:  # LibsndfileError, RuntimeError, TypeError
        raise AudioError(path, f"not a readable audio file ({_clean(exc)})") from None
    return {"sr": int(i.samplerate), "channels": int(i.channels), "frames": int(i.frames),
            "duration": float(i.frames) / i.samplerate if i.samplerate else 0.0,
            "format": i.format, "subtype": i.subtype}


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


def load(path, sr: Optional[int] = None, *, mono: bool = True, offset: float = 0.0,
         duration: Optional[float] = None, dtype=np.float32):
    """Load an audio file (wav, flac, ogg, mp3, ... as libsndfile reads them).

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
        Missing, empty, unreadable, truncated or corrupt file; NaN/inf samples;
        more than :data:`MAX_CHANNELS` channels.
    """
    sf = _soundfile()
    path = _check_path(path)
    meta = info(path)
    if meta["channels"] > MAX_CHANNELS:
        raise AudioError(path, f"unsupported channel layout: {meta['channels']} channels "
                               f"(at most {MAX_CHANNELS} supported)")
    if meta["frames"] == 0:
        raise AudioError(path, "contains no samples (zero length)")
    cut = _riff_truncation(path)
    if cut is not None:
        raise AudioError(path, f"truncated audio: the header promises {cut[0]} bytes of "
                               f"samples, only {cut[1]} are present")
    if offset < 0 or (duration is not None and duration <= 0):
        raise ParameterError(f"offset must be >= 0 and duration > 0, got {offset}, {duration}")
    file_sr = meta["sr"]
    start = int(round(offset * file_sr))
    stop = None if duration is None else start + int(round(duration * file_sr))
    try:
        data, file_sr = sf.read(path, start=start, stop=stop, dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(path, f"truncated or corrupt audio ({_clean(exc)})") from None
    y = np.ascontiguousarray(data.T)  # (channels, n)
    _validate_samples(y, path)
    report_peak(float(np.max(np.abs(y))), path, lossy=_is_lossy(meta))
    if mono:
        y = y.mean(axis=0) if y.shape[0] > 1 else y[0]
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, int(sr))
        file_sr = int(sr)
    if y.shape[-1] < MIN_DURATION * file_sr:
        log.warning("%s: very short input (%.3f s)", path, y.shape[-1] / file_sr)
    return y.astype(dtype, copy=False), int(file_sr)


def load_signal(path, sr: Optional[int] = None, *, mono: bool = True) -> Signal:
    """:func:`load` wrapped in a :class:`~audiodl.types.Signal`."""
    y, sr = load(path, sr, mono=mono)
    return Signal(y=y, sr=sr, path=os.fspath(path))


def as_signal(x, sr: Optional[int] = None, *, target_sr: Optional[int] = None,
              mono: bool = True, name: str = "<array>") -> Signal:
    """Accept a path, a :class:`Signal` or an array, and return a mono float32 Signal.

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
        rate, src = int(sr), name
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
    y = np.asarray(y, dtype=np.float32)
    _validate_samples(y, src)
    if not isinstance(x, Signal) or x.path is None:
        report_peak(float(np.max(np.abs(y))), src, array=True)
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
        Nominal block size; the last block may be shorter, and resampled blocks vary.
    sr : int or None [Hz]
        Output rate (streaming soxr resampler, identical across block sizes).
    mono : bool

    Yields
    ------
    y : np.ndarray [shape=(m,) or (channels, m)], float32
    """
    sf = _soundfile()
    path = _check_path(path)
    meta = info(path)
    if meta["channels"] > MAX_CHANNELS:
        raise AudioError(path, f"unsupported channel layout: {meta['channels']} channels")
    cut = _riff_truncation(path)
    if cut is not None:
        raise AudioError(path, f"truncated audio: the header promises {cut[0]} bytes of "
                               f"samples, only {cut[1]} are present")
    if block_length <= 0:
        raise ParameterError(f"block_length must be positive, got {block_length}")
    file_sr = meta["sr"]
    rs = None
    if sr is not None and sr != file_sr:
        import soxr
        rs = soxr.ResampleStream(file_sr, sr, 1 if mono else meta["channels"],
                                 dtype="float32", quality="HQ")
    n_read = 0
    peak = 0.0
    try:
        with sf.SoundFile(path) as f:
            for block in f.blocks(blocksize=block_length, dtype="float32", always_2d=True):
                n_read += len(block)
                if not np.all(np.isfinite(block)):
                    raise AudioError(path, "contains NaN or infinite samples")
                if len(block):
                    peak = max(peak, float(np.max(np.abs(block))))
                b = block.mean(axis=1, keepdims=True) if mono else block
                if rs is not None:
                    b = rs.resample_chunk(np.ascontiguousarray(b), last=False)
                if len(b):
                    yield np.ascontiguousarray(b[:, 0] if mono else b.T)
            if rs is not None:
                b = rs.resample_chunk(np.zeros((0, 1 if mono else meta["channels"]),
                                               dtype=np.float32), last=True)
                if len(b):
                    yield np.ascontiguousarray(b[:, 0] if mono else b.T)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"truncated or corrupt audio ({_clean(exc)})") from None
    if n_read == 0:
        raise AudioError(path, "contains no samples (zero length)")
    report_peak(peak, path, lossy=_is_lossy(meta))
