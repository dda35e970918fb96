"""WAV / raw float32 streams on a pipe, checked against soundfile's reading of the same bytes."""

import io
import logging
import struct

import numpy as np
import pytest
import soundfile as sf

from audiodl.errors import AudioError, ParameterError
from audiodl.io.pipe import read_pipe, read_pipe_blocks
from audiodl.testing import chirp

SR = 16000


def _signal(channels=1, n=SR):
    y = 0.8 * chirp(sr=SR, duration=n / SR)[:n]
    cols = [y * (0.5 + 0.5 * c / max(channels - 1, 1)) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)  # (n, channels)


def _wav_bytes(x, subtype):
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="WAV", subtype=subtype)
    return buf.getvalue()


def _reference(data):
    ref, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return ref.mean(axis=1), sr


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_wav_matches_soundfile(subtype, channels):
    data = _wav_bytes(_signal(channels), subtype)
    ref, ref_sr = _reference(data)
    y, sr = read_pipe(io.BytesIO(data))
    assert sr == ref_sr == SR and y.dtype == np.float32 and y.ndim == 1
    np.testing.assert_allclose(y, ref, atol=1e-6)


def _with_unknown_size(data, value):
    """Patch the RIFF and data chunk sizes as a pipe writer (sox, ffmpeg) leaves them."""
    data = bytearray(data)
    data[4:8] = struct.pack("<I", value)
    i = data.index(b"data")
    data[i + 4:i + 8] = struct.pack("<I", value)
    return bytes(data)


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0])
def test_unknown_data_size_reads_to_the_end(size):
    data = _wav_bytes(_signal(2), "PCM_16")
    ref, _ = _reference(data)
    y, sr = read_pipe(io.BytesIO(_with_unknown_size(data, size)))
    assert sr == SR
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_declared_size_is_honoured_before_trailing_chunks():
    data = _wav_bytes(_signal(1, 1000), "PCM_16")
    ref, _ = _reference(data)
    trailing = b"LIST" + struct.pack("<I", 4) + b"INFO"
    y, _ = read_pipe(io.BytesIO(data + trailing))
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_blocks_are_bounded_and_concatenate_to_the_whole():
    data = _wav_bytes(_signal(2), "PCM_24")
    ref, _ = _reference(data)
    sr, blocks = read_pipe_blocks(io.BytesIO(data), block_length=441)
    blocks = list(blocks)
    assert sr == SR and len(blocks) > 30
    assert all(1 <= len(b) <= 441 and b.dtype == np.float32 for b in blocks)
    np.testing.assert_allclose(np.concatenate(blocks), ref, atol=1e-6)


class _Trickle(io.RawIOBase):
    """A pipe that delivers a few bytes per read (odd sizes split sample frames)."""

    def __init__(self, data, step=7):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.step, len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def test_partial_reads_carry_split_frames():
    data = _wav_bytes(_signal(2, 500), "PCM_24")
    ref, _ = _reference(data)
    y, _ = read_pipe(_Trickle(data))
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_raw_float32():
    x = _signal(2)
    y, sr = read_pipe(io.BytesIO(x.astype("<f4").tobytes()), fmt="raw", sr=SR, channels=2)
    assert sr == SR
    np.testing.assert_allclose(y, x.mean(axis=1), atol=1e-7)
    mono = x[:, 0]
    sr, blocks = read_pipe_blocks(io.BytesIO(mono.tobytes()), fmt="raw", sr=22050,
                                  block_length=100)
    out = list(blocks)
    assert sr == 22050 and max(len(b) for b in out) == 100
    np.testing.assert_array_equal(np.concatenate(out), mono)


@pytest.mark.parametrize("data, reason", [
    (b"RIFF\x24\x00\x00", "ended inside its header"),
    (b"", "ended inside its header"),
    (b"hello, this is not audio at all", "not a WAV stream"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "ended inside its fmt"),
    (b"RIFF\x00\x00\x00\x00WAVE", "before its data chunk"),
    (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "no fmt chunk"),
])
def test_garbage_and_truncated_headers(data, reason):
    with pytest.raises(AudioError, match=f"<stdin>: .*{reason}") as exc:
        read_pipe(io.BytesIO(data))
    assert exc.value.source == "<stdin>"


def test_unsupported_encoding_and_no_samples():
    data = bytearray(_wav_bytes(_signal(1, 100), "PCM_16"))
    data[34:36] = struct.pack("<H", 12)  # 12-bit PCM
    with pytest.raises(AudioError, match="unsupported WAV encoding"):
        read_pipe(io.BytesIO(bytes(data)))
    header_only = _with_unknown_size(_wav_bytes(_signal(1, 100), "PCM_16"), 0)[:44]
    with pytest.raises(AudioError, match="no samples"):
        read_pipe(io.BytesIO(header_only))
    nan = np.array([0.1, np.nan], "<f4").tobytes()
    with pytest.raises(AudioError, match="NaN"):
        read_pipe(io.BytesIO(nan), fmt="raw", sr=SR)


def test_parameter_errors():
    with pytest.raises(ParameterError, match="sampling rate"):
        read_pipe(io.BytesIO(b"\x00" * 8), fmt="raw")
    with pytest.raises(ParameterError, match="declares"):
        read_pipe(io.BytesIO(b""), fmt="wav", sr=SR)
    with pytest.raises(ParameterError, match="unknown pipe format"):
        read_pipe(io.BytesIO(b""), fmt="mp3")


def test_float_stream_above_full_scale_is_logged_once(caplog):
    x = np.full((4000, 1), 1.5, np.float32)
    caplog.set_level(logging.INFO, logger="audiodl.io.audio")
    sr, blocks = read_pipe_blocks(io.BytesIO(_wav_bytes(x, "FLOAT")), block_length=100)
    list(blocks)
    recs = [r for r in caplog.records if "full scale" in r.getMessage()]
    assert len(recs) == 1 and "<stdin>" in recs[0].getMessage()
