import json

import numpy as np
import pytest

from audiodl.errors import ManifestError, ParameterError
from audiodl.io.annotations import (format_events, format_segments, parse_events, parse_segments,
                                    read_events, read_segments, write_events, write_segments)
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


# ------------------------------------------------------------ events: formats
TIMES = np.array([0.0104, 0.52, 3.0])


def test_event_text_is_mirex_milliseconds():
    # byte-identical to what `audiodl onsets` has always printed
    assert format_events(TIMES) == "0.010\n0.520\n3.000\n"
    assert format_events([]) == ""
    assert format_events(TIMES, "csv") == "time\n0.010\n0.520\n3.000\n"
    assert format_events([0.25], decimals=6) == "0.250000\n"


def test_event_json_fields():
    text = format_events(TIMES, "json", duration=4.0, source="a.wav", key="onsets",
                         extra={"method": "cnn", "fps": 100.0, "params": {"threshold": 0.5}})
    d = json.loads(text)
    assert set(d) == {"source", "method", "onsets", "fps", "params", "duration"}
    assert d["onsets"] == pytest.approx(TIMES) and d["duration"] == 4.0
    assert d["source"] == "a.wav" and d["params"] == {"threshold": 0.5}
    assert "confidence" not in d
    np.testing.assert_allclose(parse_events(text, "json"), TIMES)
    d2 = json.loads(format_events(TIMES, "json", confidence=[1, 0.5, 0.25]))
    assert d2["confidence"] == [1.0, 0.5, 0.25] and d2["times"] == pytest.approx(TIMES)
    with pytest.raises(ParameterError, match="overwrite"):
        format_events(TIMES, "json", extra={"source": "x"})
    with pytest.raises(ParameterError, match="confidence has 2"):
        format_events(TIMES, "json", confidence=[1, 2])
    with pytest.raises(ParameterError, match="unknown event format"):
        format_events(TIMES, "mirex")


def test_event_jams_document():
    text = format_events(TIMES, "jams", confidence=[0.9, 0.8, 0.7], duration=4.0,
                         source="/music/a.wav", tool="audiodl 0.1.0 (cnn)",
                         sandbox={"params": {"threshold": 0.5}})
    d = json.loads(text)
    ann = d["annotations"][0]
    assert ann["namespace"] == "onset" and ann["duration"] == 4.0
    assert [r["time"] for r in ann["data"]] == list(TIMES)
    assert [r["confidence"] for r in ann["data"]] == [0.9, 0.8, 0.7]
    assert all(r["duration"] == 0.0 and r["value"] is None for r in ann["data"])
    assert ann["sandbox"] == {"params": {"threshold": 0.5}}
    assert ann["annotation_metadata"]["annotation_tools"] == "audiodl 0.1.0 (cnn)"
    assert d["file_metadata"]["title"] == "a.wav" and d["file_metadata"]["duration"] == 4.0
    np.testing.assert_allclose(parse_events(text, "jams"), TIMES)
    # no duration: the last event
    assert json.loads(format_events(TIMES, "jams"))["file_metadata"]["duration"] == 3.0
    beats = format_events([1.0], "jams", namespace="beat")
    with pytest.raises(ManifestError, match="no JAMS annotation with namespace 'onset'"):
        parse_events(beats, "jams", namespace="onset")


@pytest.mark.parametrize("fmt, suffix", [("text", ".onsets"), ("csv", ".csv"),
                                         ("json", ".json"), ("jams", ".jams")])
def test_events_file_roundtrip_infers_format(tmp_path, fmt, suffix):
    p = tmp_path / f"a{suffix}"
    write_events(p, TIMES[::-1], fmt, duration=4.0, key="onsets")
    np.testing.assert_allclose(read_events(p), np.round(TIMES, 3 if fmt in ("text", "csv")
                                                        else 6))


def test_event_readers_reject_bad_values(tmp_path):
    with pytest.raises(ManifestError, match="x.txt:2: invalid time -1"):
        parse_events("0.5\n-1\n", source="x.txt")
    with pytest.raises(ManifestError, match="x.json: no event list under times or onsets"):
        parse_events('{"beats": [1]}', "json", source="x.json")
    with pytest.raises(ManifestError, match="x.json:1: not valid JSON"):
        parse_events("{", "json", source="x.json")
    with pytest.raises(ManifestError, match="not a JAMS file"):
        parse_events('{"file_metadata": {}}', "jams")
    # MIREX beat files carry a second column; headers and comments are skipped
    np.testing.assert_allclose(parse_events("# beats\ntime\n1.0\t1\n0.5 4\n"), [0.5, 1.0])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jsonschema, inside jams
def test_jams_files_from_the_jams_package(tmp_path):
    jams = pytest.importorskip("jams")
    ja = jams.JAMS()
    ja.file_metadata.duration = 5.0
    ann = jams.Annotation(namespace="onset")
    for t in (0.5, 1.25):
        ann.append(time=t, duration=0.0)
    ja.annotations.append(ann)
    seg = jams.Annotation(namespace="segment_open")
    seg.append(time=0.0, duration=2.0, value="verse")
    ja.annotations.append(seg)
    p = tmp_path / "x.jams"
    ja.save(str(p))
    np.testing.assert_allclose(read_events(p, namespace="onset"), [0.5, 1.25])
    s = read_segments(p, namespace="segment_open")
    assert s.labels == ("verse",) and s.intervals.tolist() == [[0.0, 2.0]]
    # and ours pass its schema validation
    q = tmp_path / "ours.jams"
    write_events(q, [0.5], "jams", confidence=[0.9], duration=1.0)
    assert jams.load(str(q), validate=True, strict=True).annotations[0].namespace == "onset"
    write_segments(q, SEG, "jams")
    assert len(jams.load(str(q), validate=True, strict=True).annotations[0].data) == 3


# ----------------------------------------------------------- segments: readers
def test_segment_text_variants():
    text = ("start,end,label\n0.0,1.5,speech\n"
            "1.5 4.0 intro, part one\n"
            "4\t5\tlabel\twith tab\n"
            '5,6,"quoted, label"\n'
            "\\ 100.0 2000.0\n"
            "6.0 7.0\n")
    s = parse_segments(text, source="mixed.lab")
    assert s.labels == ("speech", "intro, part one", "label\twith tab", "quoted, label", "")
    np.testing.assert_allclose(s.intervals, [[0, 1.5], [1.5, 4], [4, 5], [5, 6], [6, 7]])
    with pytest.raises(ManifestError, match="mixed.lab:1: expected 'start end"):
        parse_segments("0.5\n", source="mixed.lab")
    with pytest.raises(ManifestError, match="mixed.lab:2: start/end are not numbers"):
        parse_segments("0 1 a\nx 2 b\n", source="mixed.lab")


def test_segment_json_and_jams_roundtrip():
    for fmt in ("json", "jams"):
        back = parse_segments(format_segments(SEG, fmt, source="x.wav"))
        np.testing.assert_allclose(back.intervals, SEG.intervals)
        assert back.labels == SEG.labels
    # rows are accepted as well as Segments
    rows = [(0.0, 1.0, "a"), (1.0, 2.5, "b")]
    assert format_segments(rows, "audacity") == "0.000000\t1.000000\ta\n1.000000\t2.500000\tb\n"
    with pytest.raises(ManifestError, match="segment 0: segment ends"):
        parse_segments('{"segments": [{"start": 2, "end": 1, "label": "x"}]}')
