"""Fused kernel vs librosa (melspectrogram + power_to_db) with aligned settings.

librosa computes in float64 for float64 input (complex128 STFT), our kernel
in float32. With every band well above ``amin`` (broadband test signal), the
float32 rounding of the FFT and filterbank stays ~1e-6 relative, i.e.
~5e-6 dB; the issue asks for <= 1e-4 dB, which we assert on the maximum
over all frames and bands (edge frames included).
"""

import numpy as np
import pytest

from audiodl.features import FrontendConfig, spectrogram

from .conftest import make_signal

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("sr,n_fft,hop,n_mels,htk", [(22050, 2048, 512, 128, False),
                                                      (16000, 1024, 160, 64, True)])
def test_matches_librosa_power_to_db(sr, n_fft, hop, n_mels, htk, pad_mode):
    y = make_signal(sr * 3 + 11, sr, seed=3)
    config = FrontendConfig(sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                            filterbank="mel_htk" if htk else "mel_slaney", pad_mode=pad_mode,
                            log="db", amin=1e-10)
    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                       htk=htk, center=True, pad_mode=pad_mode, power=2.0)
    ref = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T
    out = spectrogram(y, config)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() <= 1e-4
