"""``audiodl train structure`` with the CI config on a tiny generated corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = os.path.join(ROOT, "recipes", "structure", "conf", "ci.toml")


@pytest.fixture(scope="module")
def ci_root(tmp_path_factory):
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import generate_corpus, task_module
    try:
        task_module("structure").check()
    except EngineUnavailable as exc:
        pytest.skip(f"structure synth engines missing: {exc}")
    root = tmp_path_factory.mktemp("structure_data")
    generate_corpus("structure", root / "ci" / "structure", hours=0.1, seed=0, jobs=1)
    return root


def test_train_ci_card_decodes_and_is_never_shipped(ci_root, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", AUDIODL_CACHE=str(ci_root / "cache"),
               AUDIODL_DATA=str(ci_root))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "train", "structure",
                           "--config", CI, "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    card_path = out / "structure_cnn_ci.json"
    card = json.loads(card_path.read_text())
    assert card["task"] == "structure" and card["layout"] == "same"
    assert card["training"]["smoke"] is True and card["training"]["seed"] == 0
    dec = card["decoder"]["offline"]
    assert {"threshold", "pre_max", "label_threshold"} <= set(dec)
    assert "validation" in card["decoder"]["tuned_on"]
    assert 0.0 <= card["metrics"]["valid_segment"]["hr3_f"] <= 1.0

    from audiodl.tasks.structure import StructurePipeline
    pipe = StructurePipeline.from_pretrained(str(card_path))
    assert pipe.default_params.threshold == dec["threshold"]
    item = json.loads((ci_root / "ci" / "structure" / "manifest.jsonl").read_text()
                      .splitlines()[0])
    seg = pipe(str(ci_root / "ci" / "structure" / item["audio"]))
    assert seg.intervals[0, 0] == 0.0
    assert seg.intervals[-1, 1] == pytest.approx(item["duration"], abs=0.05)
    assert np.all(np.diff(seg.intervals[:, 0]) > 0)

    ship = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "ship", str(card_path)],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert ship.returncode != 0 and "smoke" in (ship.stderr + ship.stdout).lower()
