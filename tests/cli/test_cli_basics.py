import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from audiodl.cli.main import cli
from audiodl.io import save
from audiodl.testing import chirp, write_bad_files


def test_help_is_light_and_lists_commands():
    code = ("import sys; from audiodl.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'audiodl --help imported torch'\n"
            "print('numba' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "features" in r.stdout and "info" in r.stdout


def test_version():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and "audiodl" in r.output


def test_info_reports_failures_and_continues(tmp_path):
    bad = write_bad_files(tmp_path / "bad")
    r = CliRunner().invoke(cli, ["info", bad["good"], bad["not_audio"], bad["missing"]])
    assert r.exit_code == 1
    assert "22050 Hz" in r.stdout
    assert "not_audio.wav" in r.stderr and "file not found" in r.stderr
    assert "2 of 3 file(s) failed" in r.stderr


def test_features_single_and_batch(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    save(a, chirp(duration=1.0), 22050)
    save(b, chirp(duration=2.0), 22050)
    out = tmp_path / "a.npy"
    r = CliRunner().invoke(cli, ["features", str(a), "-p", "lidy2015", "-o", str(out),
                                 "--set", "n_mels=20", "--plot", str(tmp_path / "a.png")])
    assert r.exit_code == 0, r.output
    x = np.load(out)
    assert x.shape == (1 + 22050 // 256, 20) and x.dtype == np.float32
    assert os.path.getsize(tmp_path / "a.png") > 1000
    outdir = tmp_path / "feats"
    r = CliRunner().invoke(cli, ["features", str(a), str(b), str(tmp_path / "zz.wav"),
                                 "-o", str(outdir)])
    assert r.exit_code == 1 and "zz.wav" in r.stderr
    assert sorted(os.listdir(outdir)) == ["a.npy", "audiodl-failures.json", "b.npy"]
    import json
    failed = json.loads((outdir / "audiodl-failures.json").read_text())["failures"]
    assert [f["path"] for f in failed] == [str(tmp_path / "zz.wav")] and failed[0]["reason"]


def test_features_bad_override():
    r = CliRunner().invoke(cli, ["features", "x.wav", "--set", "bogus=1"])
    assert r.exit_code == 2 and "bogus" in r.output
