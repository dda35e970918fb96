"""A seeded corpus of malformed files: every reader ends in audiodl's own error naming the file."""

import io
import json

import numpy as np
import pytest

from audiodl.errors import AudiodlError, ManifestError

NON_UTF8 = b"0.5\n1.0 caf\xe9\n"
DEEP = b"[" * 50000 + b"]" * 50000


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


GOOD_NPZ = dict(values=np.zeros((10, 2), np.float32), fps=np.float64(10.0),
                labels=np.array(["music", "speech"]), audio_duration=np.float64(1.0))


def _read_events(p):
    from audiodl.io.annotations import read_events
    return read_events(p)


def _read_segments(p):
    from audiodl.io.annotations import read_segments
    return read_segments(p)


def _manifest(p):
    from audiodl.data.manifest import read_manifest
    return read_manifest(p)


def _times(p):
    from audiodl.data.manifest import read_times
    return read_times(p)


def _msegments(p):
    from audiodl.data.manifest import read_segments
    return read_segments(p)


def _acts(p):
    from audiodl.types import Activations
    return Activations.load(p)


def _labels(p):
    from audiodl.io.labels import read_labels
    return read_labels(p)


def _card(p):
    from audiodl.pretrained.card import ModelCard
    return ModelCard.read(p)


ITEM = {"id": "a", "audio": "a.wav", "duration": 1.0, "sr": 8000, "split": "train"}

CASES = [
    # (reader, file name, bytes, expected words in the message)
    (_read_events, "onsets.txt", NON_UTF8, "UTF-8"),
    (_read_segments, "seg.lab", NON_UTF8, "UTF-8"),
    (_manifest, "m.jsonl", b'{"id": "caf\xe9"}\n', "UTF-8"),
    (_labels, "labels.txt", NON_UTF8, "UTF-8"),
    (_card, "card.json", b'{"name": "\xff"}', "UTF-8"),
    (_read_events, "deep.json", DEEP, "nested"),
    (_read_segments, "deep.jams", DEEP, "nested"),
    (_manifest, "deep.jsonl", DEEP, "nested"),
    (_card, "deep.json", DEEP, "nested"),
    (_labels, "deep.json", DEEP, "nested"),
    (_read_events, "a.jams", b"[1, 2]", "JAMS"),
    (_read_segments, "a.jams", b"[1, 2]", "JAMS"),
    (_read_events, "a.jams", json.dumps({"annotations": [{"data": [{"time": None}]}]}).encode(),
     "time"),
    (_read_segments, "a.jams", json.dumps({"annotations": [
        {"data": [{"time": None, "duration": 1}]}]}).encode(), "time"),
    (_read_segments, "a.jams", json.dumps({"annotations": [{"data": [[1, 2]]}]}).encode(),
     "observations"),
    (_read_segments, "a.jams", json.dumps({"annotations": [{"data": {"time": 1}}]}).encode(),
     "lists"),
    (_read_events, "a.json", b'{"times": "0.5"}', "list of times"),
    (_read_events, "a.json", b'{"times": [1e999999]}', "invalid time"),
    (_read_events, "a.json", b'{"times": [100000000000000000000000000000000000000000000000000'
                             b'0000000000000000000000000000000000000000000000000000000000000'
                             b'000000000000000000000000000000000000000000000000000000000000'
                             b'0000000000000000000000000000000000000000000000000000000000000'
                             b'0000000000000000000000000000000000000000000000000000000000000'
                             b'00000000000000000000000000000]}', "list of times"),
    (_times, "t.onsets", b"0.5\nnan\n", "invalid time"),
    (_times, "t.onsets", b"0.5\ninf\n", "invalid time"),
    (_times, "t.onsets", b"-1.0\n", "invalid time"),
    (_times, "comma.onsets", b",\n", "expected a time"),  # found by the slow fuzz run
    (_msegments, "s.lab", b"nan\t1.0\tA\n", "finite"),
    (_msegments, "s.lab", b"0.0\tnan\tA\n", "finite"),
    (_read_segments, "s.json", b'{"segments": [{"start": NaN, "end": 1, "label": "A"}]}',
     "finite"),
    (_read_segments, "s.lab", b"-2.0\t1.0\tA\n", ">= 0"),
    (_acts, "trunc.npz", _npz(**GOOD_NPZ)[:200], "activations"),
    (_acts, "garbage.npz", b"PK\x03\x04" + b"\0" * 100, "activations"),
    (_acts, "fps.npz", _npz(**dict(GOOD_NPZ, fps=np.array([1.0, 2.0]))), "fps"),
    (_acts, "fps0.npz", _npz(**dict(GOOD_NPZ, fps=np.float64(0))), "fps"),
    (_acts, "fpsnan.npz", _npz(**dict(GOOD_NPZ, fps=np.float64(np.nan))), "fps"),
    (_acts, "vals.npz", _npz(**dict(GOOD_NPZ, values=np.array(["a"]))), "values"),
    (_acts, "valnan.npz", _npz(**dict(GOOD_NPZ, values=np.full((3, 2), np.nan))), "values"),
    (_acts, "labels.npz", _npz(**dict(GOOD_NPZ, labels=np.array(["a", "b", "c"]))), "labels"),
    (_acts, "nofps.npz", _npz(values=GOOD_NPZ["values"]), "fps"),
    (_manifest, "escape.jsonl", json.dumps(dict(ITEM, audio="../../../../etc/passwd")).encode(),
     "leaves the manifest"),
    (_manifest, "escape2.jsonl", json.dumps(dict(ITEM, annotations={
        "onsets": "a/../../x.onsets"})).encode(), "leaves the manifest"),
    (_manifest, "nul.jsonl", json.dumps(dict(ITEM, audio="a\0.wav")).encode(), "NUL"),
    (_manifest, "nan.jsonl", b'{"id": "a", "audio": "a.wav", "duration": NaN, "sr": 8000, '
                             b'"split": "train"}', "duration"),
    (_labels, "labels.json", b'[{"path": "a", "label": "music", "probability": "x"}]',
     "probability"),
    (_labels, "labels.txt", b"a.wav music 0.5\n", "expected"),
    (_labels, "labels.csv", b"path,label\na,music\n", "probability"),
]


