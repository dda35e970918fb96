"""``audiodl index build/add/query/info/codes``."""

import json
import os

from click.testing import CliRunner

from audiodl.cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_build_query_info_add(tiny_card, audio_dir, tmp_path):
    out = tmp_path / "ix"
    r = _run("index", "build", audio_dir, "-o", out, "-m", tiny_card, "-j", "2")
    assert r.exit_code == 0, r.output
    q = audio_dir / "t0.wav"
    r = _run("index", "query", out, q, "-k", "3")
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.strip().splitlines()]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert rows[0][1] == str(q) and float(rows[0][2]) > 0.9999
    doc = json.loads(_run("index", "query", out, q, "-k", "2", "--format", "json").output)
    assert doc["query"] == str(q) and doc["results"][0]["path"] == str(q)
    info = json.loads(_run("index", "info", out, "--json").output)
    assert info["count"] == 6 and info["n_bits"] == 64 and info["bytes_per_item"] > 0
    assert "count: 6" in _run("index", "info", out).output
    # add: a new file plus a bad one -> the good one is added, the bad one reported, exit 1
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "bad.wav").write_text("not audio")
    import shutil
    shutil.copy(audio_dir / "t1.wav", tmp_path / "more" / "copy.wav")
    r = CliRunner().invoke(cli, ["index", "add", str(out), str(tmp_path / "more")])
    assert r.exit_code == 1 and "bad.wav" in r.output and "1 added" in r.output
    r = _run("index", "query", out, tmp_path / "more" / "copy.wav", "-k", "2")
    top2 = {line.split("\t")[1] for line in r.output.strip().splitlines()}
    assert top2 == {str(tmp_path / "more" / "copy.wav"), str(audio_dir / "t1.wav")}


def test_build_resumes(tiny_card, audio_dir, tmp_path):
    out = tmp_path / "ix"
    assert _run("index", "build", audio_dir / "t0.wav", "-o", out, "-m", tiny_card).exit_code == 0
    r = _run("index", "build", audio_dir, "-o", out, "-m", tiny_card)
    assert r.exit_code == 0 and "5 added, 1 already indexed" in r.output
    lines = (out / "items.jsonl").read_text().splitlines()
    assert len(lines) == len(set(lines)) == 6


def test_codes_command(tiny_card, audio_dir):
    r = _run("index", "codes", "-m", tiny_card, audio_dir / "t0.wav", audio_dir / "t1.wav")
    assert r.exit_code == 0
    rows = [line.split("\t") for line in r.output.strip().splitlines()]
    assert [os.path.basename(p) for p, _ in rows] == ["t0.wav", "t1.wav"]
    assert all(len(code) == 16 for _, code in rows)


def test_windows_and_excerpt_query(tiny_card, audio_dir, tmp_path):
    import soundfile as sf
    y, sr = sf.read(audio_dir / "t4.wav", dtype="float32")
    part = tmp_path / "part.wav"
    sf.write(part, y[int(2.0 * sr):int(6.0 * sr)], sr)
    plain = tmp_path / "plain"
    assert _run("index", "build", audio_dir, "-o", plain, "-m", tiny_card).exit_code == 0
    r = CliRunner().invoke(cli, ["index", "query", str(plain), str(part), "--excerpt"])
    assert r.exit_code == 1 and "--windows" in r.output
    out = tmp_path / "ix"
    r = _run("index", "build", audio_dir, "-o", out, "-m", tiny_card, "--windows", "4",
             "--window-hop", "1")
    assert r.exit_code == 0, r.output
    info = json.loads(_run("index", "info", out, "--json").output)
    assert info["windows"] == 4.0 and info["window_count"] > info["count"] == 6
    r = _run("index", "query", out, part, "-k", "2", "--excerpt")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].split("\t")[1] == str(audio_dir / "t4.wav")
