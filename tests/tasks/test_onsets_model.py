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


def test_pipeline_chunking_and_streaming_equal_offline(tmp_card):
    from audiodl.tasks.onsets import OnsetPipeline
    from audiodl.testing import piano_like
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
    np.testing.assert_allclose(streamed, act.values, atol=1e-4)


def test_import_does_not_load_torch():
    code = ("import sys, audiodl, audiodl.tasks.onsets, audiodl.decoders.peaks, "
            "audiodl.evaluation.onsets, audiodl.cli.onsets; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
