"""Audio file I/O: clear errors, formats, streaming, resampling, clipping reports."""
import logging
import warnings

import numpy as np
import pytest
import soundfile as sf

from audiodl.errors import AudioError, ParameterError
from audiodl.io import as_signal, info, load, save, stream
from audiodl.io.audio import LOSSY_OVERSHOOT
from audiodl.testing import chirp, tone, write_bad_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return write_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("kind, reason", [
    ("missing", "file not found"),
    ("empty", "empty file"),
    ("not_audio", "not a readable audio file"),
    ("zero_length", "zero length"),
    ("truncated", "truncated"),
    ("nan", "NaN"),
    ("many_channels", "channel layout"),
    ("directory", "directory"),
])
def test_bad_input_raises_clear_error(bad, kind, reason):
    with pytest.raises(AudioError) as e:
        load(bad[kind])
    msg = str(e.value)
    assert bad[kind] in msg, "the message names the file"
    assert reason.lower() in msg.lower(), msg
    assert isinstance(e.value, ValueError)


def test_bad_input_in_stream(bad):
    for kind in ("missing", "not_audio", "nan"):
        with pytest.raises(AudioError):
            list(stream(bad[kind]))


@pytest.mark.parametrize("ext, subtype", [("wav", "PCM_16"), ("wav", "PCM_24"),
                                          ("wav", "FLOAT"), ("flac", "PCM_16"),
                                          ("ogg", "VORBIS")])
def test_roundtrip_formats(tmp_path, ext, subtype):
    y = tone(440, sr=22050, duration=1.0)
    path = tmp_path / f"x.{ext}"
    save(path, y, 22050, subtype=subtype)
    z, sr = load(path)
    assert sr == 22050 and z.dtype == np.float32 and z.shape == y.shape
    tol = 1e-3 if subtype.startswith("PCM") else (0.05 if subtype == "VORBIS" else 1e-7)
    assert np.sqrt(np.mean((z - y) ** 2)) < tol


