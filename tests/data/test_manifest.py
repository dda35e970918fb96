import json

import pytest

from audiodl.data.manifest import (
    read_manifest,
    read_segments,
    read_times,
    write_manifest,
    write_segments,
    write_times,
)
from audiodl.errors import ManifestError


def _item(i, **kw):
    d = {"id": f"x{i}", "audio": f"audio/x{i}.flac", "duration": 1.5, "sr": 16000, "split": "train"}
    d.update(kw)
    return d


def test_round_trip_relative_paths(tmp_path):
    m = tmp_path / "sub" / "manifest.jsonl"
    items = [_item(0, annotations={"segments": str(tmp_path / "sub" / "labels" / "x0.lab")}),
             _item(1, text="hello world", labels=["speech"])]
    write_manifest(m, items)
    raw = [json.loads(line) for line in m.read_text().splitlines()]
    assert raw[0]["annotations"]["segments"] == "labels/x0.lab"  # stored relative
    back = read_manifest(m)
    assert back[0]["audio"] == str(tmp_path / "sub" / "audio" / "x0.flac")
    assert back[0]["annotations"]["segments"] == str(tmp_path / "sub" / "labels" / "x0.lab")
    assert back[1]["text"] == "hello world"
    assert read_manifest(m, resolve=False)[0]["audio"] == "audio/x0.flac"


@pytest.mark.parametrize("line, reason", [
    ("{not json", "not valid JSON"),
    (json.dumps({"id": "a", "audio": "a.wav", "duration": 1.0, "sr": 16000}), "missing required key"),
    (json.dumps(_item(0, duration=-1)), "'duration'"),
    (json.dumps(_item(0, sr=16000.5)), "'sr'"),
    (json.dumps(_item(0, labels="speech")), "'labels'"),
    (json.dumps([1, 2]), "JSON object"),
])
def test_bad_manifest_names_file_line_reason(tmp_path, line, reason):
    m = tmp_path / "bad.jsonl"
    m.write_text(json.dumps(_item(9)) + "\n\n" + line + "\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(m)
    msg = str(info.value)
    assert f"{m}:3" in msg and reason in msg
    assert isinstance(info.value, ValueError)


def test_duplicate_id_and_missing_file(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps(_item(1)) + "\n" + json.dumps(_item(1)) + "\n")
    with pytest.raises(ManifestError, match="duplicate id 'x1'.*line 1"):
        read_manifest(m)
    m.write_text(json.dumps(_item(1)) + "\n")
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(m, check_files=True)
    with pytest.raises(ManifestError, match="manifest file does not exist"):
        read_manifest(tmp_path / "nope.jsonl")


def test_segments_and_times(tmp_path):
    p = tmp_path / "a.lab"
    write_segments(p, [(0.0, 1.25, "music"), (0.5, 2.0, "speech")])
    assert read_segments(p) == [(0.0, 1.25, "music"), (0.5, 2.0, "speech")]
    p.write_text("0.0\t1.0\tmusic\n2.0 1.0 speech\n")
    with pytest.raises(ManifestError, match="a.lab:2.*ends before"):
        read_segments(p)
    q = tmp_path / "a.onsets"
    write_times(q, [0.5, 0.25])
    assert read_times(q) == [0.25, 0.5]
    q.write_text("0.1\nabc\n")
    with pytest.raises(ManifestError, match="a.onsets:2"):
        read_times(q)


def test_annotation_files_go_through_io_annotations(tmp_path):
    """The manifest helpers are thin views of :mod:`audiodl.io.annotations` (one reader per format)."""
    import numpy as np

    from audiodl.io import annotations
    from audiodl.types import Segments

    p = tmp_path / "a.lab"
    write_segments(p, [(0.0, 1.25, "music"), (1.25, 2.0, "speech, loud")])
    assert p.read_text() == "0.000000\t1.250000\tmusic\n1.250000\t2.000000\tspeech, loud\n"
    assert p.read_text() == annotations.format_segments(
        Segments(np.array([[0.0, 1.25], [1.25, 2.0]]), ("music", "speech, loud")), "audacity")
    # what io reads, the manifest helper returns as plain tuples (labels may contain spaces)
    p.write_text("0 1 verse A\n1 2\n")
    assert read_segments(p) == [(0.0, 1.0, "verse A"), (1.0, 2.0, "")]
    j = tmp_path / "a.jams"
    annotations.write_segments(j, [(0.5, 1.0, "x")], "jams")
    assert read_segments(j) == [(0.5, 1.0, "x")]
    q = tmp_path / "a.onsets"
    write_times(q, [0.5, 0.125])
    assert q.read_text() == "0.500000\n0.125000\n"
    assert read_times(q) == annotations.read_events(q).tolist() == [0.125, 0.5]
    q.write_text("0.5\n-0.1\n")
    with pytest.raises(ManifestError, match="a.onsets:2: invalid time"):
        read_times(q)
    with pytest.raises(ManifestError, match="not found"):
        read_times(tmp_path / "missing.onsets")
