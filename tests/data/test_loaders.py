"""Loaders on tiny fixtures in each corpus's real layout (made in tmp dirs)."""

import numpy as np
import pytest
import soundfile as sf

from audiodl.data.loaders import corpus_manifest
from audiodl.data.manifest import read_manifest, read_segments
from audiodl.errors import ManifestError, ParameterError


def _wav(path, dur=1.0, sr=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(dur * sr)) / sr
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), sr)
    return path


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_gtzan(tmp_path):
    for i in range(3):
        _wav(tmp_path / "music_wav" / f"m{i}.wav")
        _wav(tmp_path / "speech_wav" / f"s{i}.wav", dur=2.0)
    items = read_manifest(corpus_manifest("gtzan-ms", tmp_path, tmp_path / "out" / "m.jsonl"), check_files=True)
    assert len(items) == 6
    assert sorted(it["labels"][0] for it in items) == ["music"] * 3 + ["speech"] * 3
    assert {it["duration"] for it in items if it["labels"] == ["speech"]} == {2.0}


def test_boeck(tmp_path):
    for name in ("a", "b", "c"):
        _wav(tmp_path / "audio" / f"{name}.flac")
        _write(tmp_path / "annotations" / "onsets" / f"{name}.onsets", "0.1\n0.5\n")
    _write(tmp_path / "splits" / "8-fold_cv_random_0.fold", "a\nb\n")
    _write(tmp_path / "splits" / "8-fold_cv_random_1.fold", "c\n")
    items = read_manifest(corpus_manifest("boeck", tmp_path, tmp_path / "m.jsonl"), check_files=True)
    assert {it["id"]: it["split"] for it in items} == {"boeck-a": "fold0", "boeck-b": "fold0", "boeck-c": "fold1"}


def test_jamendo(tmp_path):
    for name, split in (("x", "train"), ("y", "test")):
        _wav(tmp_path / "audio" / f"{name}.ogg", dur=3.0)
        _write(tmp_path / "labels" / f"{name}.lab", "0.0 1.0 nosing\n1.0 3.0 sing\n")
        _write(tmp_path / "filelists" / split, f"{name}.ogg\n")
    items = read_manifest(corpus_manifest("jamendo", tmp_path, tmp_path / "m.jsonl"))
    assert {it["id"]: it["split"] for it in items} == {"jamendo-x": "train", "jamendo-y": "test"}
    assert items[0]["labels"] == ["music", "singing"]
    _write(tmp_path / "labels" / "x.lab", "0.0 1.0 voice\n")
    with pytest.raises(ManifestError, match="x.lab.*unexpected labels"):
        corpus_manifest("jamendo", tmp_path, tmp_path / "m.jsonl")


def test_salami(tmp_path):
    _wav(tmp_path / "audio" / "10.mp3".replace(".mp3", ".wav"), dur=5.0)
    _write(tmp_path / "annotations" / "10" / "parsed" / "textfile1_functions.txt",
           "0.0\tSilence\n0.5\tIntro\n2.0\tVerse\n4.5\tEnd\n")
    items = read_manifest(corpus_manifest("salami", tmp_path, tmp_path / "out" / "m.jsonl"))
    assert read_segments(items[0]["annotations"]["sections"]) == [(0.5, 2.0, "Intro"), (2.0, 4.5, "Verse")]


def test_beatles(tmp_path):
    _wav(tmp_path / "audio" / "01_Please_Please_Me" / "01_I_Saw_Her.wav", dur=4.0)
    _write(tmp_path / "seglab" / "01_Please_Please_Me" / "01_I_Saw_Her.lab",
           "0.000 0.400 silence\n0.400 2.000 intro\n2.000 4.000 verse\n")
    items = read_manifest(corpus_manifest("beatles", tmp_path, tmp_path / "m.jsonl"))
    assert items[0]["group"] == "01_Please_Please_Me"
    assert read_segments(items[0]["annotations"]["sections"])[1] == (0.4, 2.0, "intro")


def test_rwc(tmp_path):
    _wav(tmp_path / "audio" / "RM-P001.wav", dur=4.0)
    _write(tmp_path / "annotations" / "AIST.RWC-MDB-P-2001.CHORUS" / "RM-P001.CHORUS.TXT",
           "0\t150\tintro\n150\t400\tverse_A\n")
    items = read_manifest(corpus_manifest("rwc-popular", tmp_path, tmp_path / "out" / "m.jsonl"))
    assert read_segments(items[0]["annotations"]["sections"]) == [(0.0, 1.5, "intro"), (1.5, 4.0, "verse_A")]


def test_librispeech(tmp_path):
    d = tmp_path / "dev-clean" / "84" / "121123"
    _wav(d / "84-121123-0000.flac", sr=16000)
    _wav(d / "84-121123-0001.flac", sr=16000)
    _write(d / "84-121123.trans.txt", "84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS THAN FIVE MINUTES\n")
    items = read_manifest(corpus_manifest("librispeech", tmp_path, tmp_path / "m.jsonl"))
    assert [it["text"] for it in items] == ["go do you hear", "but in less than five minutes"]
    assert all(it["split"] == "valid" and it["sr"] == 16000 for it in items)
    _write(d / "84-121123.trans.txt", "84-121123-0009 MISSING AUDIO\n")
    with pytest.raises(ManifestError, match="trans.txt:1: audio 84-121123-0009.flac is missing"):
        corpus_manifest("librispeech", tmp_path, tmp_path / "m.jsonl")


def test_wrong_root(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        corpus_manifest("boeck", tmp_path, tmp_path / "m.jsonl")
