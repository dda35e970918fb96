"""recipes/onsets/ensemble.py: member cards -> one bagged card that runs wherever a card runs."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _recipe(name):
    path = os.path.join(ROOT, "recipes", "onsets", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"onsets_recipe_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def member_cards(tmp_path_factory):
    from audiodl.features.config import preset
    from audiodl.models.onsets import OnsetCNNBN
    from audiodl.pretrained import build_card, save
    d = tmp_path_factory.mktemp("members")
    cards = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        m = OnsetCNNBN()
        m.set_normalization(np.full((3, 80), -3.0 + seed), np.full((3, 80), 2.0))
        card = build_card(name="onsets_cnn", task="onsets", arch="onset_cnn_bn", args={},
                          frontend=preset("onset_cnn"), labels=["onset"], layout="valid",
                          decoder={"offline": {"threshold": 0.5}},
                          training={"data": {}, "command": "x", "seed": seed, "seconds": 2.0},
                          metrics={"test": {"f": 1.0}})
        cards.append(str(save(m.eval(), card, d / f"m{seed}")))
    return cards


def test_ensemble_card_runs_in_the_pipeline_the_cli_and_onnx(member_cards, tmp_path,
                                                             monkeypatch):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    from audiodl.tasks.onsets import OnsetPipeline
    from audiodl.testing import piano_like
    # one front end for every call (the numba kernels), whatever ran before in the process:
    # see test_pipeline_chunking_and_streaming_equal_offline
    monkeypatch.setenv("AUDIODL_FRONTEND", "numba")
    mod = _recipe("ensemble")
    path = mod.build(member_cards, tmp_path / "bag")
    pipe = OnsetPipeline.from_pretrained(str(path), backend="torch")
    c = pipe.card
    assert c.arch == "onset_cnn_ensemble" and c.training.seconds == 4.0
    assert [m["seed"] for m in c.training.extra["members"]] == [0, 1]
    assert c.metrics == {} and c.decoder.offline["threshold"] == 0.5  # no member test scores
    y = 0.5 * piano_like([0.3, 0.7, 1.1], sr=44100)
    acts = [OnsetPipeline.from_pretrained(p, backend="torch").activations(y, 44100).values
            for p in member_cards]
    ens = pipe.activations(y, 44100).values
    np.testing.assert_allclose(ens, (acts[0] + acts[1]) / 2, atol=1e-6)
    assert np.abs(acts[0] - acts[1]).max() > 1e-3
    det = pipe.online()  # the streaming detector runs the bag as any card
    for i in range(0, len(y), 4410):
        det.process(y[i:i + 4410])
    det.process(np.zeros(0, np.float32), last=True)
    assert det.all_activations().values.shape == ens.shape
    wav = tmp_path / "y.wav"
    import soundfile as sf
    sf.write(wav, y, 44100)
    r = CliRunner().invoke(cli, ["onsets", "--model", str(path), str(wav)])
    assert r.exit_code == 0, r.output
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from audiodl.pretrained import onnx as ox
    onnx_path = ox.export(str(path))  # next to the card: the auto backend picks it up
    assert ox.check_export(str(path), onnx_path) < 1e-4
    auto = OnsetPipeline.from_pretrained(str(path))
    assert auto.backend.name == "onnx"
    np.testing.assert_allclose(auto.activations(y, 44100).values, ens, atol=1e-4)
    r = CliRunner().invoke(cli, ["onsets", "--model", str(path), str(wav)])
    assert r.exit_code == 0, r.output
    with pytest.raises(Exception, match="at least two"):
        mod.build(member_cards[:1], tmp_path / "one")
