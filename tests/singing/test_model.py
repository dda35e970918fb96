"""The Schlüter & Grill network in its fully convolutional (dilated) form."""

import numpy as np
import pytest


def _model(**kw):
    import torch

    from audiodl.models.registry import build
    torch.manual_seed(0)
    m = build("svd_schlueter", kw).eval()
    for mod in m.modules():  # non-trivial batch-norm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    return m


def test_geometry_and_paper_sizes():
    m = _model()
    assert m.receptive_field == 115 and m.time_stride == 1 and m.n_frames == 115
    convs = [c for c in m.modules() if type(c).__name__ == "Conv2d"]
    assert [c.out_channels for c in convs] == [64, 32, 128, 64, 256, 64, 1]
    assert "norm.mean" in m.state_dict() and "norm.std" in m.state_dict()


def test_every_output_equals_the_excerpt_network():
    """Output ``i`` (pad=False) is the excerpt CNN on frames ``i .. i + 114``."""
    import torch
    m = _model(conv=[8, 8, 16, 8], dense=[16, 8])
    x = torch.randn(1, 200, 80)
    with torch.inference_mode():
        full = m(x, pad=False)[0, :, 0].numpy()
        assert len(full) == 200 - 114
        ex = torch.stack([x[0, i:i + 115] for i in (0, 17, 85)])
        single = m(ex, pad=False)[:, 0, 0].numpy()
    np.testing.assert_allclose(single, full[[0, 17, 85]], rtol=1e-4, atol=1e-5)


def test_padded_output_has_one_frame_per_input_frame():
    import torch
    m = _model(conv=[4, 4, 8, 4], dense=[8, 4])
    for n in (1, 10, 300):
        with torch.inference_mode():
            assert tuple(m(torch.zeros(2, n, 80)).shape) == (2, n, 1)


def test_bad_input_and_bad_geometry():
    import torch
    m = _model(conv=[4, 4, 8, 4], dense=[8, 4])
    with pytest.raises(ValueError, match="expected log-mel frames"):
        m(torch.zeros(1, 200, 40))
    from audiodl.models.singing import SchlueterSVD
    with pytest.raises(ValueError, match="n_frames"):
        SchlueterSVD(n_frames=100)


def test_zero_mean_variant_ignores_the_input_level():
    """Schlüter & Lehner 2018: a constant added to every log-mel bin (a gain change) leaves
    the zero-mean network's output unchanged; the plain network's output moves."""
    import torch
    kw = dict(conv=[8, 8, 16, 8], dense=[16, 8])
    zm, plain = _model(zero_mean=True, **kw), _model(**kw)
    for m in (zm, plain):
        m.norm.set_stats(torch.linspace(-4, 0, 80), torch.linspace(1.3, 2.3, 80))
    x = torch.randn(1, 200, 80)
    with torch.inference_mode():
        for gain in (-3.0, 2.0):  # ln units of the front end: ~-26 dB, +17 dB
            np.testing.assert_allclose(zm(x + gain).numpy(), zm(x).numpy(), atol=1e-4)
            assert np.abs(plain(x + gain).numpy() - plain(x).numpy()).max() > 1e-3
        # the same weights and statistics: only the first layer's kernel means and the band scales differ
        assert set(zm.state_dict()) == set(plain.state_dict())


def _ctx(levels=3, **kw):
    from audiodl.models.registry import build
    base = _model(conv=[8, 8, 16, 8], dense=[16, 8])
    m = build("svd_schlueter_ctx", {"base_args": {"conv": [8, 8, 16, 8], "dense": [16, 8]},
                                    "levels": levels, "channels": 4, **kw}).eval()
    m.init_target("svd_schlueter").load_state_dict(base.state_dict())
    return base, m


def test_context_head_geometry_and_untrained_identity():
    """The head reaches 2 ** levels - 1 frames each side; untrained, it is the CNN exactly."""
    import torch
    base, m = _ctx(levels=3)
    assert m.reach == 7 and m.receptive_field == 115 + 14 and m.time_stride == 1
    x = torch.randn(2, 300, 80)
    with torch.inference_mode():
        np.testing.assert_allclose(m(x).numpy(), base(x).numpy(), rtol=1e-5, atol=1e-6)
        cols = base.columns(x)
        assert cols.shape == (2, 1 + 8, 300 - 114)
        np.testing.assert_allclose(cols[:, 0].numpy(), base(x, pad=False)[:, :, 0].numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_context_head_sees_its_reach_and_no_further():
    """A trained head's output at frame i changes with input frames within the receptive
    field around i, and not with frames beyond it."""
    import torch
    _, m = _ctx(levels=2)
    torch.nn.init.normal_(m.out.weight)
    x = torch.randn(1, 400, 80)
    i, h = 200, m.receptive_field // 2
    with torch.inference_mode():
        y = m(x)[0, i, 0]
        far, near = x.clone(), x.clone()
        far[0, i + h + 1:] += 3.0
        near[0, i + h] += 3.0
        assert torch.equal(m(far)[0, i, 0], y)
        assert not torch.isclose(m(near)[0, i, 0], y)
