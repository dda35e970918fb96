"""Shared task-command conventions: models table, output rule, stdin, validation, help text."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from audiodl.cli.main import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.path.join(ROOT, "assets", "examples", "speech.wav")
MUSIC = os.path.join(ROOT, "assets", "examples", "music.wav")


def test_models_table_json_and_card():
    r = CliRunner()
    out = r.invoke(cli, ["models"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split()[:3] == ["name", "task", "default"]
    assert all("{" not in ln for ln in lines), "no dict reprs in the table"
    assert any(ln.startswith("onsets_cnn") and "MB" in ln for ln in lines)
    rows = json.loads(r.invoke(cli, ["models", "--json"]).output)
    assert {"name", "task", "default", "size_mb", "parameters", "frontend",
            "test_score"} <= set(rows[0])
    card = json.loads(r.invoke(cli, ["models", "onsets_cnn"]).output)
    assert card["task"] == "onsets" and card["decoder"]["offline"]["threshold"] > 0
    bad = r.invoke(cli, ["models", "nope"])
    assert bad.exit_code != 0 and "unknown model" in bad.output


def test_no_rest_markup_in_any_help():
    from audiodl.cli.main import COMMANDS
    r = CliRunner()
    for cmd in [[]] + [[c] for c in COMMANDS]:
        out = r.invoke(cli, cmd + ["--help"])
        assert out.exit_code == 0, (cmd, out.output)
        assert "``" not in out.output, f"reST markup in `audiodl {' '.join(cmd)} --help`"


@pytest.mark.parametrize("cmd", ["classify", "detect", "onsets", "singing", "segment",
                                 "transcribe", "index codes"])
def test_every_task_command_has_the_shared_options(cmd):
    out = CliRunner().invoke(cli, [*cmd.split(), "--help"])
    assert out.exit_code == 0
    for opt in ("-o, --output", "--format", "-j, --jobs", "-m, --model", "--backend",
                "--save-activations", "--load-activations", "--plot", "--overwrite",
                "--shard I/N"):
        assert opt in out.output, (cmd, opt)
    assert "``" not in out.output, "reST markup in --help"


def test_onsets_rejects_bad_decoder_values():
    r = CliRunner()
    out = r.invoke(cli, ["onsets", "--threshold", "5", SPEECH])
    assert out.exit_code == 2 and "threshold" in out.output
    out = r.invoke(cli, ["onsets", "--combine", "-1", SPEECH])
    assert out.exit_code == 2
    out = r.invoke(cli, ["detect", "--threshold-music", "2", SPEECH])
    assert out.exit_code == 2 and "threshold" in out.output


def test_outputs_never_collide_and_existing_dir(tmp_path):
    a = tmp_path / "show.wav"
    b = tmp_path / "show.flac"
    shutil.copy(SPEECH, a)
    import soundfile as sf
    y, sr = sf.read(SPEECH)
    sf.write(b, y, sr)
    r = CliRunner()
    out = r.invoke(cli, ["onsets", "--method", "superflux", str(a), str(b), "-o",
                         str(tmp_path / "o")])
    assert out.exit_code == 2 and "show.onsets.txt" in out.output
    assert not (tmp_path / "o").exists(), "nothing written before the clash is reported"
    existing = tmp_path / "exists"
    existing.mkdir()
    out = r.invoke(cli, ["classify", SPEECH, MUSIC, "-o", str(existing)])
    assert out.exit_code == 0, out.output
    assert sorted(os.listdir(existing)) == ["music.txt", "speech.txt"]
    out = r.invoke(cli, ["detect", SPEECH, "-o", str(existing)])
    assert out.exit_code == 0 and (existing / "speech.txt").read_text().strip()


@pytest.mark.parametrize("cmd,expect", [("classify", "speech"), ("detect", "speech"),
                                        ("onsets", "")])
def test_stdin_for_every_task_command(cmd, expect):
    with open(SPEECH, "rb") as f:
        data = f.read()
    out = CliRunner().invoke(cli, [cmd, "-"], input=data)
    assert out.exit_code == 0, out.output
    assert expect in out.output
    if cmd == "onsets":
        assert len(out.output.split()) > 5
