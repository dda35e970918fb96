"""recipes/singing/context_head.py: a context head trained over a frozen singing CNN."""

import importlib.util
import json
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location(
        "svd_context_head", os.path.join(ROOT, "recipes", "singing", "context_head.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_head_learns_what_the_cnn_misses():
    """Columns whose logit is uninformative but whose context says "singing": the trained
    head's loss falls well below the untrained head's (which is the CNN's)."""
    import torch

    from audiodl.models.singing import SchlueterSVDContext
    mod = _module()
    model = SchlueterSVDContext(base_args={"conv": [4, 4, 8, 4], "dense": [8, 4]},
                                channels=4, levels=3)
    rng = np.random.default_rng(0)
    data = []
    for _ in range(8):
        y = np.repeat(rng.integers(0, 2, 20), 40).astype(np.float32)  # 0.57 s blocks
        cols = rng.standard_normal((5, len(y) + 2 * model.reach)).astype(np.float32)
        cols[0] = 0.0  # the CNN says 0.5 everywhere
        cols[1, model.reach:model.reach + len(y)] += 2.0 * y  # a hidden unit knows
        data.append((cols, y, "vocal"))

    def loss():
        with torch.no_grad():
            out = [torch.nn.functional.binary_cross_entropy_with_logits(
                model.head(torch.from_numpy(c[None]))[0, :, 0], torch.from_numpy(y)).item()
                for c, y, _ in data]
        return float(np.mean(out))
    before = loss()
    assert before == pytest.approx(np.log(2), abs=1e-6)
    cfg = dict(mod.DEFAULTS, steps=150, crop=200, batch_size=4, lr=0.02, dropout=0.0)
    mod.train_head(model, data, cfg, log=lambda m: None)
    assert loss() < 0.6 * before
    assert not any(p.requires_grad for p in model.base.parameters())  # the CNN stays frozen


def test_recipe_writes_a_loadable_card_and_reuses_columns(tiny_card, clips, tmp_path,
                                                           monkeypatch):
    import soundfile as sf

    from audiodl import pretrained
    from audiodl.data.manifest import write_segments
    mod = _module()
    rows = []
    for name in ("vocal", "instrumental"):
        audio, sung = clips[name]
        lab = tmp_path / f"{name}.lab"
        write_segments(lab, [(a, b, "sing") for a, b in sung])
        info = sf.info(audio)
        rows.append({"id": name, "audio": audio, "duration": info.duration,
                     "sr": info.samplerate, "split": "train",
                     "annotations": {"vocals": str(lab)}, "meta": {"kind": name}})
    man = tmp_path / "manifest.jsonl"
    man.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "head.toml"
    cfg.write_text(f'name = "svd_tiny_ctx"\nbase = "{tiny_card}"\nmanifests = ["{man}"]\n'
                   f'levels = 2\nchannels = 4\nsteps = 3\ncrop = 100\nbatch_size = 2\n')
    out = tmp_path / "run"
    assert mod.main(["--config", str(cfg), "-o", str(out)]) == 0
    model, card = pretrained.load(str(out / "svd_tiny_ctx.json"))
    assert card.arch == "svd_schlueter_ctx" and card.training.seed == 0
    assert card.training.extra["base"]["sha256"] == pretrained.card(str(tiny_card)).sha256
    assert model.receptive_field == 115 + 2 * 3
    cached = sorted(os.listdir(out / "columns"))
    assert len(cached) == 2
    calls = []
    monkeypatch.setattr(np, "savez", lambda *a, **k: calls.append(a))
    assert mod.main(["--config", str(cfg), "-o", str(out), "--overwrite"]) == 0
    assert calls == []  # the second run read every column from the cache


def test_committed_head_config_reads():
    """recipes/singing/head/round21.toml: every key known, the corpora named."""
    mod = _module()
    cfg = mod.read_config(os.path.join(ROOT, "recipes", "singing", "head", "round21.toml"), {})
    assert cfg["name"] == "singing_cnn_round21" and cfg["levels"] == 8
    assert len(cfg["manifests"]) == 4
    with pytest.raises(SystemExit, match="unknown config keys"):
        mod.read_config(None, {"epochs": 3})
