"""Tiny generated corpora (one per test session) and a runner for ``audiodl train``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF = {"onsets": os.path.join(ROOT, "recipes", "onsets", "conf", "ci.toml"),
        "musicspeech-detect": os.path.join(ROOT, "recipes", "music_speech", "conf",
                                           "detect_ci.toml"),
        "musicspeech-classify": os.path.join(ROOT, "recipes", "music_speech", "conf",
                                             "classify_ci.toml")}
#: (synth task, hours, seed) of the corpora the CI configs name, under DATA_ROOT/ci/
CORPORA = {"onsets": ("onsets", 0.02, 1), "musicspeech": ("musicspeech", 0.02, 1)}


def _require(task):
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import task_module
    try:
        task_module(task).check()
    except EngineUnavailable as exc:
        pytest.skip(f"{task} engines missing: {exc}")


@pytest.fixture(scope="session")
def ci_root(tmp_path_factory):
    """A data root holding ``ci/<task>`` corpora (generated on first use) and a feature cache."""
    return tmp_path_factory.mktemp("audiodl_data")


def ci_corpus(root, name):
    """``root/ci/<name>/manifest.jsonl``, generated with the synth engines if absent."""
    from audiodl.data.synth.runner import generate_corpus
    task, hours, seed = CORPORA[name]
    out = root / "ci" / name
    if not (out / "manifest.jsonl").exists():
        _require(task)
        generate_corpus(task, out, hours=hours, seed=seed, jobs=1)
    return out / "manifest.jsonl"


@pytest.fixture(scope="session")
def onsets_root(ci_root):
    ci_corpus(ci_root, "onsets")
    return ci_root


@pytest.fixture(scope="session")
def musicspeech_root(ci_root):
    ci_corpus(ci_root, "musicspeech")
    return ci_root


def train_env(root) -> dict:
    """One thread per process, the feature cache inside the session's data root."""
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                AUDIODL_CACHE=str(root / "cache"), AUDIODL_DATA=str(root))


def run_cli(args, root, *, torchrun: int = 0, timeout: float = 300):
    """Run ``audiodl ARGS`` (or under ``torchrun --nproc_per_node N``); returns (proc, seconds)."""
    if torchrun:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={torchrun}",
               f"--master_port={port}", "-m", "audiodl.cli.main", *args]
    else:
        cmd = [sys.executable, "-m", "audiodl.cli.main", *args]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=train_env(root), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    return proc, time.perf_counter() - t
