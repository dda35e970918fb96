"""TorchFrontend (nn.Module twin) == numba front end.

Both compute in float32 from the same window and filterbank values; they
differ only in FFT implementation (pocketfft/MKL in torch vs DUCC0) and
summation order, i.e. float32 rounding: observed <= 3e-5 dB and <= 5e-6 in
natural-log units. Asserted: 2e-4 dB, 5e-5 log units.
In float64 the twin matches the float64 numpy reference to ~1e-6 (its window
is float32, like the numba kernel's).
"""

import numpy as np
import pytest

from audiodl.features import PRESETS, FrontendConfig, spectrogram

from .conftest import make_signal

torch = pytest.importorskip("torch")
from audiodl.features.torch_frontend import TorchFrontend  # noqa: E402

ATOL = {"db": 2e-4, "log": 5e-5, "log10": 3e-5, "log1p": 5e-5}


def assert_twin(t, a, config):
    assert t.shape == a.shape
    if t.size == 0:
        return
    if config.log == "none":
        scale = np.maximum(np.abs(a).max(axis=-1, keepdims=True), 1e-30)
        assert (np.abs(t - a) / scale).max() <= 2e-5
    else:
        np.testing.assert_allclose(t, a, rtol=0, atol=ATOL[config.log])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_numba(name):
    config = PRESETS[name]
    y = np.stack([make_signal(int(config.sr * 0.3) + 7, config.sr, seed=s) for s in range(2)])
    y = y.astype(np.float32)
    with torch.no_grad():
        t = TorchFrontend(config)(torch.from_numpy(y)).numpy()
    assert_twin(t, spectrogram(y, config), config)


@pytest.mark.parametrize("kw", [dict(pad_mode="reflect", diff=True), dict(pad_mode="edge"),
                                dict(center=False, log="none"), dict(win_length=300, n_fft=501),
                                dict(n_fft=(256, 1024), pad_mode="reflect")],
                         ids=["reflect_diff", "edge", "not_centered", "win_length", "multires"])
@pytest.mark.parametrize("n", [100, 513, 5000])
def test_odd_settings_match_numba(kw, n):
    config = FrontendConfig(sr=16000, n_fft=512, hop_length=128, n_mels=40).replace(**kw)
    y = make_signal(n, 16000, seed=n).astype(np.float32)
    with torch.no_grad():
        t = TorchFrontend(config)(torch.from_numpy(y)).numpy()
    assert_twin(t, spectrogram(y, config), config)


def test_buffers_learnable_and_gradients():
    config = PRESETS["speech16k"]
    fe = TorchFrontend(config)
    assert {"window0", "filterbank0"} <= set(dict(fe.named_buffers()))
    assert not list(fe.parameters())
    fe = TorchFrontend(config, learnable=True)
    (p,) = list(fe.parameters())
    assert p.shape == (64, 513)
    y = torch.from_numpy(make_signal(4000, 16000).astype(np.float32))[None].requires_grad_()
    fe(y).sum().backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    assert y.grad is not None and torch.isfinite(y.grad).all()
    # state_dict round trip
    fe2 = TorchFrontend(config, learnable=True)
    fe2.load_state_dict(fe.state_dict())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_numba():
    config = PRESETS["onset_cnn"].replace(diff=True)
    y = np.stack([make_signal(44100, 44100, seed=s) for s in range(4)]).astype(np.float32)
    with torch.no_grad():
        t = TorchFrontend(config).cuda()(torch.from_numpy(y).cuda()).cpu().numpy()
    assert_twin(t, spectrogram(y, config), config)
