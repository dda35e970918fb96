"""FrontendConfig serialisation/validation and filterbanks against librosa."""
import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.features import PRESETS, FrontendConfig, preset
from audiodl.features import filterbanks as fb

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_roundtrip_and_hash(name):
    c = PRESETS[name]
    d = FrontendConfig.from_json(c.to_json())
    assert d == c and d.hash == c.hash
    assert c.n_bins > 0 and c.fps > 0


def test_hash_changes_with_settings():
    c = preset("librosa")
    assert c.replace(n_mels=64).hash != c.hash


@pytest.mark.parametrize("bad", [dict(n_fft=8), dict(hop_length=0), dict(fmax=30000.0),
                                 dict(filterbank="bark"), dict(log="ln"), dict(window="kaiser"),
                                 dict(power=3.0), dict(fmin=5000.0, fmax=4000.0),
                                 dict(win_length=4096),
                                 dict(filterbank="logfreq", norm="slaney")])
def test_invalid_settings_raise(bad):
    with pytest.raises(ParameterError):
        FrontendConfig(**bad)


def test_unknown_keys_and_overrides():
    with pytest.raises(ParameterError, match="unknown"):
        FrontendConfig.from_dict({"sr": 22050, "n_bands": 40})
    c = preset("librosa").with_overrides(["n_mels=40", "fmax=8000", "n_fft=512,1024",
                                          "center=false"])
    assert c.n_mels == 40 and c.fmax == 8000.0 and c.n_fft == (512, 1024) and not c.center
    with pytest.raises(ParameterError):
        preset("librosa").with_overrides(["nmels=3"])
    with pytest.raises(ParameterError, match="known"):
        preset("nope")


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", [(22050, 2048, 128, 0.0, None),
                                                           (16000, 512, 40, 50.0, 7600.0),
                                                           (44100, 4096, 80, 27.5, 16000.0)])
def test_mel_equals_librosa(htk, norm, sr, n_fft, n_mels, fmin, fmax):
    a = fb.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    b = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                            norm=norm)
    # both are float64 computations rounded to float32: agree to float32 rounding
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_yaafe_and_logfreq_properties():
    w = fb.mel_yaafe(sr=22050, n_fft=1024, n_mels=80, fmin=27.5, fmax=8000.0)
    assert w.shape == (80, 513)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    peaks = w.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)
    lf = fb.logfreq(sr=44100, n_fft=2048, bands_per_octave=12, fmin=30, fmax=17000)
    np.testing.assert_allclose(lf.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(np.diff(lf.argmax(axis=1)) > 0), "merged bands are unique and ordered"


def test_sparse_roundtrip():
    w = fb.mel(sr=22050, n_fft=2048, n_mels=128)
    s = fb.to_sparse(w)
    dense = np.zeros_like(w)
    for b in range(s.n_bands):
        dense[b, s.start[b]:s.start[b] + s.length[b]] = \
            s.weights[s.offset[b]:s.offset[b] + s.length[b]]
    np.testing.assert_array_equal(dense, w)
    assert len(s.weights) < 0.03 * w.size
