"""Helpers of recipes/structure that the README's figures come from."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _recipe(name):
    path = os.path.join(ROOT, "recipes", "structure", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"structure_recipe_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_repeat_lengths_are_the_first_section_of_each_direct_repeat(tmp_path):
    mod = _recipe("section_lengths")
    lab = tmp_path / "s.lab"
    # A A B B B A: repeats A|A (first A 10 s), B|B (8 s), B|B (9 s); B|A and A|B are changes
    lab.write_text("0\t10\tA\n10\t22\tA\n22\t30\tB\n30\t39\tB\n39\t45\tB\n45\t60\tA\n")
    item = {"id": "x", "annotations": {"sections": str(lab)}}
    np.testing.assert_allclose(mod.repeat_lengths([item]), [10.0, 8.0, 9.0])
    one = tmp_path / "one.lab"
    one.write_text("0\t30\tA\n30\t60\tB\n")
    assert len(mod.repeat_lengths([{"id": "y", "annotations": {"sections": str(one)}}])) == 0


def test_repeat_cues_classes_boundaries_from_the_score():
    """repeat_cues.py: changes, repeats with a crash on their first beat, repeats without a cue;
    the varied generator's sections are whole progressions (4 or 8 bars), so every repeat is
    seamless, and the score is found again from the manifest's id, seed, tempo and form."""
    from audiodl.data.synth.compose import DRUM_KEYS, compose
    from audiodl.data.synth.runner import item_rng
    from audiodl.data.synth.structure_varied import random_form

    mod = _recipe("repeat_cues")
    rng = np.random.default_rng(3)
    score = compose(rng, form=["A", "A", "B", "A", "A"], tempo=120.0, drums=True)
    kinds = mod.boundary_classes(score)
    assert [k for _, k, _, _ in kinds][1:3] == ["change", "change"]
    starts = [s.start for s in score.sections]
    drum = next(i for i, p in enumerate(score.parts) if p.is_drum)
    crash = {n.start for n in score.notes if n.part == drum and n.pitch in DRUM_KEYS["crash"]}
    for (beat, kind, bars, seamless), k in zip(kinds, (1, 2, 3, 4)):
        assert beat == starts[k] and bars in (4, 8) and seamless
        if k in (1, 4):  # A | A
            assert kind == ("repeat+crash" if beat in crash else "repeat-nocue")
    # a manifest item of the varied generator (seed 5, index 2) is composed again
    r = item_rng(5, 2, salt=47)
    tempo = float(r.uniform(60, 180))
    form = random_form(r)
    item = {"id": "sv000002", "meta": {"generator": "structure_varied", "tempo": tempo, "form": form}}
    again = mod.score_of(item, 5)
    assert again is not None and [s.label for s in again.sections] == form
    assert mod.score_of(dict(item, meta=dict(item["meta"], tempo=tempo + 1.0)), 5) is None


def test_ensemble_card_runs_in_the_pipeline_and_exports(tmp_path):
    """ensemble.py: two member cards -> one card whose activations are the members' mean,
    in the pipeline (torch) and through the ONNX export."""
    import pytest
    import torch

    from audiodl.features.config import preset
    from audiodl.models.structure import BoundaryCNN
    from audiodl.pretrained import build_card, save
    from audiodl.tasks.structure import StructurePipeline
    mod = _recipe("ensemble")
    args = {"channels": 2, "hidden": 4, "dilations": [1, 2, 4], "sslm_lags": 8,
            "sslm_conv": 2, "sslm_lag_pool": 2}
    cards = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        card = build_card(name="structure_cnn", task="structure", arch="boundary_cnn",
                          args=args, frontend=preset("boundaries"), labels=["boundary"],
                          layout="same", decoder={"offline": {"threshold": 0.3}},
                          training={"data": {}, "command": "x", "seed": seed, "seconds": 2.0})
        cards.append(str(save(BoundaryCNN(**args).eval(), card, tmp_path / f"m{seed}")))
    path = mod.build(cards, tmp_path / "ens")
    pipe = StructurePipeline.from_pretrained(str(path), backend="torch")
    assert pipe.card.arch == "boundary_cnn_ensemble" and pipe.card.training.seconds == 4.0
    assert [m["seed"] for m in pipe.card.training.extra["members"]] == [0, 1]
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(22050 * 40)).astype(np.float32)
    acts = [StructurePipeline.from_pretrained(c, backend="torch").activations(y, 22050)
            for c in cards]
    ens = pipe.activations(y, 22050)
    np.testing.assert_allclose(ens.values, (acts[0].values + acts[1].values) / 2, atol=1e-5)
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from audiodl.pretrained import onnx as ox
    onnx_path = ox.export(str(path), str(tmp_path / "ens.onnx"))
    assert ox.check_export(str(path), onnx_path) < 1e-4
    with pytest.raises(Exception, match="at least two"):
        mod.build(cards[:1], tmp_path / "one")