def test_mp3_if_supported(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("libsndfile without mp3")
    y = tone(440, sr=44100, duration=1.0)
    path = tmp_path / "x.mp3"
    save(path, y, 44100)
    z, sr = load(path)
    assert sr == 44100 and abs(len(z) - len(y)) < 2000


def test_mono_mixdown_and_resample(tmp_path):
    left, right = tone(440, sr=44100), tone(880, sr=44100)
    path = tmp_path / "st.wav"
    save(path, np.stack([left, right]), 44100, subtype="FLOAT")
    y, sr = load(path)
    np.testing.assert_allclose(y, 0.5 * (left + right), atol=1e-6)
    y2, sr2 = load(path, sr=22050)
    assert sr2 == 22050 and abs(len(y2) - 22050) <= 1
    # a resampled 440 Hz tone still peaks at 440 Hz
    st, _ = load(path, sr=16000, mono=False)
    spec = np.abs(np.fft.rfft(st[0]))
    assert abs(np.argmax(spec) * 16000 / len(st[0]) - 440) < 2


def test_integer_formats_scale(tmp_path):
    path = tmp_path / "i16.wav"
    sf.write(path, (np.ones(1000) * 16384).astype(np.int16), 8000, subtype="PCM_16")
    y, _ = load(path)
    np.testing.assert_allclose(y, 0.5, atol=1e-4)


def _records(caplog, level=None):
    return [r for r in caplog.records if r.name == "audiodl.io.audio"
            and (level is None or r.levelno == level)]


def test_clipping_and_short_are_logged_once_not_warned(tmp_path, caplog):
    path = tmp_path / "clip.wav"
    sf.write(path, np.full(400, 1.5, np.float32), 8000, subtype="FLOAT")
    caplog.set_level(logging.INFO, logger="audiodl.io.audio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Python warnings (no source lines printed)
        load(path)
    warn = _records(caplog, logging.WARNING)
    msgs = " ".join(r.getMessage() for r in warn)
    assert "clip" in msgs and "1.50" in msgs and "short" in msgs
    assert sum("full scale" in r.getMessage() for r in _records(caplog)) == 1


def _square_ogg(path, amp, sr=22050):
    t = np.arange(sr) / sr
    y = (amp * np.sign(np.sin(2 * np.pi * 440 * t))).astype(np.float32)
    sf.write(path, y, sr, format="OGG", subtype="VORBIS")
    return float(np.max(np.abs(sf.read(path, dtype="float32")[0])))


def test_vorbis_overshoot_is_info_once(tmp_path, caplog):
    path = tmp_path / "sq.ogg"
    peak = _square_ogg(path, 0.85)
    assert 1.0 < peak <= LOSSY_OVERSHOOT  # the codec overshoots a full-scale square
    caplog.set_level(logging.INFO, logger="audiodl.io.audio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)
        for _ in stream(path, block_length=1000):  # many blocks, one report
            pass
    recs = [r for r in _records(caplog) if "full scale" in r.getMessage()]
    assert len(recs) == 2 and all(r.levelno == logging.INFO for r in recs)
    assert "normal for lossy codecs" in recs[0].getMessage()
    assert f"{peak:.2f}" in recs[0].getMessage()


def test_vorbis_far_above_full_scale_warns(tmp_path, caplog):
    path = tmp_path / "loud.ogg"
    assert _square_ogg(path, 2.0) > LOSSY_OVERSHOOT
    caplog.set_level(logging.INFO, logger="audiodl.io.audio")
    load(path)
    recs = _records(caplog, logging.WARNING)
    assert len(recs) == 1 and "clipped or too loud" in recs[0].getMessage()


def test_as_signal_array_above_full_scale_is_info(caplog):
    from audiodl.testing import piano_like
    y = piano_like([0.1, 0.2, 0.3], sr=8000)
    y = y * (1.42 / np.max(np.abs(y)))
    caplog.set_level(logging.INFO, logger="audiodl.io.audio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = as_signal(y, 8000)
    assert np.max(np.abs(s.y)) == pytest.approx(1.42, abs=1e-3)  # passed on unchanged
    recs = _records(caplog)
    assert len(recs) == 1 and recs[0].levelno == logging.INFO
    assert "<array>: peak 1.42" in recs[0].getMessage()
    caplog.clear()
    as_signal(np.full(1000, 0.5, np.float32), 8000)
    assert not _records(caplog)


def test_stream_matches_load_in_bounded_blocks(tmp_path):
    y = chirp(sr=22050, duration=5.0)
    path = tmp_path / "c.flac"
    save(path, y, 22050)
    full, _ = load(path)
    blocks = list(stream(path, block_length=4096))
    assert max(len(b) for b in blocks) <= 4096
    np.testing.assert_array_equal(np.concatenate(blocks), full)
    # streaming resampling gives the same samples as whole-file resampling (soxr)
    whole, _ = load(path, sr=16000)
    st = np.concatenate(list(stream(path, block_length=1000, sr=16000)))
    assert abs(len(st) - len(whole)) <= 1
    n = min(len(st), len(whole))
    assert np.max(np.abs(st[:n] - whole[:n])) < 1e-3


def test_info(tmp_path):
    path = tmp_path / "a.wav"
    save(path, tone(duration=1.5, sr=8000), 8000)
    i = info(path)
    assert i["sr"] == 8000 and i["channels"] == 1 and abs(i["duration"] - 1.5) < 1e-9


def test_as_signal_arrays():
    s = as_signal(tone(sr=8000), 8000, target_sr=16000)
    assert s.sr == 16000 and abs(len(s.y) - 16000) <= 1
    with pytest.raises(ParameterError):
        as_signal(np.zeros(10, np.float32))
    with pytest.raises(AudioError, match="NaN"):
        as_signal(np.array([0.0, np.nan], np.float32), 8000)
    with pytest.raises(AudioError, match="channels"):
        as_signal(np.zeros((1000, 2), np.float32), 8000)
    i16 = as_signal((np.ones(1000) * 16384).astype(np.int16), 8000)
    assert abs(i16.y[0] - 0.5) < 1e-3
