"""CI-sized corpora of the other tasks, their labels, and the CLI."""

import json
import re

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiodl.data.manifest import read_manifest, read_segments, read_times
from audiodl.data.synth.runner import generate_corpus
from audiodl.data.synth.text import normalize_transcript, sanitize, sentence

from .conftest import require_engines


def test_text_sanitize_and_transcripts():
    assert sanitize('He said: "3 > 2" & left; (really)!') == "He said left really !"
    assert normalize_transcript("Well, it's done. Isn't it?") == "well it's done isn't it"
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = sentence(rng)
        assert s == sanitize(s) and not re.search(r"\d", s)
        assert normalize_transcript(s) and normalize_transcript(s) == normalize_transcript(sanitize(s))


def test_speech_corpus(tmp_path):
    require_engines("speech")
    generate_corpus("speech", tmp_path, hours=0.01, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert len(items) == 9
    for it in items:
        assert it["text"] == normalize_transcript(it["text"]) and len(it["text"].split()) >= 3
        y, sr = sf.read(it["audio"])
        a, b = it["meta"]["speech_span"]
        assert sr == 16000 and 0 < a < b <= it["duration"]
        # most energy is inside the speech span (augmentation adds noise and a reverb tail)
        e = y ** 2
        assert e[int(a * sr):int(b * sr) + int(0.3 * sr)].sum() > 0.8 * e.sum()


def test_speech_corpus_speaks_given_texts(tmp_path):
    require_engines("speech")
    texts = ["please hold the line", "your call is important to us"]
    generate_corpus("speech", tmp_path, hours=0.003, seed=3, jobs=1, texts=texts)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert items and all(it["text"] in texts for it in items)
    info = json.loads((tmp_path / "corpus.json").read_text())
    assert info["texts"]["n"] == 2
    with pytest.raises(Exception, match="texts"):  # not extended with other sentences
        generate_corpus("speech", tmp_path, hours=0.003, seed=3, jobs=1, texts=["other"])
    with pytest.raises(Exception, match="does not take texts"):
        generate_corpus("onsets", tmp_path / "o", hours=0.003, seed=3, texts=texts)


def test_structure_corpus(tmp_path):
    require_engines("structure")
    generate_corpus("structure", tmp_path, hours=0.01, seed=0, jobs=1)
    it = read_manifest(tmp_path / "manifest.jsonl", check_files=True)[0]
    secs = read_segments(it["annotations"]["sections"])
    assert [s[2] for s in secs] == it["meta"]["form"]
    spb = 60.0 / it["meta"]["tempo"]
    bar = spb * it["meta"]["beats_per_bar"]
    for (a, b, _), (c, _, _) in zip(secs, secs[1:]):
        assert b == c and abs(a / bar - round(a / bar)) < 1e-4  # contiguous, on bar starts
    beats = np.loadtxt(it["annotations"]["beats"])
    assert np.allclose(np.diff(beats[:, 0]), spb, atol=2e-6)
    assert len(read_times(it["annotations"]["onsets"])) > 50


def test_similarity_corpus(tmp_path):
    require_engines("similarity")
    generate_corpus("similarity", tmp_path, hours=0.02, seed=0, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    groups = {}
    for it in items:
        groups.setdefault(it["group"], []).append(it["meta"]["relation"])
    for rels in groups.values():
        assert rels[0] == "original" and rels[-1] == "near-duplicate" and "cover" in rels
        assert len({it["split"] for it in items}) >= 1


def test_cli_synth_and_missing_engine(tmp_path, monkeypatch):
    from audiodl.cli.main import cli

    require_engines("onsets")
    r = CliRunner().invoke(cli, ["synth", "onsets", "-o", str(tmp_path / "on"), "--hours", "0.005",
                                 "--seed", "4"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "on" / "corpus.json").read_text())["task"] == "onsets"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no flite / espeak-ng / mbrola
    r = CliRunner().invoke(cli, ["synth", "speech", "-o", str(tmp_path / "sp"), "--hours", "0.01"])
    assert r.exit_code == 3
    assert "skipped" in r.output and "install-system-deps.sh" in r.output


def test_import_asterisk_and_game_music(tmp_path):
    from audiodl.data.importers import import_source
    from audiodl.errors import ParameterError

    try:
        m = import_source("asterisk-en", tmp_path / "ast", limit=3)
    except ParameterError as exc:
        pytest.skip(str(exc))
    items = read_manifest(m, check_files=True)
    assert len(items) == 3 and all(it["text"] and it["sr"] == 16000 for it in items)
    assert items[0]["text"] == "activated"
    segs = read_segments(items[0]["annotations"]["segments"])
    assert segs and segs[0][2] == "speech"
    es = read_manifest(import_source("asterisk-es", tmp_path / "es", limit=2))
    assert {it["split"] for it in es} == {"test"}


def test_singing_vocal_activity_matches_stem(tmp_path):
    require_engines("singing")
    from audiodl.data.synth.common import activity

    generate_corpus("singing", tmp_path, hours=0.03, seed=1, jobs=1, keep_stems=True)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert any("singing" in it["labels"] for it in items)
    for it in items:
        segs = read_segments(it["annotations"]["vocals"])
        assert segs[0][0] == 0.0 and abs(segs[-1][1] - it["duration"]) < 1e-3  # full coverage
        v, sr = sf.read(it["stems"]["vocals"], dtype="float32")
        kind = it["meta"]["kind"]
        if kind in ("instrumental", "choir", "speech"):
            assert not any(s[2] == "sing" for s in segs)
            continue
        assert any(s[2] == "sing" for s in segs), it["id"]
        if kind == "mixed":  # the stem also holds the speech of the intro
            continue
        act, hop = activity(v, sr, threshold_db=-30.0)
        t = np.arange(len(act)) * hop / sr
        sing = np.zeros(len(act), dtype=bool)
        for a, b, lab in segs:
            if lab == "sing":
                sing |= (t >= a - 0.03) & (t < b + 0.03)
        assert not np.any(act & ~sing), it["id"]  # the voice sounds only where labelled
        assert act[sing].mean() > 0.7, it["id"]
