"""``audiodl synth`` killed with SIGKILL at random points, then rerun: the same corpus, no orphans."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import audiodl
from audiodl.data.synth.engines import EngineUnavailable
from audiodl.data.synth.runner import generate_corpus, task_module

ROOT = Path(audiodl.__file__).resolve().parent.parent
TASK, SEED = "speech", 5


def _need_engine():
    try:
        task_module(TASK).check()
    except EngineUnavailable as exc:
        pytest.skip(f"speech engine missing: {exc}")


def _children(pid: int) -> set:
    """Pids of the live descendants of ``pid`` (from /proc)."""
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in parents.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _snapshot(d: Path) -> dict:
    """Every file of a corpus with its bytes (corpus.json without the run's timing)."""
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "corpus.json":
                info = json.loads(data)
                info.pop("last_run")
                data = json.dumps(info, sort_keys=True).encode()
            out[p.relative_to(d).as_posix()] = data
    return out


def _synth_cmd(out, hours):
    return [sys.executable, "-m", "audiodl.cli.main", "synth", TASK, "-o", str(out),
            "--hours", str(hours), "--seed", str(SEED), "-j", "2"]


def _kill_and_rerun(tmp_path, hours, kills, rng):
    _need_engine()
    ref = tmp_path / "ref"
    generate_corpus(TASK, ref, hours=hours, seed=SEED, jobs=1)
    cut = tmp_path / "cut"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    n_killed = 0
    for _ in range(kills):
        proc = subprocess.Popen(_synth_cmd(cut, hours), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        # kill at a random point once the workers run (or let a short run end by itself)
        seen, t_workers = set(), time.time() + 120
        while proc.poll() is None and time.time() < t_workers:
            seen |= _children(proc.pid)
            if len(seen) >= 3:  # two workers and the resource tracker
                break
            time.sleep(0.05)
        deadline = time.time() + rng.uniform(0.0, 3.0)
        while time.time() < deadline and proc.poll() is None:
            seen |= _children(proc.pid)
            time.sleep(0.05)
        seen |= _children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            t_kill = time.time()
            n_killed += 1
            t_end = time.time() + 5  # workers poll their parent every 0.2 s
            while time.time() < t_end and any(_alive(p) for p in seen):
                time.sleep(0.1)
            assert not [p for p in seen if _alive(p)], "workers outlived their killed parent"
            late = [p for p in cut.rglob("*") if p.is_file() and p.stat().st_mtime > t_kill + 0.5]
            assert not late, f"files written after the parent died: {late}"
        _, err = proc.communicate(timeout=60)
        assert b"BrokenPipe" not in err and b"Traceback" not in err, err.decode()[-2000:]
    done = subprocess.run(_synth_cmd(cut, hours), env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"Traceback" not in done.stderr
    a, b = _snapshot(ref), _snapshot(cut)
    assert sorted(a) == sorted(b)  # nothing lost, nothing extra (no stale temporary files)
    for name in a:
        assert a[name] == b[name], name
    assert all(len(v) > 0 for v in b.values())
    return n_killed


def test_synth_killed_once_then_rerun_is_identical(tmp_path):
    assert _kill_and_rerun(tmp_path, 0.002, 1, random.Random(1)) == 1


@pytest.mark.slow
def test_synth_killed_many_times_then_rerun_is_identical(tmp_path):
    assert _kill_and_rerun(tmp_path, 0.01, 6, random.Random(7)) >= 4
