"""The real-recording near-duplicate stage (recipes/similarity/near_duplicates.py): its matchers
agree with their references, the builder is reproducible and splits by family, and scoring finds
clean excerpts (Chromaprint, when fpcalc is installed)."""

import json
import os
import shutil
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(ROOT, "recipes", "similarity")


@pytest.fixture(scope="module")
def nd():
    sys.path.insert(0, RECIPE)
    try:
        import evaluate
        import near_duplicates
    finally:
        sys.path.remove(RECIPE)
    return near_duplicates, evaluate


def test_vectorised_chromaprint_matcher_equals_the_loop(nd):
    near_duplicates, evaluate = nd
    rng = np.random.default_rng(0)
    r = rng.integers(0, 2 ** 32, 300, dtype=np.uint64).astype(np.uint32)
    q = r[100:180] ^ (rng.random(80) < 0.3).astype(np.uint32)  # a noisy excerpt
    refs = [r, rng.integers(0, 2 ** 32, 50, dtype=np.uint64).astype(np.uint32), r[:20], r[:5]]
    got = near_duplicates.chroma_scores(q, refs)
    want = [evaluate._chroma_score(q, x) for x in refs[:3]] + [0.0]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.argmax(got) == 0


def test_window_embeddings():
    from audiodl.decoders.hamming import window_embeddings
    rng = np.random.default_rng(1)
    v = rng.random((23, 4))
    w = window_embeddings(v, 5, 4)
    starts = [0, 4, 8, 12, 16, 18]  # the last window ends at the last frame
    np.testing.assert_allclose(w, [2 * v[s:s + 5].mean(0) - 1 for s in starts], atol=1e-6)
    np.testing.assert_allclose(window_embeddings(v[:3], 5, 4),
                               [2 * v[:3].mean(0) - 1], atol=1e-6)


def test_family_and_split(nd):
    near_duplicates, _ = nd
    assert near_duplicates.family("gm-wesnoth-frantic-old") == "gm-wesnoth-frantic"
    assert near_duplicates.family("gm-nexuiz-sixtyfour_revisited") == "gm-nexuiz-sixtyfour"
    assert near_duplicates.family("gm-wesnoth-victory2") == "gm-wesnoth-victory"
    assert near_duplicates.family("gm-hyperrogue-hr3-caves") == "gm-hyperrogue-hr3-caves"
    splits = {near_duplicates.split_of(f"fam{i}", seed=0) for i in range(40)}
    assert splits == {"valid", "test"}


@pytest.fixture(scope="module")
def corpus(nd, tmp_path_factory):
    """Four 'tracks' (one too short for queries) and the near-duplicate set built on them."""
    import soundfile as sf

    from audiodl.data.manifest import write_manifest
    from tests.similarity.conftest import SR, make_track
    near_duplicates, _ = nd
    d = tmp_path_factory.mktemp("nd")
    items = []
    for i, dur in enumerate([40.0, 36.0, 45.0, 12.0]):
        f = d / "src" / f"t{i}.flac"
        f.parent.mkdir(exist_ok=True)
        sf.write(f, make_track(300 + i, duration=dur), SR)
        items.append({"id": f"gm-test-song{i}", "audio": str(f), "duration": dur, "sr": SR,
                      "split": "train", "source": "test", "group": f"song{i}"})
    write_manifest(d / "src" / "manifest.jsonl", items)
    out = d / "set"
    built = near_duplicates.build([d / "src" / "manifest.jsonl"], out, seed=0, per_track=3)
    return near_duplicates, out, built


def test_build_writes_edited_excerpts_and_is_reproducible(corpus):
    near_duplicates, out, built = corpus
    originals = [it for it in built if it["meta"]["relation"] == "original"]
    queries = [it for it in built if it["meta"]["relation"] == "near-duplicate"]
    assert len(originals) == 4 and len(queries) == 9  # the 12 s track gives none
    assert {q["meta"]["of"] for q in queries} == {"gm-test-song0", "gm-test-song1", "gm-test-song2"}
    by_id = {it["id"]: it for it in originals}
    for q in queries:
        assert q["meta"]["condition"] in near_duplicates.CONDITIONS
        assert q["split"] == by_id[q["meta"]["of"]]["split"]  # a query stays with its track
        assert 9.0 <= q["duration"] <= 22.5 and os.path.exists(q["audio"])
    assert len({q["meta"]["condition"] for q in queries}) >= 6  # dealt from a shuffled deck
    before = (out / "manifest.jsonl").read_text()
    again = near_duplicates.build([out.parent / "src" / "manifest.jsonl"], out, seed=0, per_track=3)
    assert (out / "manifest.jsonl").read_text() == before and len(again) == len(built)
    info = json.loads((out / "corpus.json").read_text())
    assert info["collection"] == 4 and sum(info["queries"].values()) == 9


def test_score_ranks_every_query(corpus, tiny_card):
    near_duplicates, out, built = corpus
    chroma = shutil.which("fpcalc") is not None
    res = near_duplicates.score(out / "manifest.jsonl", tiny_card, candidates=2, windows=(5.0,),
                                chromaprint=chroma, index_windows=5.0)
    assert res["collection"] == 4 and len(res["queries"]) == 9
    methods = {"exact", "codes", "codes+rerank", "windows5s", "index excerpt 5s"} | (
        {"chromaprint"} if chroma else set())
    for row in res["queries"]:
        assert set(row["ranks"]) == methods
        assert all(1 <= r <= 4 for r in row["ranks"].values())
    # the index's excerpt search is the recipe's window measure (float16 storage aside)
    same = [r["ranks"]["index excerpt 5s"] == r["ranks"]["windows5s"] for r in res["queries"]]
    assert sum(same) >= 8
    assert res["index"]["window_count"] > res["index"]["count"] == 4
    n = sum(s["all"]["exact"]["n"] for s in res["splits"].values())
    assert n == 9
    if chroma:  # an unedited excerpt is found by its fingerprint
        clean = [r for r in res["queries"] if r["condition"] == "clean"]
        assert clean and all(r["ranks"]["chromaprint"] == 1 for r in clean)
    assert "| exact |" in near_duplicates.table(res, "test" if res["splits"]["test"]["all"]["exact"]["n"]
                                                else "valid")
