"""``audiodl batch`` on a local Ray cluster: a killed worker loses and duplicates nothing.

The default-suite test starts a local cluster of 2 workers (``num_cpus=2``),
runs SuperFlux onsets over 12 one-second files in batches of 2, and one
worker process exits (``os._exit``) while it holds a batch, once: Ray
restarts the actor and retries the batch. Every output must then exist
exactly once and equal a serial run of ``audiodl onsets``, byte for byte.
Measured on the shared 2-core machine: about 35 s (cluster start ~12 s).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from audiodl.cli.main import cli
from audiodl.io import save
from audiodl.io.outputs import TMP_MARK
from audiodl.testing import clicks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(d, n):
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        save(d / f"f{i:02d}.wav", clicks(np.sort(rng.uniform(0.05, 0.9, 3 + i % 4)), sr=22050,
                                          length=1.0), 22050)
    return sorted(str(p) for p in d.glob("*.wav"))


def _outputs(d):
    return {f: (d / f).read_bytes() for f in sorted(os.listdir(d))}


def test_batch_is_listed_and_ray_is_not_imported_by_audiodl():
    out = CliRunner().invoke(cli, ["batch", "--help"])
    assert out.exit_code == 0 and "--ray" in out.output and "--shard" in out.output
    code = "import audiodl, audiodl.distributed, sys; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_file_lists_are_relative_to_their_folder(tmp_path):
    from audiodl.distributed import read_file_list
    files = _files(tmp_path / "in", 3)
    (tmp_path / "in" / "list.txt").write_text("# a comment\nf02.wav\n\nf00.wav\n")
    assert read_file_list([tmp_path / "in" / "list.txt"]) == [files[2], files[0]]
    assert read_file_list([tmp_path / "in"]) == files


def test_local_cluster_survives_a_killed_worker(tmp_path):
    pytest.importorskip("ray.data")
    from audiodl.distributed import run_batch
    files = _files(tmp_path / "in", 12)
    bad = tmp_path / "in" / "zz_broken.wav"
    bad.write_bytes(b"RIFF\x00\x00not a wave file")
    serial = tmp_path / "serial"
    res = CliRunner().invoke(cli, ["onsets", "--method", "superflux", *files, "-o", str(serial)])
    assert res.exit_code == 0, res.output
    out, marker = tmp_path / "out", tmp_path / "killed.pid"
    report = run_batch("onsets", [tmp_path / "in"], out, method="superflux", num_workers=2,
                       num_cpus=1, batch_size=2, max_retries=2,
                       _crash_once=(str(marker), "f05.wav"))
    assert marker.exists(), "a worker process was killed mid-run"
    done = [p for p, _ in report.done]
    assert sorted(done) == files and len(done) == len(set(done)), "each input exactly once"
    assert [p for p, _ in report.failed] == [str(bad)] and "zz_broken.wav" in report.failed[0][1]
    got = _outputs(out)
    assert not [f for f in got if TMP_MARK in f or f.startswith(".")]
    assert {k: v for k, v in got.items() if k != "audiodl-failures.json"} == _outputs(serial)
    assert all(len(v) > 0 for v in got.values())
    print(f"{len(done)} files on 2 workers in {report.seconds:.1f} s incl. cluster start")
    # a rerun skips the finished files (no cluster is started when nothing is left)
    bad.unlink()
    again = run_batch("onsets", [tmp_path / "in"], out, method="superflux", num_workers=2,
                      batch_size=2)
    assert sorted(again.skipped) == files and not again.done and not again.failed
    assert not (out / "audiodl-failures.json").exists()