@pytest.mark.parametrize("reader, name, blob, words", CASES,
                         ids=[f"{c[0].__name__}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_malformed_file_gives_own_error_naming_it(tmp_path, reader, name, blob, words):
    p = tmp_path / name
    p.write_bytes(blob)
    with pytest.raises(AudiodlError) as info:
        reader(p)
    msg = str(info.value)
    assert name in msg, msg
    assert words.lower() in msg.lower(), msg


def test_manifest_error_names_the_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text(json.dumps(ITEM) + "\n" + json.dumps(dict(ITEM, id="b", audio="../x.wav")))
    with pytest.raises(ManifestError, match=r"m\.jsonl:2:"):
        _manifest(p)


def test_absolute_and_inside_paths_still_work(tmp_path):
    from audiodl.data.manifest import read_manifest, write_manifest
    d = tmp_path / "corpus"
    outside = tmp_path / "elsewhere" / "b.wav"
    path = write_manifest(d / "m.jsonl", [dict(ITEM, audio=str(d / "audio" / "a.wav")),
                                          dict(ITEM, id="b", audio=str(outside))])
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["audio"] == "audio/a.wav"
    assert lines[1]["audio"] == str(outside)  # outside the folder: stored absolute
    items = read_manifest(path)
    assert items[0]["audio"] == str(d / "audio" / "a.wav") and items[1]["audio"] == str(outside)


def test_load_activations_names_the_file(tmp_path):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip at all")
    for cmd in ("onsets", "classify", "detect", "segment"):
        res = CliRunner().invoke(cli, [cmd, "--load-activations", str(p)])
        assert res.exit_code != 0 and "bad.npz" in res.output, res.output
        assert "Traceback" not in res.output


@pytest.mark.parametrize("blob", [b'{"x": \xff', b"[1, 2]", b"{", b"[" * 50000])
def test_index_info_on_a_damaged_index(tmp_path, blob):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    d = tmp_path / "myindex"
    d.mkdir()
    (d / "index.json").write_bytes(blob)
    res = CliRunner().invoke(cli, ["index", "info", str(d)])
    assert res.exit_code != 0 and isinstance(res.exception, SystemExit), res.output
    assert "myindex" in res.output and "Traceback" not in res.output, res.output
