"""The similarity recipe: configs load, the shipped config made the shipped card, and the
evaluation script's search modes behave as documented."""

import glob
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(ROOT, "recipes", "similarity")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(RECIPE, "conf", "*.toml"))),
                         ids=os.path.basename)
def test_configs_load(path):
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    cfg = load_config(get_spec("similarity").config_class, path)
    assert cfg.smoke == path.endswith("ci.toml")


def test_shipped_config_made_the_shipped_card():
    from audiodl import pretrained
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    if "similarity_cnn" not in pretrained.list_models("similarity"):
        pytest.skip("no shipped similarity model")
    cfg = load_config(get_spec("similarity").config_class,
                      os.path.join(RECIPE, "conf", "shipped.toml"))
    c = pretrained.card("similarity_cnn")
    rec = c.training.extra["config"]
    for key in ("epochs", "batch_size", "lr", "n_bits", "excerpt", "pairs_per_epoch", "seed"):
        assert getattr(cfg, key) == rec[key], key
    assert c.default and c.metrics["test"]["map_codes_rerank"] > 0


def test_version_retrieval_modes():
    sys.path.insert(0, RECIPE)
    try:
        from evaluate import version_retrieval
    finally:
        sys.path.remove(RECIPE)
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), 3)
    emb = rng.standard_normal((6, 32))[groups] + 0.8 * rng.standard_normal((18, 32))
    bits = np.packbits(emb > 0, axis=1)
    full = version_retrieval(emb, bits, list(groups), candidates=17, k=2)
    # every item a candidate: codes + rerank is the exact measure
    assert full["codes+rerank"]["map"] == full["exact"]["map"]
    assert full["fraction_scanned"] == 1.0
    one = version_retrieval(emb, bits, list(groups), candidates=1, k=2)
    assert one["codes+rerank"]["top1"] == one["codes"]["top1"]  # one candidate: Hamming's


def test_symmetric_kl_of_gaussians():
    sys.path.insert(0, RECIPE)
    try:
        from evaluate import symmetric_kl
    finally:
        sys.path.remove(RECIPE)
    a = (np.zeros(2), np.eye(2), np.eye(2))
    b = (np.array([1.0, 0.0]), 2 * np.eye(2), 0.5 * np.eye(2))
    d = symmetric_kl([a, b])
    # closed form: 0.5 * (tr(S1^-1 S2) + tr(S2^-1 S1) + dm (S1^-1 + S2^-1) dm) - d
    want = 0.5 * (4.0 + 1.0 + 1.5) - 2.0
    np.testing.assert_allclose(d, [[0.0, want], [want, 0.0]], atol=1e-12)
