"""Truncation and corruption checks for audio files (used by :mod:`audiodl.io.audio`).

libsndfile decodes damaged files without complaint: it shortens a truncated
WAV to the bytes present, libvorbis skips damaged Ogg pages, and libmpg123
resynchronises after a corrupt MP3 frame, printing ``Note: Illegal
Audio-MPEG-Header ...`` straight to the process's stderr. The checks here
turn those cases into one reason string, so that the loader can raise
:class:`~audiodl.errors.AudioError` naming the file (the policy is in
:func:`audiodl.io.audio.load`):

* :func:`header_problem` — before decoding: a WAV/AIFF data chunk shorter
  than its header declares; an Ogg stream whose pages do not chain to the
  end of the file, fail their CRC, lack the end-of-stream page, or whose
  last granule position disagrees with the length libsndfile reports;
* :func:`short_read_problem` — after decoding: fewer frames than declared
  (for MP3, only when a Xing/Info/VBRI header makes the declared length
  exact: without one libmpg123 estimates it);
* :class:`DecoderMessages` — captures what the C decoders write to file
  descriptor 2 while a file is decoded: libmpg123's lines are kept out of
  the user's terminal and count as evidence of corruption; anything else
  written meanwhile is passed through.

PCM sample data (WAV, AIFF, FLAC is checksummed by libFLAC) that is damaged
in place but keeps its length cannot be told from audio and is not reported.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import threading
import zlib
from typing import Optional

__all__ = ["header_problem", "short_read_problem", "DecoderMessages", "OGG_GRANULE_SLACK"]

#: Ogg: the last page's granule position may exceed the declared length by
#: this many samples (Opus pre-skip, at most 80 ms at 48 kHz); more is damage.
OGG_GRANULE_SLACK = 3840

#: libmpg123 stderr lines that mean the stream is damaged (prefixes / fragments)
_MPG123_DAMAGE = ("Illegal Audio-MPEG-Header", "Trying to resync", "Skipped ",
                  "stream size off", "Giving up resync", "big_values too large",
                  "part2_3_length", "dequantization failed", "Encountered error")
_MPG123_PREFIXES = ("Note:", "Warning:", "Error:", "[src/libmpg123", "[libmpg123",
                    "[mpg123", "[src/")


def _chunk_truncation(path: str, size: int) -> Optional[str]:
    """WAV (RIFF/RIFX) or AIFF/AIFC whose sample chunk is shorter than declared."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            return None
        if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
            fmt, data_id, extra = ("<I" if head[:4] == b"RIFF" else ">I"), b"data", 0
        elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            fmt, data_id, extra = ">I", b"SSND", 8  # SSND: offset + block size first
        else:
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, csize = hdr[:4], struct.unpack(fmt, hdr[4:8])[0]
            if cid == data_id:
                present = size - (pos + 8)
                if csize not in (0, 0xFFFFFFFF) and present < csize:
                    return (f"truncated audio: the header promises {csize - extra} bytes of "
                            f"samples, only {max(0, present - extra)} are present")
                return None
            pos += 8 + csize + (csize & 1)
    return None


