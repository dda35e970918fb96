"""``audiodl train TASK`` under ``torchrun --nproc_per_node 2`` (DDP, gloo) for every spec.

Each trainable task runs its CI config (tiny generated corpus, 2 short
epochs) in 2 processes and must write the run record: ``run.json`` (resolved
config, versions, hardware, world size 2), ``log.jsonl`` (one line per
epoch), ``metrics.json`` and the card. One task runs in the default suite
(``similarity``: its corpus is plain numpy, no synthesis engine); the others
are ``slow``. The 1-vs-2-process trajectory check is
``test_train_cli.test_torchrun_two_processes_match_one``.
"""

from __future__ import annotations

import json
import os

import pytest

from .conftest import ROOT, ci_corpus, run_cli

torch = pytest.importorskip("torch")

CONF = {
    "onsets": "recipes/onsets/conf/ci.toml",
    "musicspeech-classify": "recipes/music_speech/conf/classify_ci.toml",
    "musicspeech-detect": "recipes/music_speech/conf/detect_ci.toml",
    "singing": "recipes/singing/conf/ci.toml",
    "structure": "recipes/structure/conf/ci.toml",
    "similarity": "recipes/similarity/conf/ci.toml",
    "asr": "recipes/asr/conf/ci.toml",
}


def _synth(root, task, name, hours, seed):
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import generate_corpus, task_module
    out = root / "ci" / name
    if not (out / "manifest.jsonl").exists():
        try:
            task_module(task).check()
        except EngineUnavailable as exc:
            pytest.skip(f"{task} synthesis engines missing: {exc}")
        generate_corpus(task, out, hours=hours, seed=seed, jobs=1)


def _corpus(root, task):
    """The corpus the task's CI config names, under ``root/ci/``."""
    if task == "onsets":
        ci_corpus(root, "onsets")
    elif task.startswith("musicspeech"):
        ci_corpus(root, "musicspeech")
    elif task == "singing":
        _synth(root, "singing", "singing", 0.015, 4)
    elif task == "structure":
        _synth(root, "structure", "structure", 0.1, 0)
    elif task == "asr":
        _synth(root, "speech", "speech", 0.01, 1)
    elif task == "similarity" and not (root / "ci" / "similarity").exists():
        from tests.similarity.test_training import _corpus as similarity_corpus
        similarity_corpus(root)


SLOW = pytest.mark.slow
TASKS = [pytest.param(t, marks=() if t == "similarity" else SLOW) for t in CONF]


def test_every_trainable_task_is_covered():
    from audiodl.training.specs import names
    assert sorted(CONF) == names()


@pytest.mark.parametrize("task", TASKS)
def test_train_task_under_torchrun_two_processes(task, ci_root, tmp_path):
    _corpus(ci_root, task)
    out = tmp_path / "run"
    proc, seconds = run_cli(["train", task, "--config", os.path.join(ROOT, CONF[task]),
                             "--out", str(out), "--set", "patience=5", "--set", "grad_clip=5",
                             "--set", "amp=true"],
                            ci_root, torchrun=2, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"{task}: torchrun 2 processes, {seconds:.1f} s")
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2 and run["config"]["grad_clip"] == 5 and run["config"]["amp"]
    assert {"audiodl", "python", "torch", "numpy"} <= set(run["versions"])
    hw = run["hardware"]
    assert hw["processes"] == 2 and hw["backend"] == "gloo" and hw["cpus"] >= 1
    assert isinstance(hw["gpus"], list)
    epochs = [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert epochs == list(range(run["config"]["epochs"]))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == task and metrics["best_epoch"] in epochs
    assert (out / metrics["card"]).exists() and (out / "best.pt").exists()
    assert not list(out.glob("*.tmp"))
