import shutil

import numpy as np
import pytest

from audiodl.data import augment


def _tone(sr=16000, dur=1.0):
    t = np.arange(int(sr * dur)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_shapes_and_determinism():
    y = _tone()
    a, pa = augment.random_augment(y, 16000, np.random.default_rng(3), p_codec=0.0)
    b, pb = augment.random_augment(y, 16000, np.random.default_rng(3), p_codec=0.0)
    assert a.shape == y.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and pa == pb
    assert np.max(np.abs(a)) <= 0.99 + 1e-6


def test_noise_snr():
    rng = np.random.default_rng(0)
    y = _tone()
    out = augment.add_noise(y, snr_db=10.0, rng=rng, color="white")
    noise = out - y
    snr = 20 * np.log10(np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(noise ** 2)))
    assert abs(snr - 10.0) < 0.3


def test_reverb_keeps_length_and_onset():
    sr = 16000
    y = np.zeros(sr, dtype=np.float32)
    y[4000] = 1.0
    out = augment.reverb(y, sr, rt60=0.4, wet=0.5, rng=np.random.default_rng(1))
    assert out.shape == y.shape
    assert np.all(np.abs(out[:4000]) < 1e-6)  # causal: nothing before the click
    assert np.argmax(np.abs(out)) == 4000


def test_eq_gain():
    y = _tone()
    out = augment.equalize(y, 16000, bands=[(440.0, 6.0, 1.0)])
    ratio = np.sqrt(np.mean(out[4000:] ** 2) / np.mean(y[4000:] ** 2))
    assert abs(20 * np.log10(ratio) - 6.0) < 0.5
    assert np.allclose(augment.gain(y, gain_db=-6.0), y * 10 ** (-0.3), atol=1e-6)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize("codec", ["mp3", "ogg", "aac"])
def test_codec_roundtrip_stays_aligned(codec):
    sr = 22050
    y = np.zeros(sr * 2, dtype=np.float32)
    rng = np.random.default_rng(0)
    for k in (5000, 20000, 33000):  # bursts at known positions
        y[k:k + 300] = 0.5 * rng.standard_normal(300)
    out = augment.codec_roundtrip(y, sr, codec=codec, bitrate="96k")
    assert out.shape == y.shape
    # cross-correlation peak at lag 0 (+-2 samples): encoder delay removed
    c = np.correlate(out[4000:36000], y[4000 - 64:36000 + 64], mode="valid")
    lag = 64 - int(np.argmax(c))
    assert abs(lag) <= 2, (codec, lag)


def test_specaugment_units_and_channels():
    from audiodl.data.augment import SpecAugment, db_per_unit
    from audiodl.features import PRESETS
    assert db_per_unit(PRESETS["lidy2015"]) == pytest.approx(10.0)      # log10 power
    assert db_per_unit(PRESETS["onset_cnn"]) == pytest.approx(20 / np.log(10))  # ln magnitude
    x = np.zeros((20, 3, 16), np.float32)
    only_gain = SpecAugment(unit_db=10.0, gain_db=10.0, eq_db=0.0, shift=0, noise_prob=0.0,
                            lowpass_prob=0.0)
    g = only_gain(x, np.random.default_rng(0))
    assert g.shape == x.shape and g.dtype == np.float32
    assert np.ptp(g) == 0 and abs(g[0, 0, 0]) <= 1.0  # one gain, at most 10 dB = 1 unit
    full = SpecAugment(unit_db=8.0, tilt_db=3.0, noise_prob=1.0, lowpass_prob=1.0)
    y = full(x + np.linspace(0, 1, 16, dtype=np.float32), np.random.default_rng(1))
    assert y.shape == x.shape and np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, 0], y[:, 0])
    a = full(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, full(x, np.random.default_rng(5)))  # seeded
    np.testing.assert_allclose(a[:, 0, :4], a[:, 1, :4], atol=2.0)  # same curve per channel


def test_mix_power_units():
    from audiodl.data.augment import mix_power
    a = np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(mix_power(a, a, 0.0, unit_db=20 / np.log(10)), np.log(2.0) / 2,
                               rtol=1e-5)


def test_specaugment_digital_silence_stage():
    """silence_prob: the quieter frames become the front end's output for exact zeros."""
    from audiodl.features import PRESETS, spectrogram
    fe = PRESETS["onset_cnn"]
    floor = augment.silence_floor(fe)
    assert spectrogram(np.zeros(4410, np.float32), fe).max() == pytest.approx(floor, abs=1e-5)
    x = np.random.default_rng(0).normal(size=(128, 3, 80)).astype(np.float32)
    x[:, :, :] += np.linspace(-3, 3, 128, dtype=np.float32)[:, None, None]  # a crescendo
    a = augment.SpecAugment(silence_prob=1.0, silence_floor=floor, gain_db=0, eq_db=0,
                            shift=0, noise_prob=0, lowpass_prob=0)
    y = a(x, np.random.default_rng(1))
    silent = (y == np.float32(floor)).all(axis=(1, 2))
    # whole frames, the quiet start of the crescendo, between 10 % and 60 % of them
    assert 0.1 * 128 - 1 <= silent.sum() <= 0.6 * 128 + 1
    assert silent[0] and not silent[-1]
    np.testing.assert_array_equal(y[~silent], x[~silent])
    # off by default, and a floor is required when on
    assert (augment.SpecAugment(gain_db=0, eq_db=0, shift=0, noise_prob=0, lowpass_prob=0)(
        x, np.random.default_rng(1)) == x).all()
    with pytest.raises(Exception, match="silence_floor"):
        augment.SpecAugment(silence_prob=0.5)
