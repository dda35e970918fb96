"""StreamingFrontend == offline spectrogram() on the concatenated blocks.

Tolerance: the same kernel code computes every frame, but frames that arrive
alone go through DUCC0's scalar FFT while frames computed in groups of 4+ go
through its SIMD code path; their float32 roundings differ by a few ulps
(observed <= 2e-5 dB, <= 1e-5 of a frame's maximum in linear units). When the
frames are grouped the same way the results are bitwise equal.
"""

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.features import PRESETS, FrontendConfig, spectrogram
from audiodl.features.streaming import StreamingFrontend

from .conftest import make_signal


def assert_stream_equals_offline(st, off, config):
    assert st.shape == off.shape
    assert st.dtype == np.float32
    if config.log == "none":
        scale = np.maximum(np.abs(off).max(axis=-1, keepdims=True), 1e-30)
        assert (np.abs(st - off) / scale).max() <= 1e-5
    else:
        atol = 1e-4 if config.log == "db" else 2e-5
        np.testing.assert_allclose(st, off, rtol=0, atol=atol)


def run_stream(sf, y, sizes):
    parts, i, j = [], 0, 0
    while i < len(y):
        m = sizes[j % len(sizes)]
        parts.append(sf.process(y[i:i + m]))
        i += m
        j += 1
    parts.append(sf.flush())
    return np.concatenate(parts, axis=-2)


CONFIGS = {
    "librosa": PRESETS["librosa"],
    "onset_cnn_reflect_diff": PRESETS["onset_cnn"].replace(pad_mode="reflect", diff=True),
    "superflux": PRESETS["superflux"],
    "ds2": PRESETS["ds2"],
    "edge_winlen": FrontendConfig(sr=16000, n_fft=512, hop_length=100, win_length=400,
                                  pad_mode="edge", n_mels=40, log="log1p"),
    "not_centered": FrontendConfig(sr=16000, n_fft=512, hop_length=160, center=False,
                                   n_mels=40, log="none"),
    "reflect_odd": FrontendConfig(sr=16000, n_fft=501, hop_length=97, pad_mode="reflect",
                                  n_mels=30, log="log"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_random_blocks_equal_offline(name):
    config = CONFIGS[name]
    rng = np.random.default_rng(len(name))
    y = make_signal(int(config.sr * 0.4) + 17, config.sr, seed=5).astype(np.float32)
    off = spectrogram(y, config)
    sizes = [int(s) for s in rng.integers(1, 3 * config.hop_length, 50)]
    st = run_stream(StreamingFrontend(config), y, sizes)
    assert_stream_equals_offline(st, off, config)


@pytest.mark.parametrize("n", [1, 5, 300, 513, 3001])
@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "edge"])
def test_one_sample_blocks_and_short_signals(n, pad_mode):
    config = FrontendConfig(sr=16000, n_fft=512, hop_length=128, pad_mode=pad_mode, n_mels=40,
                            log="log1p", diff=True)
    y = make_signal(n, 16000, seed=n)
    off = spectrogram(y, config)
    st = run_stream(StreamingFrontend(config), y, [1])
    assert_stream_equals_offline(st, off, config)


@pytest.mark.parametrize("name", ["librosa", "onset_cnn_reflect_diff"])
def test_block_larger_than_file_and_than_chunk(name):
    config = CONFIGS[name]
    y = make_signal(config.sr, config.sr, seed=2)
    off = spectrogram(y, config)
    # one block holding the whole file, split internally into 1000-sample chunks
    sf = StreamingFrontend(config, chunk=1000)
    st = np.concatenate([sf.process(y), sf.flush()], axis=-2)
    assert_stream_equals_offline(st, off, config)
    # whole file in one kernel call: frames grouped as offline (blocks of 32) -> bitwise equal
    sf = StreamingFrontend(config, chunk=10 * len(y))
    head = sf.process(y)
    n_same = head.shape[-2] // 32 * 32
    assert n_same >= 32
    np.testing.assert_array_equal(head[..., :n_same, :], off[..., :n_same, :])


def test_hop_blocks_shapes_and_counters():
    config = PRESETS["onset_cnn"]
    sf = StreamingFrontend(config)
    hop = config.hop_length
    y = make_signal(hop * 20, config.sr).astype(np.float32)
    out = [sf.process(y[i:i + hop]) for i in range(0, len(y), hop)]
    assert all(o.shape[0] == 3 and o.shape[2] == config.n_bins for o in out)
    assert sum(o.shape[1] for o in out) == sf.n_frames
    assert sf.n_samples == len(y)
    tail = sf.flush()
    assert sum(o.shape[1] for o in out) + tail.shape[1] == config.n_frames(len(y))
    assert sf.n_samples == 0 and sf.n_frames == 0  # flush resets


def test_reset_starts_a_new_stream():
    config = PRESETS["speech16k"].replace(diff=True)
    y = make_signal(8000, 16000, seed=4)
    sf = StreamingFrontend(config)
    sf.process(make_signal(5000, 16000, seed=9))
    sf.reset()
    st = run_stream(sf, y, [160])
    assert_stream_equals_offline(st, spectrogram(y, config), config)


def test_empty_stream_and_bad_blocks():
    sf = StreamingFrontend("speech16k")
    assert sf.process(np.zeros(0)).shape == (0, 64)
    assert sf.flush().shape == (0, 64)
    with pytest.raises(ParameterError):
        sf.process(np.zeros((2, 10)))
    with pytest.raises(ParameterError):
        sf.process(np.zeros(10, np.int16))
    out = sf.process([0.0] * 2000)  # lists are accepted
    assert out.shape[1] == 64


def test_streaming_frontend_from_preset_name():
    sf = StreamingFrontend("speech16k")
    assert isinstance(sf, StreamingFrontend)
    assert sf.fps == 100.0


def test_spectrogram_takes_sr_and_resamples():
    from audiodl.features import spectrogram
    y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    at_preset = spectrogram(y, "onset_cnn", sr=22050)
    assert at_preset.shape[-2] == 1 + 44100 // 441, "22.05 kHz input resampled to 44.1 kHz"
    with pytest.raises(ParameterError):
        spectrogram(y, "onset_cnn", sr=-1)
