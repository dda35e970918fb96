"""The similarity index: search, save/load, appending, resuming, bad files, engines."""

import json
import os
import shutil

import numpy as np
import pytest

from audiodl.errors import AudiodlError, ParameterError
from audiodl.index import Index


def _tracks(d):
    return sorted(str(p) for p in d.rglob("*.wav"))


@pytest.fixture(scope="module")
def built(tiny_card, audio_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ix") / "index"
    return Index.build([str(audio_dir)], model=tiny_card, output=out), out


def test_recursive_build_and_identical_audio_is_its_own_top_hit(built, audio_dir):
    ix, _ = built
    files = _tracks(audio_dir)
    assert len(ix) == len(files) == 6  # sub-folder included
    for f in files:
        hits = ix.query(f, k=3)
        assert hits[0].path == os.path.abspath(f)
        assert hits[0].hamming == 0 and hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert [h.rank for h in hits] == [1, 2, 3]
        assert hits[0].score >= hits[1].score >= hits[2].score


def test_query_without_rerank_is_hamming_order(built, audio_dir):
    ix, _ = built
    hits = ix.query(_tracks(audio_dir)[0], k=6, rerank=False)
    ham = [h.hamming for h in hits]
    assert ham == sorted(ham) and ham[0] == 0
    assert [h.score for h in hits] == [1 - d / ix.n_bits for d in ham]


def test_saved_and_loaded_index_answers_identically(built, audio_dir):
    ix, out = built
    loaded = Index.load(out)
    assert len(loaded) == len(ix) and loaded.paths == ix.paths
    np.testing.assert_array_equal(loaded.codes, ix.codes)
    for f in _tracks(audio_dir):
        assert loaded.query(f, k=6) == ix.query(f, k=6)
    meta = json.loads((out / "index.json").read_text())
    assert meta["format"] == "audiodl-index" and meta["version"] == 1
    assert meta["model"] == "similarity_tiny_test" and meta["card"]["task"] == "similarity"
    assert meta["frontend"]["filterbank"] == "logfreq"


def test_adding_files_keeps_earlier_results(tiny_card, audio_dir, tmp_path):
    from tests.similarity.conftest import SR, make_track
    import soundfile as sf
    files = _tracks(audio_dir)
    ix = Index.build(files[:3], model=tiny_card, output=tmp_path / "a")
    before = {f: ix.query(f, k=3) for f in files[:3]}
    ids_before = list(ix.paths)
    extra = tmp_path / "new"
    extra.mkdir()
    for i in range(2):
        sf.write(extra / f"n{i}.wav", make_track(100 + i), SR)
    report = ix.add([str(extra), files[0]])  # files[0] is already in: skipped
    assert len(report.added) == 2 and report.skipped == [files[0]]
    ix.save(tmp_path / "a")
    again = Index.load(tmp_path / "a")
    assert again.paths[:3] == ids_before  # ids are stable
    for f in files[:3]:
        assert again.query(f, k=1) == before[f][:1]
        kept = {h.path for h in before[f]}
        new = again.query(f, k=5)
        assert kept <= {h.path for h in new}  # old neighbours still found
    assert again.query(str(extra / "n1.wav"), k=1)[0].path == str(extra / "n1.wav")


def test_interrupted_build_resumes_without_duplicates(tiny_card, audio_dir, tmp_path,
                                                      monkeypatch):
    from audiodl.tasks.similarity import SimilarityPipeline
    out = tmp_path / "ix"
    real_call = SimilarityPipeline.__call__
    calls = {"n": 0}

    def dying(self, x, sr=None, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # Ctrl-C during the fourth file
        return real_call(self, x, sr, **kw)

    monkeypatch.setattr(SimilarityPipeline, "__call__", dying)
    with pytest.raises(KeyboardInterrupt):
        Index.build([str(audio_dir)], model=tiny_card, output=out, save_every=0.0)
    partial = Index.load(out)
    assert len(partial) == 3
    monkeypatch.setattr(SimilarityPipeline, "__call__", real_call)
    calls["n"] = 0
    ix = Index.build([str(audio_dir)], model=tiny_card, output=out)
    assert len(ix) == 6 and len(set(ix.paths)) == 6
    assert len(ix.last_report.added) == 3 and len(ix.last_report.skipped) == 3
    assert Index.load(out).paths == ix.paths


def test_interrupted_save_keeps_the_previous_state(built, tmp_path):
    _, out = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    # a crash after the arrays were rewritten but before index.json: extra rows ignored
    codes = np.load(copy / "codes.npy")
    np.save(copy / "codes.npy", np.concatenate([codes, codes[:1]]))
    (copy / "codes.faiss").write_bytes(b"")  # and a damaged faiss file is rebuilt
    ix = Index.load(copy)
    assert len(ix) == len(codes)


def test_unreadable_files_are_skipped_and_reported(tiny_card, audio_dir, tmp_path):
    from audiodl.testing import write_bad_files
    bad = write_bad_files(tmp_path / "bad")
    ix = Index.build([str(audio_dir), bad["not_audio"], bad["truncated"], bad["empty"]],
                     model=tiny_card, output=tmp_path / "ix")
    failed = dict(ix.last_report.failed)
    assert set(failed) == {bad["not_audio"], bad["truncated"], bad["empty"]}
    assert all(msg.startswith(p) for p, msg in failed.items())
    assert len(ix) == 6
    assert Index.load(tmp_path / "ix").info()["failed"] == 3


@pytest.mark.parametrize("kind", ["mih", "ivf"])
def test_other_engines_find_identical_audio(tiny_card, audio_dir, tmp_path, kind):
    ix = Index.build([str(audio_dir)], model=tiny_card, kind=kind, output=tmp_path / kind)
    assert ix.info()["kind"] == kind
    f = _tracks(audio_dir)[1]
    assert ix.query(f, k=1)[0].path == os.path.abspath(f)
    assert Index.load(tmp_path / kind).query(f, k=3) == ix.query(f, k=3)


def test_flat_engine_matches_numpy_hamming_reference():
    from audiodl.decoders.hamming import hamming_distances
    from audiodl.index import engine
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (500, 16), dtype=np.uint8)
    q = rng.integers(0, 256, (5, 16), dtype=np.uint8)
    e = engine.add(engine.make_engine("flat", 128), codes)
    dist, ids = engine.search(e, q, 500)
    ref = hamming_distances(q, codes)
    np.testing.assert_array_equal(np.take_along_axis(ref, ids, 1), dist)
    np.testing.assert_array_equal(np.sort(ref, axis=1), dist)


def test_bad_arguments(tiny_card, built, tmp_path):
    ix, _ = built
    with pytest.raises(ParameterError, match="kind"):
        Index.build([], model=tiny_card, kind="lsh")
    with pytest.raises(ParameterError, match="k must be"):
        ix.query_codes(ix.pipeline(ix.paths[0]), k=0)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "index.json").write_text('{"format": "other"}')
    with pytest.raises(AudiodlError, match="not an audiodl index"):
        Index.load(tmp_path / "junk")
