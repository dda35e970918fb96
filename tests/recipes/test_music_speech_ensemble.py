"""recipes/music_speech/ensemble.py: trained detectors (seeds) -> one card, mean probabilities."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _recipe(name):
    path = os.path.join(ROOT, "recipes", "music_speech", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"music_speech_recipe_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tcn_ensemble_is_the_mean_of_its_members():
    from audiodl.models.musicspeech import MusicSpeechTCN, MusicSpeechTCNEnsemble
    from audiodl.models.registry import build
    args = {"channels": (2, 4), "tcn_channels": 6, "dilations": (1, 2)}
    members = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        m = MusicSpeechTCN(**args)
        m.norm.set_stats(torch.randn(40), 1.0 + torch.rand(40))  # each its own statistics
        members.append(m.eval())
    ens = MusicSpeechTCNEnsemble.from_members(members, args)
    x = torch.randn(2, 101, 40)
    with torch.no_grad():
        want = torch.stack([torch.sigmoid(m(x)) for m in members]).mean(0)
        got = torch.sigmoid(ens(x))
    assert got.shape == want.shape == (2, 51, 2)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert (ens.receptive_field, ens.time_stride) == (members[0].receptive_field, 2)
    built = build("musicspeech_tcn_ensemble", {"members": 3, "member_args": args})
    assert set(built.state_dict()) == set(ens.state_dict())
    with pytest.raises(ValueError, match="members"):
        MusicSpeechTCNEnsemble(members=0)


def test_ensemble_of_runs_runs_in_the_detector_and_onnx(tmp_path, monkeypatch):
    """Two runs of the shipped detector's card (the second with perturbed weights) -> a card
    whose activations are the members' mean, in torch and in ONNX Runtime."""
    from audiodl import pretrained
    from audiodl.tasks.musicspeech import MusicSpeechDetector
    from audiodl.testing import piano_like
    monkeypatch.setenv("AUDIODL_FRONTEND", "numba")
    model, card = pretrained.load("musicspeech_tcn")
    runs = []
    for seed in (0, 1):
        if seed:
            torch.manual_seed(seed)
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(0.05 * torch.randn_like(p))
        from audiodl.pretrained.card import TrainingInfo
        c = card.replace(training=TrainingInfo.from_dict(dict(card.training.to_dict(), seed=seed)),
                         default=False)
        d = tmp_path / f"seed{seed}"
        pretrained.save(model.eval(), c, d)
        (d / "run.json").write_text(json.dumps({"name": c.name}))
        runs.append(str(d))
    mod = _recipe("ensemble")
    path = mod.build(runs, str(tmp_path / "ens"))
    pipe = MusicSpeechDetector.from_pretrained(str(path), backend="torch")
    c = pipe.card
    assert c.arch == "musicspeech_tcn_ensemble" and c.metrics == {}
    assert [m["seed"] for m in c.training.extra["members"]] == [0, 1]
    y = 0.3 * piano_like([0.3, 0.9, 1.5, 2.2], sr=22050)
    acts = [MusicSpeechDetector.from_pretrained(os.path.join(r, f"{card.name}.json"),
                                                backend="torch").activations(y, 22050).values
            for r in runs]
    ens = pipe.activations(y, 22050).values
    assert np.abs(acts[0] - acts[1]).max() > 1e-3
    np.testing.assert_allclose(ens, (acts[0] + acts[1]) / 2, atol=1e-5)
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from audiodl.pretrained import onnx as ox
    onnx_path = ox.export(str(path))
    assert ox.check_export(str(path), onnx_path) < 1e-4
    auto = MusicSpeechDetector.from_pretrained(str(path))
    assert auto.backend.name == "onnx"
    np.testing.assert_allclose(auto.activations(y, 22050).values, ens, atol=1e-4)
    with pytest.raises(Exception, match="at least two"):
        mod.build(runs[:1], str(tmp_path / "one"))
