"""Input limits of the audio loader (issue 14, items 1, 6, 8).

Header rates outside [MIN_SR, MAX_SR], inputs too short to analyse, non-finite
or absurd sample values, and truncated or corrupt compressed files each end
in an AudioError naming the file; decoding and resampling are block-wise, and
stream() counts block_length in output samples.
"""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiodl.errors import AudioError
from audiodl.io import as_signal, load, stream
from audiodl.io.audio import DECODE_BLOCK, MAX_PEAK, MAX_SR, MIN_SR

FORMATS = sf.available_formats()


def _noise(n, seed=0, amp=0.1):
    return (amp * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


# ------------------------------------------------------------------ item 1: rates
def test_reproducer_one_hertz_file_is_refused(tmp_path):
    path = str(tmp_path / "tiny.wav")
    sf.write(path, 0.1 * np.random.randn(44100), 1)  # 88 KB claiming 12 hours
    for call in (lambda: load(path, 22050), lambda: list(stream(path, sr=22050)),
                 lambda: as_signal(path, target_sr=16000)):
        with pytest.raises(AudioError, match="sampling rate 1 Hz") as e:
            call()
        assert path in str(e.value)


def test_absurd_high_header_rate_is_refused(tmp_path):
    path = str(tmp_path / "fast.wav")
    sf.write(path, _noise(4000), 8000, subtype="PCM_16")
    data = bytearray(open(path, "rb").read())
    i = data.index(b"fmt ") + 8  # fmt chunk: format, channels, then the rate (uint32 LE)
    data[i + 4:i + 8] = struct.pack("<I", 2_000_000_000)
    open(path, "wb").write(bytes(data))
    with pytest.raises(AudioError, match="unsupported sampling rate 2000000000 Hz"):
        load(path)


def test_rate_range_is_inclusive_and_arrays_obey_it():
    assert as_signal(_noise(MIN_SR), MIN_SR).sr == MIN_SR
    assert as_signal(_noise(MAX_SR // 10), MAX_SR).sr == MAX_SR
    for bad in (MIN_SR - 1, MAX_SR + 1, 0, -44100):
        with pytest.raises(AudioError, match="sampling rate"):
            as_signal(_noise(50000), bad, target_sr=22050)


@pytest.mark.parametrize("cmd", ["classify", "detect", "onsets"])
def test_reproducer_on_the_commands(tmp_path, cmd):
    from audiodl.cli.main import cli
    path = str(tmp_path / "tiny.wav")
    sf.write(path, 0.1 * np.random.randn(44100), 1)
    out = CliRunner().invoke(cli, [cmd, path])
    assert out.exit_code == 1, out.output
    assert f"{path}: unsupported sampling rate 1 Hz" in out.output
    assert "Traceback" not in out.output


@pytest.mark.parametrize("in_sr, out_sr, block", [(22050, 16000, 1000), (8000, 44100, 4096),
                                                   (1000, 44100, 777), (44100, None, 5000)])
def test_stream_block_length_counts_output_samples(tmp_path, in_sr, out_sr, block):
    path = tmp_path / "x.wav"
    sf.write(path, _noise(int(in_sr * 3.3)), in_sr, subtype="FLOAT")
    blocks = list(stream(path, block_length=block, sr=out_sr))
    assert all(len(b) == block for b in blocks[:-1])
    assert 0 < len(blocks[-1]) <= block
    whole, _ = load(path, out_sr)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)  # same soxr stream


def test_load_resamples_in_blocks_equal_to_whole_array(tmp_path):
    import soxr
    path = tmp_path / "long.wav"
    y = _noise(3 * DECODE_BLOCK + 123)
    sf.write(path, y, 16000, subtype="FLOAT")
    got, sr = load(path, 22050)
    np.testing.assert_array_equal(got, soxr.resample(y, 16000, 22050, quality="HQ"))
    stereo = tmp_path / "stereo.flac"
    sf.write(stereo, np.stack([y, -y], axis=1) * 0.5, 16000)
    assert np.max(np.abs(load(stereo)[0])) < 1e-3  # mixed down block by block


# ------------------------------------------------------------- item 8: odd inputs
def test_one_sample_file_is_refused_before_resampling(tmp_path):
    path = str(tmp_path / "one.wav")
    sf.write(path, np.array([0.3]), 16000)
    with pytest.raises(AudioError, match="too short to analyse: 1 sample"):
        load(path, 22050)
    with pytest.raises(AudioError, match="too short"):
        list(stream(path, sr=22050))
    with pytest.raises(AudioError, match="too short"):
        as_signal(np.zeros(1, np.float32), 16000, target_sr=22050)


def test_one_sample_is_no_classification(tmp_path):
    from audiodl.cli.main import cli
    path = str(tmp_path / "one.wav")
    sf.write(path, np.array([0.3]), 16000)
    out = CliRunner().invoke(cli, ["classify", path])
    assert out.exit_code == 1 and "too short" in out.output and "speech" not in out.output


def test_short_input_warns_on_the_source_rate(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="audiodl.io.audio")
    path = tmp_path / "short.wav"
    sf.write(path, _noise(400), 8000)  # 50 ms: usable, but reported
    load(path, 44100)
    assert any("very short input (0.050 s)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", [1e30, np.inf, -np.inf, np.nan])
def test_non_finite_and_absurd_float_files_are_refused(tmp_path, value):
    path = str(tmp_path / "f.wav")
    y = _noise(8000)
    y[100:200] = value
    sf.write(path, y, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite|far above full scale") as e:
        load(path)
    assert path in str(e.value)
    with pytest.raises(AudioError):
        as_signal(y, 8000)


def test_peaks_up_to_the_bound_pass(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="audiodl.io.audio")
    path = tmp_path / "loud.wav"
    y = _noise(8000)
    y[10] = MAX_PEAK / 2
    sf.write(path, y, 8000, subtype="FLOAT")
    assert np.max(load(path)[0]) == pytest.approx(MAX_PEAK / 2)
    assert any("exceed full scale" in r.getMessage() for r in caplog.records)
    y[10] = MAX_PEAK * 2
    with pytest.raises(AudioError, match="far above full scale"):
        as_signal(y, 8000)


# ------------------------------------------------------- item 6: damaged files
def _lossy(tmp_path, fmt, subtype, sr=44100, n=88200):
    path = tmp_path / f"ok.{fmt.lower()}"
    t = np.arange(n) / sr
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * _noise(n, 1, 1.0)).astype(np.float32)
    sf.write(path, y, sr, format=fmt, subtype=subtype)
    return path, path.read_bytes()


def _damaged(tmp_path, name, data, *, cut=None, at=None, seed=0):
    b = bytearray(data)
    if at is not None:
        p = int(len(b) * at)
        b[p:p + 200] = np.random.default_rng(seed).integers(0, 256, 200, np.uint8).tobytes()
    if cut is not None:
        b = b[:int(len(b) * cut)]
    path = tmp_path / name
    path.write_bytes(bytes(b))
    return str(path)


CASES = [("MP3", None), ("OGG", "VORBIS")]


@pytest.mark.parametrize("fmt, subtype", CASES)
def test_intact_lossy_files_load_whole(tmp_path, fmt, subtype):
    if fmt not in FORMATS:
        pytest.skip(f"libsndfile without {fmt}")
    path, _ = _lossy(tmp_path, fmt, subtype)
    y, sr = load(path)
    assert len(y) == 88200
    assert sum(len(b) for b in stream(path, block_length=4096)) == 88200


@pytest.mark.parametrize("fmt, subtype", CASES)
@pytest.mark.parametrize("where", [0.3, 0.45, 0.6, 0.75, 0.9])
def test_truncated_lossy_files_are_refused(tmp_path, fmt, subtype, where, capfd):
    if fmt not in FORMATS:
        pytest.skip(f"libsndfile without {fmt}")
    _, data = _lossy(tmp_path, fmt, subtype)
    path = _damaged(tmp_path, f"cut.{fmt.lower()}", data, cut=where)
    with pytest.raises(AudioError, match="truncated|corrupt|no samples") as e:
        load(path)
    assert path in str(e.value)
    with pytest.raises(AudioError):
        list(stream(path, sr=22050))
    err = capfd.readouterr().err
    assert "Xing" not in err and "Note:" not in err and "Warning:" not in err, err


@pytest.mark.parametrize("fmt, subtype", CASES)
@pytest.mark.parametrize("where", [0.3, 0.45, 0.6, 0.75])
def test_corrupted_lossy_files_are_refused_quietly(tmp_path, fmt, subtype, where, capfd):
    if fmt not in FORMATS:
        pytest.skip(f"libsndfile without {fmt}")
    _, data = _lossy(tmp_path, fmt, subtype)
    path = _damaged(tmp_path, f"bad.{fmt.lower()}", data, at=where)
    with pytest.raises(AudioError, match="corrupt|truncated|not a readable") as e:
        load(path)
    assert path in str(e.value)
    err = capfd.readouterr().err
    assert "Illegal Audio-MPEG-Header" not in err and "resync" not in err, err


def test_decoder_capture_passes_other_stderr_through(capfd):
    import os

    from audiodl.io.integrity import DecoderMessages
    with DecoderMessages() as m:
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x0 at offset 1.\nsomething else\n")
    assert m.damage and "something else" not in " ".join(m.lines)
    err = capfd.readouterr().err
    assert "something else" in err and "Illegal" not in err


@pytest.mark.parametrize("ext, subtype", [("wav", "PCM_24"), ("aiff", "PCM_24"),
                                          ("wav", "FLOAT")])
@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_truncated_pcm_files_are_refused(tmp_path, ext, subtype, where):
    good = tmp_path / f"good.{ext}"
    sf.write(good, _noise(44100), 44100, subtype=subtype)
    path = _damaged(tmp_path, f"cut.{ext}", good.read_bytes(), cut=where)
    with pytest.raises(AudioError, match="truncated") as e:
        load(path)
    assert path in str(e.value)


def test_stdin_wav_with_one_hertz_header_is_refused(tmp_path):
    import io

    from audiodl.io import read_pipe
    path = tmp_path / "tiny.wav"
    sf.write(path, 0.1 * np.random.randn(44100), 1)
    with pytest.raises(AudioError, match="<stdin>: unsupported sampling rate 1 Hz"):
        read_pipe(io.BytesIO(path.read_bytes()))
    with pytest.raises(AudioError, match="sampling rate"):
        read_pipe(io.BytesIO(np.zeros(100, np.float32).tobytes()), fmt="raw", sr=10**9)


@pytest.mark.parametrize("sr", [16000, 48000])
def test_intact_opus_files_load_whole(tmp_path, sr):
    """Opus granules count 48 kHz samples plus a pre-skip: a whole file is not 'corrupt'."""
    if "OPUS" not in sf.available_subtypes("OGG"):
        pytest.skip("libsndfile without Opus")
    path = tmp_path / "ok.opus"
    n = 2 * sr
    t = np.arange(n) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr,
             format="OGG", subtype="OPUS")
    y, got = load(str(path), sr)
    assert got == sr and abs(len(y) - n) <= sr // 100
    data = path.read_bytes()
    with pytest.raises(AudioError, match="truncated|corrupt|no samples|not a readable"):
        load(_damaged(tmp_path, "cut.opus", data, cut=0.6))
