"""recipes/singing/labels.py: gap statistics and the decoder's ceiling on the truth."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location(
        "svd_labels", os.path.join(ROOT, "recipes", "singing", "labels.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def manifest(tmp_path):
    lab = tmp_path / "a.lab"
    # 0.2 s and 3 s gaps between sung parts, 10 s file
    lab.write_text("0.0\t2.0\tsing\n2.0\t2.2\tnosing\n2.2\t4.0\tsing\n4.0\t7.0\tnosing\n"
                   "7.0\t9.0\tsing\n9.0\t10.0\tnosing\n")
    man = tmp_path / "m.jsonl"
    man.write_text(json.dumps({"id": "a", "audio": "a.flac", "duration": 10.0, "sr": 22050, "split": "test",
                               "annotations": {"vocals": str(lab)}}) + "\n")
    return str(man)


def test_gaps_and_ceiling(manifest, tmp_path, capsys):
    mod = _module()
    out_path = tmp_path / "o.json"
    assert mod.main(["--manifest", manifest, "--medians", "0,0.8", "--out", str(out_path)]) == 0
    out = json.loads(out_path.read_text())
    g = out["gaps"]
    assert g["n_gaps"] == 2
    assert g["gaps_le_0.25s"]["count"] == 1 and g["gaps_le_0.25s"]["seconds"] == pytest.approx(0.2)
    assert g["gaps_le_2s"]["count"] == 1
    assert out["ceiling"]["0"]["error"] == 0.0
    # the 0.8 s median fills the 0.2 s gap (14 of 700 frames wrong)
    assert out["ceiling"]["0.8"]["error"] == pytest.approx(14 / 700, abs=2 / 700)
    # joined labels: the short gap is singing, so the median no longer costs anything there
    mod.main(["--manifest", manifest, "--medians", "0.8", "--join-gap", "0.5",
              "--out", str(out_path)])
    out = json.loads(out_path.read_text())
    assert out["gaps"]["n_gaps"] == 1 and out["ceiling"]["0.8"]["error"] < 2 / 700
