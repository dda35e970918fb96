"""music21-corpus scores as a music source (skipped without music21)."""

import json

import numpy as np
import pytest

from audiodl.data.manifest import read_manifest, read_times
from audiodl.data.synth import scores
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.runner import generate_corpus

from .conftest import require_engines

pytestmark = pytest.mark.skipif(not scores.available(), reason="music21 is not installed")

CHORALE = "bach/bwv103.6.mxl"  # |: A :| B
TUNE = "oneills1850/0001-0050.abc#15"  # ABC repeats


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIODL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_catalogue_and_parse_cached(cache):
    assert CHORALE in scores.catalogue("bach") and TUNE in scores.catalogue("oneill")
    assert len(scores.catalogue("essen")) > 1000
    p = scores.parse_work(CHORALE)
    assert p["parts"] == ["Soprano", "Alto", "Tenor", "Bass"] and len(p["notes"]) > 100
    for start, dur, pitch, part in p["notes"]:
        assert 0 <= start < p["n_quarters"] and dur > 0 and 21 <= pitch <= 108 and 0 <= part < 4
    files = list(cache.rglob("*.json"))
    assert len(files) == 1
    assert scores.parse_work(CHORALE) == p == json.loads(files[0].read_text())  # read back, identical


@pytest.mark.parametrize("work", [CHORALE, TUNE])
def test_repeat_expansion_is_longer(cache, work):
    plain = scores.parse_work(work, expand=False)
    full = scores.parse_work(work)
    assert full["expanded"] and not plain["expanded"]
    assert full["n_quarters"] > plain["n_quarters"] == full["n_quarters_score"]
    assert len(full["notes"]) > len(plain["notes"])


def test_random_score_deterministic(cache):
    a = scores.random_score(np.random.default_rng(7), 25.0)  # parses (cache miss)
    b = scores.random_score(np.random.default_rng(7), 25.0)  # from the cache
    assert a.notes and a.notes == b.notes and a.parts == b.parts and a.meta == b.meta and a.tempo == b.tempo
    c = scores.random_score(np.random.default_rng(8), 25.0)
    assert (c.meta["work"], c.notes) != (a.meta["work"], a.notes)
    fast = scores.random_score(np.random.default_rng(9), 10.0, fast_attack_only=True, source="bach")
    assert all(scores.ATTACK_CLASS[p.program] == "fast" for p in fast.parts)
    assert fast.duration() >= 10.0 and max(n.start for n in fast.notes) * 60 / fast.tempo < 10.0


def test_score_render_onsets_are_note_ons(cache):
    require_engines("onsets")
    from audiodl.data.synth.engines import FluidRenderer

    sr = 44100
    r = FluidRenderer(sr)
    sc = scores.random_score(np.random.default_rng(1), 12.0, fast_attack_only=True, source="oneill")
    notes, programs, _ = sc.to_notes()
    y, onsets = r.render(notes, 12.0, programs=programs)
    r.close()
    starts = np.array([n[0] for n in notes])
    ok = np.isfinite(onsets)
    assert ok.sum() >= 8 and np.all(np.abs(onsets[ok] - starts[ok]) <= 32.5 / sr)
    labels = merge_onsets(onsets[ok])
    for t in starts[ok]:  # every note-on is labelled within the merge window
        assert np.min(np.abs(labels - t)) < 0.03 + 1e-3


def test_onsets_corpus_from_scores(tmp_path, cache, monkeypatch):
    require_engines("onsets")
    monkeypatch.setenv("AUDIODL_SCORES", "1")
    out = tmp_path / "on"
    generate_corpus("onsets", out, hours=0.01, seed=2, jobs=1)
    items = read_manifest(out / "manifest.jsonl", check_files=True)
    from_scores = [it for it in items if "score" in it["meta"]]
    assert from_scores and all(it["meta"]["kind"] == "song" for it in from_scores)
    for it in from_scores:
        labels = np.asarray(read_times(it["annotations"]["onsets"]))
        note_ons = np.loadtxt(it["annotations"]["notes"], ndmin=2)[:, 0]
        truth = merge_onsets(note_ons[note_ons < it["duration"] - 0.02])
        assert len(labels) == len(truth) > 0 and np.allclose(labels, truth, atol=1e-5)


def test_fraction_env(monkeypatch):
    monkeypatch.setenv("AUDIODL_SCORES", "0")
    assert scores.fraction() == 0.0
    monkeypatch.setenv("AUDIODL_SCORES", "0.5")
    assert scores.fraction() == 0.5
    monkeypatch.delenv("AUDIODL_SCORES")
    assert scores.fraction() == scores.FRACTION
