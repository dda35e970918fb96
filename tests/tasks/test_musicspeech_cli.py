"""`audiodl classify` / `audiodl detect`: formats, batches with failures, activations."""

import csv
import io
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from audiodl.cli.main import cli
from audiodl.cli.musicspeech import DETECT_FORMATS
from audiodl.io.annotations import parse_segments as _parse_segments


def parse_segments(text, fmt):
    seg = _parse_segments(text, None if fmt == "mirex" else fmt)
    return [(float(s), float(e), lab) for (s, e), lab in zip(seg.intervals, seg.labels)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.path.join(ROOT, "assets", "examples", "speech.wav")
MUSIC = os.path.join(ROOT, "assets", "examples", "music.wav")


@pytest.fixture
def runner():
    return CliRunner()


def test_classify_text_and_batch_with_corrupt_file(runner, tmp_path):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    res = runner.invoke(cli, ["classify", SPEECH, str(bad), MUSIC])
    assert res.exit_code == 1
    lines = [ln.split("\t") for ln in res.stdout.strip().splitlines()]
    assert [(p, lab) for p, lab, _ in lines] == [(SPEECH, "speech"), (MUSIC, "music")]
    assert all(0.5 <= float(p) <= 1.0 for _, _, p in lines)
    assert "corrupt.wav" in res.stderr


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_classify_formats_parse_back(runner, fmt):
    res = runner.invoke(cli, ["classify", "--format", fmt, SPEECH, MUSIC])
    assert res.exit_code == 0, res.output
    if fmt == "json":
        rows = json.loads(res.stdout)
        assert [r["label"] for r in rows] == ["speech", "music"]
        assert rows[0]["probabilities"]["speech"] == rows[0]["probability"]
    else:
        rows = list(csv.DictReader(io.StringIO(res.stdout)))
        assert [r["label"] for r in rows] == ["speech", "music"]


def test_detect_formats_parse_back(runner, tmp_path):
    parsed = {}
    act = str(tmp_path / "speech.npz")
    res = runner.invoke(cli, ["detect", SPEECH, "--save-activations", act])
    assert res.exit_code == 0, res.output
    parsed["from_audio"] = parse_segments(res.stdout, "mirex")
    for fmt in DETECT_FORMATS:
        res = runner.invoke(cli, ["detect", "--format", fmt, "--load-activations", act])
        assert res.exit_code == 0, res.output
        parsed[fmt] = parse_segments(res.stdout, fmt)
    ref = parsed["mirex"]
    assert ref and {lab for _, _, lab in ref} <= {"music", "speech"}
    for fmt, segs in parsed.items():
        assert [lab for *_, lab in segs] == [lab for *_, lab in ref], fmt
        for (s, e, _), (s2, e2, _) in zip(segs, ref):
            assert abs(s - s2) < 2e-3 and abs(e - e2) < 2e-3, fmt


def test_detect_batch_dir_activations_and_plot(runner, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SPEECH, src / "a.flac")
    shutil.copy(MUSIC, src / "b.ogg")
    (src / "c.wav").write_bytes(b"not audio at all" * 100)
    out, acts = tmp_path / "out", tmp_path / "acts"
    res = runner.invoke(cli, ["detect", str(src), "-o", str(out), "--save-activations",
                              str(acts)])
    assert res.exit_code == 1
    assert sorted(os.listdir(out)) == ["a.txt", "audiodl-failures.json", "b.txt"]
    assert sorted(os.listdir(acts)) == ["a.npz", "b.npz"]
    first = (out / "a.txt").read_text()
    # decoding saved activations gives the same segments; thresholds are overridable
    res = runner.invoke(cli, ["detect", "--load-activations", str(acts / "a.npz")])
    assert res.exit_code == 0 and res.stdout == first
    res = runner.invoke(cli, ["detect", "--load-activations", str(acts / "a.npz"),
                              "--threshold-speech", "1.0", "--threshold-music", "1.0",
                              "--method", "threshold"])
    assert res.exit_code == 0 and res.stdout.strip() == ""
    png = tmp_path / "p.png"
    res = runner.invoke(cli, ["detect", MUSIC, "--plot", str(png)])
    assert res.exit_code == 0 and png.stat().st_size > 1000