#: byte -> the byte with its bits reversed (for the Ogg CRC through zlib)
_REV8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, MSB first, init 0, no final xor).

    zlib's CRC-32 is the same polynomial bit-reflected, with init and final
    xor 0xFFFFFFFF: reflecting every byte, cancelling the init/xor terms with
    the CRC of as many zero bytes, and reflecting the result gives Ogg's, at
    zlib's speed.
    """
    raw = zlib.crc32(page.translate(_REV8)) ^ zlib.crc32(bytes(len(page)))
    return int(f"{raw:032b}"[::-1], 2)


def _ogg_problem(path: str, size: int, declared: int, sr: int = 0) -> Optional[str]:
    """Walk the Ogg pages (checksums; granules of the first logical stream; no decoding).

    Opus granule positions count 48 kHz samples whatever rate the decoder
    outputs (RFC 7845), and include the stream's pre-skip; they are converted
    to samples at ``sr`` before the comparison with ``declared``.
    """
    serial, last_granule, eos, pos = None, -1, False, 0
    opus_preskip = None
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            hdr = f.read(27)
            if len(hdr) < 27:
                return f"truncated Ogg stream: incomplete page header at byte {pos}"
            if hdr[:4] != b"OggS" or hdr[4] != 0:
                return f"corrupt Ogg stream: no page at byte {pos} of {size}"
            n_seg = hdr[26]
            lacing = f.read(n_seg)
            if len(lacing) < n_seg:
                return f"truncated Ogg stream: incomplete page header at byte {pos}"
            end = pos + 27 + n_seg + sum(lacing)
            if end > size:
                return (f"truncated Ogg stream: the page at byte {pos} needs {end - pos} bytes, "
                        f"{size - pos} are present")
            flags, granule, ser = hdr[5], struct.unpack("<q", hdr[6:14])[0], hdr[14:18]
            body = f.read(end - pos - 27 - n_seg)
            page = hdr[:22] + b"\0\0\0\0" + hdr[26:] + lacing + body
            if _ogg_crc(page) != struct.unpack("<I", hdr[22:26])[0]:
                return f"corrupt Ogg stream: the page at byte {pos} fails its checksum"
            if serial is None:
                serial = ser
                if body[:8] == b"OpusHead" and len(body) >= 12:
                    opus_preskip = struct.unpack("<H", body[10:12])[0]
            if ser == serial:
                if granule >= 0:
                    last_granule = granule
                eos = eos or bool(flags & 0x04)
            pos = end
    if not eos:
        return "truncated Ogg stream: the end-of-stream page is missing"
    slack = OGG_GRANULE_SLACK
    if opus_preskip is not None and sr > 0 and last_granule >= 0:
        last_granule = int(round((last_granule - opus_preskip) * sr / 48000.0))
        slack = -(-OGG_GRANULE_SLACK * sr // 48000)  # ceil
    if declared > 0 and last_granule > declared + slack:
        return (f"corrupt Ogg stream: the pages hold {last_granule} samples, the decoder "
                f"finds only {declared}")
    return None


def header_problem(path: str, meta: dict) -> Optional[str]:
    """Why the file is truncated or corrupt, judged from its container; None if it looks whole.

    Parameters
    ----------
    path : str
    meta : dict
        :func:`audiodl.io.audio.info` of the file.
    """
    size = os.path.getsize(path)
    fmt = str(meta.get("format", "")).upper()
    if fmt == "OGG":
        return _ogg_problem(path, size, int(meta.get("frames", 0)),
                            int(meta.get("sr", 0) or 0))
    return _chunk_truncation(path, size)


def _mp3_exact_length(path: str) -> bool:
    """Whether the first MP3 frame carries a Xing/Info/VBRI header (an exact length)."""
    with open(path, "rb") as f:
        head = f.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # skip an ID3v2 tag (synchsafe size)
            start = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14
                          | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
        f.seek(start)
        first = f.read(4096)
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def short_read_problem(path: str, meta: dict, n_read: int, *, expected: Optional[int] = None
                       ) -> Optional[str]:
    """A reason when fewer frames were decoded than the file declares (None otherwise).

    Parameters
    ----------
    path : str
    meta : dict
        :func:`audiodl.io.audio.info` of the file.
    n_read : int
        Frames decoded.
    expected : int or None
        Frames asked for (a part of the file); default: all declared frames.
    """
    want = int(meta["frames"]) if expected is None else int(expected)
    if n_read >= want:
        return None
    if str(meta.get("format", "")).upper() in ("MP3", "MPEG") and not _mp3_exact_length(path):
        return None  # libmpg123 estimated the length from the bitrate: nothing to compare
    return (f"truncated or corrupt audio: the file declares {want} frames, only {n_read} "
            "could be decoded")


class DecoderMessages:
    """Capture what C decoders print on file descriptor 2 during a decoding step.

    Use as a context manager around each libsndfile call on a file whose
    decoder prints (MP3). Lines that come from libmpg123 are collected in
    :attr:`lines`; anything else written to stderr meanwhile (by other
    threads) is passed on to the real stderr when the capture ends.
    Nested and concurrent captures share one redirection (a lock and a
    count), so file descriptor 2 is always restored.

    Parameters
    ----------
    enabled : bool
        False: a no-op (formats whose decoders are silent).
    """

    _lock = threading.Lock()
    _depth = 0
    _saved_fd: Optional[int] = None
    _tmp = None
    _owners: list = []

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.lines: list = []

    @property
    def damage(self) -> list:
        """Captured lines that report a damaged stream."""
        return [ln for ln in self.lines if any(k in ln for k in _MPG123_DAMAGE)]

    def __enter__(self):
        if not self.enabled:
            return self
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                try:
                    sys.stderr.flush()
                except Exception:  # pragma: no cover - closed stderr
                    pass
                cls._tmp = tempfile.TemporaryFile(mode="w+b")
                cls._saved_fd = os.dup(2)
                os.dup2(cls._tmp.fileno(), 2)
                cls._owners = []
            cls._depth += 1
            cls._owners.append(self)
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return False
        cls = type(self)
        with cls._lock:
            cls._depth -= 1
            if cls._depth > 0:
                return False
            try:
                sys.stderr.flush()
            except Exception:  # pragma: no cover
                pass
            os.dup2(cls._saved_fd, 2)
            os.close(cls._saved_fd)
            cls._saved_fd = None
            tmp, cls._tmp = cls._tmp, None
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            tmp.close()
            owners, cls._owners = cls._owners, []
        other = []
        for ln in text.splitlines():
            if ln.startswith(_MPG123_PREFIXES) or any(k in ln for k in _MPG123_DAMAGE):
                for o in owners:
                    o.lines.append(ln)
            else:
                other.append(ln)
        if other:
            try:
                os.write(2, ("\n".join(other) + "\n").encode())
            except OSError:  # pragma: no cover
                pass
        return False
