import json

import numpy as np
import pytest

from audiodl.errors import ManifestError
from audiodl.io.annotations import (format_events, format_segments, parse_events,
                                    read_events, read_segments, write_segments)
from audiodl.types import Segments

SEG = Segments(np.array([[0.0, 1.5], [1.0, 4.25], [4.25, 9.0]]), ("speech", "music", "music"))


@pytest.mark.parametrize("fmt", ["mirex", "audacity", "csv", "jams"])
def test_segments_roundtrip(tmp_path, fmt):
    p = tmp_path / f"x.{fmt}"
    write_segments(p, SEG, fmt, duration=9.0, source="x.wav")
    back = read_segments(p)
    np.testing.assert_allclose(back.intervals, SEG.intervals, atol=1e-3)
    assert back.labels == SEG.labels


def test_segments_json():
    d = json.loads(format_segments(SEG, "json"))
    assert [s["label"] for s in d["segments"]] == list(SEG.labels)


def test_events_roundtrip(tmp_path):
    t = np.array([0.1, 0.52, 3.0])
    p = tmp_path / "a.onsets"
    p.write_text(format_events(t))
    np.testing.assert_allclose(read_events(p), t)
    np.testing.assert_allclose(parse_events(format_events(t, "csv")), t)
    j = json.loads(format_events(t, "jams", duration=4.0))
    assert j["annotations"][0]["namespace"] == "onset"
    assert len(j["annotations"][0]["data"]) == 3


def test_bad_annotations_name_file_and_line(tmp_path):
    p = tmp_path / "bad.lab"
    p.write_text("0.0\t1.0\tspeech\n2.0\t1.0\tmusic\n")
    with pytest.raises(ManifestError, match=r"bad.lab:2"):
        read_segments(p)
    q = tmp_path / "bad.onsets"
    q.write_text("0.5\nabc\n")
    with pytest.raises(ManifestError, match=r"bad.onsets:2"):
        read_events(q)
    with pytest.raises(ManifestError, match="not found"):
        read_events(tmp_path / "none.txt")
