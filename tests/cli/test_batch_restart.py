"""Batch outputs: atomic, resumable, collision-free, shardable, with a failure manifest.

The kill test runs ``audiodl onsets -o DIR`` over generated files, SIGKILLs
it at random points (after a random number of finished outputs) and reruns
it until it completes; the outputs must equal an uninterrupted run's, byte
for byte, with no partial or 0-byte file left under a final name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from audiodl.cli.main import cli
from audiodl.io import save
from audiodl.io.outputs import TMP_MARK, parse_shard, select_shard
from audiodl.testing import clicks, run_with_kills

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(d, n, *, sr=22050, length=1.0):
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        times = np.sort(rng.uniform(0.05, length - 0.1, 3 + i % 4))
        p = d / f"f{i:02d}.wav"
        save(p, clicks(times, sr=sr, length=length) + 0.001 * rng.standard_normal(
            int(sr * length)), sr)
        out.append(str(p))
    return out


def _outputs(d):
    return {f: (d / f).read_bytes() for f in sorted(os.listdir(d)) if not f.startswith(".")}


def test_collisions_stop_before_any_work(tmp_path):
    """Same stem in two folders, or two extensions: a usage error, nothing written."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [a] = _files(tmp_path / "a", 1)
    os.rename(a, tmp_path / "a" / "x.wav")
    [b] = _files(tmp_path / "b", 1)
    os.rename(b, tmp_path / "b" / "x.wav")
    import soundfile as sf
    y, sr = sf.read(tmp_path / "a" / "x.wav")
    sf.write(tmp_path / "a" / "x.flac", y, sr)
    r = CliRunner()
    for pair in (["a/x.wav", "b/x.wav"], ["a/x.wav", "a/x.flac"]):
        out = tmp_path / "out"
        res = r.invoke(cli, ["onsets", "--method", "superflux",
                             *[str(tmp_path / p) for p in pair], "-o", str(out)])
        assert res.exit_code == 2, res.output
        assert "x.onsets.txt" in res.output and all(str(tmp_path / p) in res.output
                                                    for p in pair)
        assert not out.exists(), "nothing written before the clash is reported"
    # a directory input holding both is refused the same way
    res = r.invoke(cli, ["onsets", "--method", "superflux", str(tmp_path / "a"),
                         "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "x.onsets.txt" in res.output


def test_rerun_skips_finished_outputs_unless_overwrite(tmp_path):
    files = _files(tmp_path / "in", 4)
    out, acts = tmp_path / "out", tmp_path / "acts"
    args = ["onsets", "--method", "superflux", *files, "-o", str(out),
            "--save-activations", str(acts)]
    r = CliRunner()
    res = r.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(out)) == [f"f{i:02d}.onsets.txt" for i in range(4)]
    assert sorted(os.listdir(acts)) == [f"f{i:02d}.npz" for i in range(4)]
    first = _outputs(out)
    (out / "f00.onsets.txt").write_text("sentinel\n")  # a finished output is not redone
    (out / "f01.onsets.txt").unlink()  # a missing output is
    (acts / "f02.npz").unlink()  # so is an input with a missing side output
    res = r.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "2 of 4 input(s) already have their outputs" in res.stderr
    assert (out / "f00.onsets.txt").read_text() == "sentinel\n"
    now = _outputs(out)
    assert {k: v for k, v in now.items() if k != "f00.onsets.txt"} == \
        {k: v for k, v in first.items() if k != "f00.onsets.txt"}
    assert (acts / "f02.npz").exists()
    res = r.invoke(cli, [*args, "--overwrite"])
    assert res.exit_code == 0 and "skipped" not in res.stderr
    assert _outputs(out) == first


def test_failure_manifest_lists_reasons_and_clears(tmp_path):
    files = _files(tmp_path / "in", 2)
    bad = tmp_path / "in" / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00not a wave file at all")
    out = tmp_path / "out"
    r = CliRunner()
    res = r.invoke(cli, ["onsets", "--method", "superflux", *files, str(bad), "-o", str(out)])
    assert res.exit_code == 1
    doc = json.loads((out / "audiodl-failures.json").read_text())
    assert doc["inputs"] == 3 and doc["done"] == 2 and doc["failed"] == 1
    assert doc["failures"][0]["path"] == str(bad) and "broken.wav" in doc["failures"][0]["reason"]
    assert "audiodl-failures.json" in res.stderr
    bad.unlink()
    res = r.invoke(cli, ["onsets", "--method", "superflux", *files, "-o", str(out)])
    assert res.exit_code == 0 and not (out / "audiodl-failures.json").exists()


def test_shards_are_disjoint_cover_and_resume(tmp_path):
    files = _files(tmp_path / "in", 5)
    assert select_shard(files[::-1], (0, 2)) == [files[0], files[2], files[4]]
    assert parse_shard("1/3") == (1, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(Exception, match="shard"):
            parse_shard(bad)
    r = CliRunner()
    full = tmp_path / "full"
    assert r.invoke(cli, ["onsets", "--method", "superflux", *files, "-o", str(full)]
                    ).exit_code == 0
    sharded = tmp_path / "sharded"
    for i in (1, 0):
        res = r.invoke(cli, ["onsets", "--method", "superflux", str(tmp_path / "in"),
                             "-o", str(sharded), "--shard", f"{i}/2"])
        assert res.exit_code == 0, res.output
        n = len(os.listdir(sharded))
        assert n == (2 if i == 1 else 5)
    assert _outputs(sharded) == _outputs(full)
    res = r.invoke(cli, ["onsets", "--method", "superflux", str(tmp_path / "in"),
                         "-o", str(sharded), "--shard", "0/2"])
    assert res.exit_code == 0 and "3 of 3 input(s) already have" in res.stderr
    res = r.invoke(cli, ["onsets", "--method", "superflux", *files, "--shard", "2/2"])
    assert res.exit_code == 2 and "shard" in res.output
    # without -o: the shard's results on stdout
    res = r.invoke(cli, ["classify", *files, "--shard", "1/2"])
    assert res.exit_code == 0 and [ln.split("\t")[0] for ln in res.output.splitlines()] == \
        [files[1], files[3]]


def _kill_test(tmp_path, n_files, kills, method):
    _files(tmp_path / "in", n_files)
    bad = tmp_path / "in" / "zz_broken.wav"
    bad.write_bytes(b"RIFF\x00\x00not a wave file at all")
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "audiodl.cli.main", "onsets", "--method", method,
           str(tmp_path / "in")]
    ref = tmp_path / "ref"
    proc = subprocess.run([*cmd, "-o", str(ref)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    out = tmp_path / "out"
    killed, rc, err = run_with_kills(
        [*cmd, "-o", str(out)], kills=kills, seed=n_files, env=env, cwd=ROOT, timeout=300,
        done=lambda: len([f for f in os.listdir(out) if f.endswith(".onsets.txt")])
        if out.exists() else 0)
    assert killed >= 1 and rc == 1, err
    print(f"{killed} SIGKILLs, then completed")
    # the same files, the same bytes; nothing partial left
    assert _outputs(out).keys() == _outputs(ref).keys()
    for name, data in _outputs(ref).items():
        if name.endswith(".txt"):
            assert _outputs(out)[name] == data, name
    assert len([f for f in os.listdir(out) if f.endswith(".onsets.txt")]) == n_files
    assert not [f for f in os.listdir(out) if TMP_MARK in f], os.listdir(out)
    failed = json.loads((out / "audiodl-failures.json").read_text())["failures"]
    assert [f["path"] for f in failed] == [str(bad)]


def test_sigkilled_batch_resumes_to_identical_outputs(tmp_path):
    _kill_test(tmp_path, 20, 3, "superflux")


@pytest.mark.slow
def test_sigkilled_batch_resumes_to_identical_outputs_cnn_many_kills(tmp_path):
    _kill_test(tmp_path, 40, 10, "cnn")


def test_features_follows_the_same_rules(tmp_path):
    files = _files(tmp_path / "in", 3)
    out = tmp_path / "feats"
    r = CliRunner()
    res = r.invoke(cli, ["features", *files, "-o", str(out), "--shard", "1/3"])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(out)) == ["f01.npy"]
    res = r.invoke(cli, ["features", *files, "-o", str(out)])
    assert res.exit_code == 0 and "1 of 3 input(s) already have" in res.stderr
    assert sorted(os.listdir(out)) == ["f00.npy", "f01.npy", "f02.npy"]
    assert np.load(out / "f01.npy").dtype == np.float32
