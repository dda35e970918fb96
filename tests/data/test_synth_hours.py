"""``synth --hours`` is honoured: at least the amount asked, at most one item more."""

import pytest
from click.testing import CliRunner

from audiodl.cli.main import cli
from audiodl.data.manifest import read_manifest


@pytest.mark.parametrize("task,item_seconds", [("onsets", 60.0), ("structure", 200.0)])
def test_hours_within_one_item(task, item_seconds, tmp_path):
    try:
        from audiodl.data.synth.engines import check_fluidsynth
        check_fluidsynth()
    except Exception as exc:  # engine or soundfont missing
        pytest.skip(f"FluidSynth unavailable: {exc}")
    out = CliRunner().invoke(cli, ["synth", task, "-o", str(tmp_path / task), "--hours",
                                   "0.005", "--seed", "1"])
    assert out.exit_code == 0, out.output
    got = sum(it["duration"] for it in read_manifest(tmp_path / task / "manifest.jsonl"))
    assert 0.005 * 3600 <= got + 1e-6 <= 0.005 * 3600 + item_seconds
    assert "h of audio (asked for 0.005 h)" in out.output
