"""The structure recipe configs load with the structure spec and reproduce the shipped card."""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF = os.path.join(ROOT, "recipes", "structure", "conf")


@pytest.mark.parametrize("name", ["ci.toml", "default.toml", "shipped.toml", "longctx.toml"])
def test_structure_configs_load(name):
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    cfg = load_config(get_spec("structure").config_class, os.path.join(CONF, name))
    assert cfg.smoke == (name == "ci.toml")


def test_shipped_config_reproduces_card():
    from audiodl import pretrained
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    spec = get_spec("structure")
    cfg = load_config(spec.config_class, os.path.join(CONF, "shipped.toml"))
    card = pretrained.card("structure_cnn")
    assert (spec.task, cfg.arch, cfg.name) == (card.task, card.arch, card.name)
    assert cfg.seed == card.training.seed
    recorded = card.training.extra["config"]
    for key in ("epochs", "batch_size", "lr", "max_steps_per_epoch", "window", "sigma",
                "arch_args", "manifests", "valid_manifests"):
        assert getattr(cfg, key) == recorded[key], key
