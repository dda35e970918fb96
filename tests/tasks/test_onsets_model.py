"""The onset CNN: architecture, fully convolutional == per-frame excerpts, streaming == offline."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from audiodl.models.registry import build  # noqa: E402


@pytest.fixture(scope="module")
def tmp_card(tmp_path_factory):
    """A randomly initialised model saved as a card (no training needed)."""
    from audiodl import pretrained
    from audiodl.features import PRESETS
    torch.manual_seed(0)
    m = build("onset_cnn_sb2014", {})
    m.set_normalization(np.full((3, 80), -3.0), np.full((3, 80), 2.0))
    d = tmp_path_factory.mktemp("cards")
    card = pretrained.build_card(
        name="onsets_test", task="onsets", arch="onset_cnn_sb2014", args={},
        frontend=PRESETS["onset_cnn"], labels=["onset"], layout="valid",
        decoder={"offline": {"threshold": 0.5, "smooth": 0.0, "pre_avg": 0.0,
                             "post_avg": 0.0, "pre_max": 0.01, "post_max": 0.01,
                             "combine": 0.03, "delay": 0.0}})
    return str(pretrained.save(m, card, d))


def test_architecture_matches_paper():
    m = build("onset_cnn_sb2014", {})
    assert m.context == 15
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(10, 3, 7, 3), (20, 10, 3, 3),
                                                      (256, 20, 7, 8), (1, 256, 1, 1)]
    pools = [l for l in m.modules() if isinstance(l, torch.nn.MaxPool2d)]
    assert all(tuple(np.atleast_1d(p.kernel_size)) == (1, 3) for p in pools)
    assert {"mean", "std"} <= set(dict(m.named_buffers()))
    bn = build("onset_cnn_bn", {})
    assert any(isinstance(l, torch.nn.BatchNorm2d) for l in bn.modules())


def test_fully_convolutional_equals_excerpt_loop():
    torch.manual_seed(1)
    m = build("onset_cnn_sb2014", {}).eval()
    x = torch.randn(1, 3, 40, 80)
    full = m(x)[0]
    assert full.shape == (40,)
    padded = torch.cat([x[:, :, :1].repeat(1, 1, 7, 1), x, x[:, :, -1:].repeat(1, 1, 7, 1)], 2)
    for t in (0, 3, 20, 39):
        one = m(padded[:, :, t:t + 15], pad=False)[0]
        assert one.shape == (1,)
        assert float(one[0].detach()) == pytest.approx(float(full[t].detach()), abs=1e-5)


def test_context_head_starts_as_its_cnn_and_looks_only_back():
    """onset_cnn_ctx: an untrained head reproduces its CNN exactly; an output depends on
    past frames up to 2.6 s back but on no more than 7 future frames; the CNN is frozen."""
    torch.manual_seed(2)
    m = build("onset_cnn_ctx", {"levels": 7}).eval()
    assert (m.context, m.lookahead) == (15 + 2 * 127, 7)
    x = torch.randn(1, 3, 400, 80)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m.base(x), rtol=0, atol=0)
        torch.nn.init.normal_(m.out.weight, std=0.5)
        y = m(x)
        assert not torch.allclose(y, m.base(x))
        t = 300
        later = x.clone()
        later[:, :, t + 8:] += 3.0  # beyond the lookahead: output t unchanged
        assert float(m(later)[0, t]) == pytest.approx(float(y[0, t]), abs=1e-5)
        earlier = x.clone()
        earlier[:, :, t - 200] += 3.0  # 2 s back, outside the CNN's 7 frames: changes it
        assert abs(float(m(earlier)[0, t]) - float(y[0, t])) > 1e-4
    m.train()
    assert not m.base.training and m.proj.training
    assert all(not p.requires_grad for p in m.base.parameters())
    trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)
    assert 0 < trainable < 20_000


def test_context_head_initialises_its_cnn_from_a_cnn_card(tmp_path):
    from audiodl import pretrained
    from audiodl.features import PRESETS
    from audiodl.training.specs.base import init_weights
    torch.manual_seed(3)
    cnn = build("onset_cnn_bn", {})
    cnn.set_normalization(np.full((3, 80), -2.0), np.full((3, 80), 1.5))
    card = pretrained.build_card(name="onsets_cnn_init", task="onsets", arch="onset_cnn_bn",
                                 args={}, frontend=PRESETS["onset_cnn"], labels=["onset"],
                                 layout="valid", decoder={"offline": {"threshold": 0.5}})
    path = pretrained.save(cnn, card, tmp_path)
    m = build("onset_cnn_ctx", {})
    init_weights(m, str(path))
    x = torch.randn(1, 3, 50, 80)
    with torch.no_grad():
        torch.testing.assert_close(m.eval()(x), cnn.eval()(x))


def test_ensemble_is_the_mean_member_probability():
    """onset_cnn_ensemble: its sigmoid output is the mean of its members' probabilities
    (each member with its own input statistics), padded and unpadded."""
    from audiodl.models.onsets import OnsetCNNBN, OnsetCNNEnsemble
    members = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        m = OnsetCNNBN()
        m.set_normalization(torch.randn(3, 80) - 3.0, 1.0 + torch.rand(3, 80))
        for bn in (l for l in m.modules() if isinstance(l, torch.nn.BatchNorm2d)):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
        with torch.no_grad():
            m.classifier[-1].weight.mul_(20.0)  # logits of a few units: members disagree
        members.append(m.eval())
    ens = OnsetCNNEnsemble.from_members(members, "onset_cnn_bn", {})
    x = torch.randn(2, 3, 50, 80)
    with torch.no_grad():
        for pad, n in ((True, 50), (False, 36)):
            probs = torch.stack([torch.sigmoid(m(x, pad=pad)) for m in members])
            got = torch.sigmoid(ens(x, pad=pad))
            assert got.shape == (2, n)
            torch.testing.assert_close(got, probs.mean(0), atol=1e-6, rtol=1e-5)
            # neither one member nor the mean logit (the two differ here by > 1e-3)
            logits = torch.stack([m(x, pad=pad) for m in members])
            assert (probs[0] - probs[1]).abs().max() > 1e-2
            assert (got - torch.sigmoid(logits.mean(0))).abs().max() > 1e-3
    assert ens.context == 15 and (ens.n_channels, ens.n_bands) == (3, 80)
    built = build("onset_cnn_ensemble", {"members": 3, "member_arch": "onset_cnn_bn"})
    assert set(built.state_dict()) == set(ens.state_dict())
    with pytest.raises(ValueError, match="members"):
        OnsetCNNEnsemble(members=0)
    with pytest.raises(ValueError, match="member_arch"):
        OnsetCNNEnsemble(member_arch="boundary_cnn")


def test_pipeline_chunking_and_streaming_equal_offline(tmp_card, monkeypatch):
    from audiodl.tasks.onsets import OnsetPipeline
    from audiodl.testing import piano_like
    # The online detector always runs the numba kernels (StreamingFrontend); the offline
    # path runs numpy's float64 FFT for a process's first COLD_SECONDS of audio when numba
    # is not yet imported (this module run alone). piano_like's upper bands hold almost
    # no energy: there the kernels' float32 FFT rounding noise (~1e-7 of the frame) and
    # numpy's float64 values differ by up to 1.4 in log units at the amin floor (1e-7),
    # which moved the activations by 2.8e-4. Compare like with like: the kernels offline
    # too (numpy vs kernels: tests/features/test_numpy_frontend.py); then they agree to 1e-6.
    monkeypatch.setenv("AUDIODL_FRONTEND", "numba")
    pipe = OnsetPipeline.from_pretrained(tmp_card)
    y = 0.5 * piano_like([0.3, 0.7, 1.1, 1.6], sr=44100)
    act = pipe.activations(y, 44100)
    assert act.fps == 100.0 and act.values.shape == (1 + len(y) // 441,)
    pipe.chunk_frames = 37
    np.testing.assert_allclose(pipe.activations(y, 44100).values, act.values, atol=1e-6)
    det = pipe.online()
    assert det.latency == pytest.approx((2048 + 7 * 441) / 44100)
    for i in range(0, len(y), 1000):
        det.process(y[i:i + 1000])
    det.process(np.zeros(0, np.float32), last=True)
    streamed = det.all_activations().values
    assert streamed.shape == act.values.shape
    # the streaming front end + runner equal the offline path
    np.testing.assert_allclose(streamed, act.values, atol=1e-6)


def test_import_does_not_load_torch():
    code = ("import sys, audiodl, audiodl.tasks.onsets, audiodl.decoders.peaks, "
            "audiodl.evaluation.onsets, audiodl.cli.onsets; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
