"""Smoke run of the onset recipe's stages on its CI config (slow: renders, trains, evaluates)."""

import hashlib
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.slow
def test_recipe_ci_end_to_end_never_ships(tmp_path):
    try:
        from audiodl.data.synth.engines import check_fluidsynth
        check_fluidsynth()
    except Exception as exc:  # engine or soundfont missing
        pytest.skip(f"FluidSynth unavailable: {exc}")
    from audiodl import pretrained
    shipped = {p: _digest(p) for p in pretrained.WEIGHTS_DIR.iterdir()}
    env = dict(os.environ, CONFIG="recipes/onsets/conf/ci.toml", FOLDS="0",
               AUDIODL_DATA=str(tmp_path), AUDIODL_CACHE=str(tmp_path / "cache"),
               OMP_NUM_THREADS="1")
    subprocess.run(["bash", os.path.join(ROOT, "recipes", "onsets", "run.sh")], check=True,
                   cwd=ROOT, env=env)
    card_path = tmp_path / "runs" / "onsets" / "onsets_cnn_ci-fold0-seed0" / "onsets_cnn_ci.json"
    card = pretrained.card(str(card_path))
    assert card.task == "onsets" and card.decoder.offline["threshold"] > 0
    assert card.training.extra["smoke"] is True
    # the recipe never touches the installed package's shipped models
    assert {p: _digest(p) for p in pretrained.WEIGHTS_DIR.iterdir()} == shipped
