"""Fused numba kernel == plain-numpy float64 reference, for every preset and odd settings.

Tolerances: the kernel computes in float32 (windowing, FFT, filterbank, log)
while the reference runs in float64. A float32 FFT is accurate to ~1e-7 of
the frame's energy, so a band's relative error is ~1e-7 x (frame energy /
band energy); in the log domain that is ~1e-6 for loud bands and up to
~1e-4 for bands 30 dB below the loudest (e.g. the narrowest low HTK bands).
We therefore allow 2e-4 in natural-log units (1e-3 dB) for log outputs and
a relative 2e-5 of each frame's maximum for linear (``log='none'``) outputs.
"""

import numba
import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.features import PRESETS, FrontendConfig, spectrogram
from audiodl.features.reference import reference_spectrogram

from .conftest import make_signal

LOG_ATOL = {"db": 1e-3, "log": 2e-4, "log10": 1e-4, "log1p": 2e-4}


def assert_matches_reference(out, ref, config):
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    if config.log == "none":
        scale = np.maximum(np.abs(ref).max(axis=-1, keepdims=True), 1e-30)
        np.testing.assert_array_less(np.abs(out - ref) / scale, 2e-5)
    else:
        np.testing.assert_allclose(out, ref, rtol=0, atol=LOG_ATOL[config.log])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_reference(name):
    config = PRESETS[name]
    y = make_signal(int(config.sr * 0.7) + 13, config.sr, seed=1)
    out = spectrogram(y, config)
    assert_matches_reference(out, reference_spectrogram(y, config), config)
    frames = config.n_frames(len(y))
    expected = (config.n_channels, frames, config.n_bins) if config.is_multires \
        else (frames, config.n_bins)
    assert out.shape == expected


BASE = FrontendConfig(sr=16000, n_fft=512, hop_length=128, n_mels=40)
ODD = {
    "reflect": dict(pad_mode="reflect"),
    "edge": dict(pad_mode="edge"),
    "constant": dict(pad_mode="constant"),
    "win_length": dict(win_length=300, window="hamming"),
    "win_length_odd_reflect": dict(win_length=301, pad_mode="reflect", window="blackman"),
    "n_fft_odd": dict(n_fft=500, hop_length=97, pad_mode="reflect"),
    "hop_gt_n_fft": dict(n_fft=256, hop_length=300, pad_mode="edge"),
    "not_centered": dict(center=False),
    "magnitude_log": dict(power=1.0, log="log", amin=1e-7),
    "no_log": dict(log="none"),
    "log10": dict(log="log10"),
    "log1p_mul": dict(log="log1p", log_mul=100.0),
    "diff": dict(diff=True, log="log1p"),
    "diff_multires_reflect": dict(n_fft=(256, 512, 1024), diff=True, pad_mode="reflect",
                                  filterbank="mel_htk", fmin=30.0, fmax=7000.0, norm="area"),
    "linear": dict(filterbank="linear", norm=None, log="log1p", n_fft=320),
    "yaafe": dict(filterbank="mel_yaafe", fmin=27.5, fmax=7000.0, norm="area"),
    "logfreq": dict(filterbank="logfreq", n_mels=12, fmin=60.0, fmax=7000.0, n_fft=2048,
                    norm="area"),
    "rect_window": dict(window="rect"),
}


@pytest.mark.parametrize("n", [1, 37, 200, 256, 257, 511, 512, 513, 4001])
@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_settings_match_reference(case, n):
    config = BASE.replace(**ODD[case])
    y = make_signal(n, config.sr, seed=n)
    ref = reference_spectrogram(y, config)
    out = spectrogram(y, config)
    assert_matches_reference(out, ref, config)


def test_float32_and_float64_input_agree():
    y = make_signal(20000, 16000)
    a = spectrogram(y, BASE)
    b = spectrogram(y.astype(np.float32), BASE)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_batch_equals_stacked_singles():
    config = PRESETS["onset_cnn"]
    ys = np.stack([make_signal(30000, config.sr, seed=s) for s in range(3)])
    batch = spectrogram(ys, config)
    assert batch.shape == (3, 3, config.n_frames(30000), config.n_bins)
    for i in range(3):
        np.testing.assert_array_equal(batch[i], spectrogram(ys[i], config))


def test_thread_count_does_not_change_result():
    config = BASE.replace(diff=True)
    ys = np.stack([make_signal(50000, 16000, seed=s) for s in range(3)])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = spectrogram(ys, config)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = spectrogram(ys, config)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_silence_hits_the_floor():
    out = spectrogram(np.zeros(4000), BASE)
    np.testing.assert_allclose(out, -100.0, atol=1e-4)


def test_numpy_backend_is_the_reference():
    y = make_signal(3000, 16000)
    np.testing.assert_allclose(spectrogram(y, BASE, backend="numpy"),
                               reference_spectrogram(y, BASE).astype(np.float32))


def test_short_non_centered_signal_has_no_frames():
    out = spectrogram(np.ones(100), BASE.replace(center=False))
    assert out.shape == (0, 40)


def test_bad_input_raises():
    with pytest.raises(ParameterError):
        spectrogram(np.zeros(0), BASE)
    with pytest.raises(ParameterError):
        spectrogram(np.zeros((2, 2, 10)), BASE)
    with pytest.raises(ParameterError):
        spectrogram(np.zeros(10, np.int16), BASE)
