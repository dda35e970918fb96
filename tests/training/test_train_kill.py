"""``audiodl train`` SIGKILLed at random points and rerun ends where an uninterrupted run does.

Checkpoints (``last.pt``, ``best.pt``) are replaced atomically and
``log.jsonl`` is rewritten from the checkpointed history, so a kill at any
point loses at most the epoch in progress; rerunning the same command resumes
from ``last.pt`` with the optimiser, early-stopping and random-generator
states, and the final weights equal those of a run that was never killed.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from audiodl.testing import run_with_kills

from .conftest import CONF, ROOT, run_cli, train_env

torch = pytest.importorskip("torch")

SETS = ["--set", "epochs=4", "--set", "max_steps_per_epoch=3", "--set", "tune=false"]


def _epochs(out):
    try:
        return len((out / "log.jsonl").read_text().splitlines())
    except OSError:
        return 0


def _kill_train(onsets_root, tmp_path, kills, sets=SETS):
    args = ["train", "onsets", "--config", CONF["onsets"], *sets]
    ref = tmp_path / "ref"
    proc, _ = run_cli([*args, "--out", str(ref)], onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "audiodl.cli.main", *args, "--out", str(out)]
    env = dict(train_env(onsets_root),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    killed, rc, err = run_with_kills(cmd, done=lambda: _epochs(out), kills=kills, seed=kills,
                                     env=env, cwd=ROOT, timeout=600)
    assert rc == 0 and killed >= 1, err[-3000:]
    print(f"train: {killed} SIGKILLs, then completed")
    a = torch.load(ref / "last.pt", weights_only=False)
    b = torch.load(out / "last.pt", weights_only=False)
    assert a["epoch"] == b["epoch"]
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    best_a = torch.load(ref / "best.pt", weights_only=True)
    best_b = torch.load(out / "best.pt", weights_only=True)
    assert all(torch.equal(v, best_b[k]) for k, v in best_a.items())
    log_a = [json.loads(x) for x in (ref / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log_b] == [r["epoch"] for r in log_a], "no epoch lost or twice"
    assert [r["train_loss"] for r in log_b] == [r["train_loss"] for r in log_a]
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == \
        json.loads((ref / "metrics.json").read_text())["best_epoch"]
    assert not list(out.glob("*.tmp")), "no temporary checkpoint left"


def test_sigkilled_training_resumes_exactly(onsets_root, tmp_path):
    _kill_train(onsets_root, tmp_path, 1)


@pytest.mark.slow
def test_sigkilled_training_resumes_exactly_many_kills(onsets_root, tmp_path):
    _kill_train(onsets_root, tmp_path, 4, sets=["--set", "epochs=8", "--set",
                                                "max_steps_per_epoch=3", "--set", "tune=false",
                                                "--set", "patience=3"])


@pytest.mark.slow
def test_ddp_resume_is_exact(onsets_root, tmp_path):
    """2 DDP processes stopped after epoch 1 and re-run end bit-identical to a straight run.

    Every rank's random generators are checkpointed (dropout masks differ per
    rank), so the resumed ranks continue their own streams.
    """
    # a constant rate: the cosine schedule depends on ``epochs``, which the re-run raises
    args = ["train", "onsets", "--config", CONF["onsets"], "--set", "max_steps_per_epoch=3",
            "--set", "tune=false", "--set", "lr_schedule=constant"]
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    proc, _ = run_cli([*args, "--set", "epochs=3", "--out", str(straight)], onsets_root,
                      torchrun=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc, _ = run_cli([*args, "--set", "epochs=2", "--out", str(cut)], onsets_root, torchrun=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc, _ = run_cli([*args, "--set", "epochs=3", "--out", str(cut)], onsets_root, torchrun=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(cut / "last.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 2 and len(b["rng_ranks"]) == 2
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
