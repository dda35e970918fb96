"""Smoke run of the onset recipe on its CI config (slow: renders a tiny corpus, trains 3 folds)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_recipe_ci_end_to_end(tmp_path):
    try:
        from audiodl.data.synth.engines import check_fluidsynth
        check_fluidsynth()
    except Exception as exc:  # engine or soundfont missing
        pytest.skip(f"FluidSynth unavailable: {exc}")
    recipe = os.path.join(ROOT, "recipes", "onsets", "recipe.py")
    conf = os.path.join(ROOT, "recipes", "onsets", "conf", "ci.toml")
    sets = ["--set", f"corpus={tmp_path}/corpus/manifest.jsonl",
            "--set", f"corpus_fallback={tmp_path}/corpus", "--set", f"work={tmp_path}/work"]
    subprocess.run([sys.executable, recipe, "all", "--config", conf, *sets,
                    "--ship-dir", str(tmp_path / "ship")], check=True, cwd=ROOT,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    card = json.loads((tmp_path / "ship" / "onsets_cnn.json").read_text())
    assert card["task"] == "onsets" and card["decoder"]["offline"]["threshold"] > 0
    from audiodl.tasks.onsets import OnsetPipeline
    pipe = OnsetPipeline.from_pretrained(str(tmp_path / "ship" / "onsets_cnn.json"))
    assert pipe.peak_params.threshold == card["decoder"]["offline"]["threshold"]
