"""``audiodl index build`` SIGKILLed at random points resumes to the uninterrupted index.

``--save-every 0`` saves after every file, so kills land between and during
saves; each rerun resumes from what the last complete save holds. The final
index must equal an uninterrupted build's: the same items in the same order,
each once, the same codes and embeddings, the broken input listed as failed
once, and no temporary file left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from audiodl.io import save
from audiodl.testing import run_with_kills

from .conftest import SR, make_track

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _count(d):
    try:
        return json.loads((d / "index.json").read_text())["count"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_build(tmp_path, card, n_files, kills):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n_files):
        save(src / f"t{i:02d}.wav", make_track(i, duration=2.0), SR)
    (src / "zz_broken.wav").write_bytes(b"RIFF\x00\x00not a wave file")
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "audiodl.cli.main", "index", "build", str(src), "-m", card,
           "--save-every", "0", "-o"]
    ref = tmp_path / "ref"
    proc = subprocess.run([*cmd, str(ref)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1 and "zz_broken.wav" in proc.stderr, proc.stderr[-2000:]
    out = tmp_path / "out"
    killed, rc, err = run_with_kills([*cmd, str(out)], done=lambda: _count(out), kills=kills,
                                     seed=n_files, env=env, cwd=ROOT, timeout=300)
    assert killed == kills and rc == 1, err
    assert "zz_broken.wav" in err
    print(f"index build: {killed} SIGKILLs, then completed")
    items = [json.loads(x)["path"] for x in (out / "items.jsonl").read_text().splitlines()]
    ref_items = [json.loads(x)["path"] for x in (ref / "items.jsonl").read_text().splitlines()]
    assert items == ref_items and len(set(items)) == n_files
    for name in ("codes.npy", "embeddings.npy"):
        np.testing.assert_array_equal(np.load(out / name), np.load(ref / name))
    meta = json.loads((out / "index.json").read_text())
    assert meta["count"] == n_files
    assert [f[0] for f in meta["failed"]] == [str(src / "zz_broken.wav")]
    assert sorted(os.listdir(out)) == sorted(os.listdir(ref)), "no temporary file left"
    from audiodl.index import Index
    ix = Index.load(out)
    assert ix.query(str(src / "t03.wav"), k=1)[0].path == os.path.abspath(src / "t03.wav")


def test_sigkilled_index_build_resumes_to_the_same_index(tiny_card, tmp_path):
    _kill_build(tmp_path, tiny_card, 8, 2)


@pytest.mark.slow
def test_sigkilled_index_build_many_kills(tiny_card, tmp_path):
    _kill_build(tmp_path, tiny_card, 30, 8)
