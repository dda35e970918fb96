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


# ------------------------------------------------------------ excerpt search (windows)

@pytest.fixture(scope="module")
def windowed(tiny_card, audio_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("wix") / "index"
    return Index.build([str(audio_dir)], model=tiny_card, output=out, windows=4.0,
                       window_hop=1.0), out


def test_excerpt_search_finds_the_track_of_an_excerpt(windowed, audio_dir):
    import soundfile as sf
    ix, _ = windowed
    assert ix.windows == 4.0 and ix.window_hop == 1.0
    assert len(ix.window_items) > len(ix) and ix.window_items[-1] == len(ix) - 1
    assert np.all(np.diff(ix.window_items) >= 0)
    for f in _tracks(audio_dir):
        y, sr = sf.read(f, dtype="float32")
        part = y[int(2.0 * sr):int(6.0 * sr)]
        hits = ix.query(part, sr, k=3, excerpt=True)
        assert hits[0].path == os.path.abspath(f)
        assert hits[0].score >= hits[1].score >= hits[2].score
        assert [h.rank for h in hits] == [1, 2, 3]


def test_windowed_index_saves_loads_and_appends(windowed, audio_dir, tiny_card, tmp_path):
    from tests.similarity.conftest import SR, make_track
    import soundfile as sf
    ix, out = windowed
    loaded = Index.load(out)
    assert (loaded.windows, loaded.window_hop) == (4.0, 1.0)
    np.testing.assert_array_equal(loaded.window_embeddings, ix.window_embeddings)
    np.testing.assert_array_equal(loaded.window_items, ix.window_items)
    f = _tracks(audio_dir)[3]
    assert loaded.query(f, k=6, excerpt=True) == ix.query(f, k=6, excerpt=True)
    assert json.loads((out / "index.json").read_text())["windows"]["count"] == len(ix.window_items)
    assert loaded.info()["window_count"] == len(ix.window_items)
    # appending: earlier windows unchanged, new ones belong to the new items
    shutil.copytree(out, tmp_path / "copy")
    more = Index.load(tmp_path / "copy")
    extra = tmp_path / "n.wav"
    sf.write(extra, make_track(200, duration=12.0), SR)
    more.add([str(extra)])
    more.save(tmp_path / "copy")
    again = Index.load(tmp_path / "copy")
    m = len(ix.window_items)
    np.testing.assert_array_equal(again.window_embeddings[:m], ix.window_embeddings)
    assert set(again.window_items[m:]) == {len(ix)}
    assert again.query(f, k=6, excerpt=True)[0] == ix.query(f, k=6, excerpt=True)[0]


def test_interrupted_windowed_build_resumes_without_duplicate_windows(tiny_card, audio_dir,
                                                                      tmp_path, monkeypatch,
                                                                      windowed):
    out = tmp_path / "ix"
    real = Index._codes_and_windows
    calls = {"n": 0}

    def dying(self, x, sr=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, x, sr)

    monkeypatch.setattr(Index, "_codes_and_windows", dying)
    with pytest.raises(KeyboardInterrupt):
        Index.build([str(audio_dir)], model=tiny_card, output=out, save_every=0.0, windows=4.0,
                    window_hop=1.0)
    assert len(Index.load(out)) == 3
    monkeypatch.setattr(Index, "_codes_and_windows", real)
    with pytest.raises(ParameterError, match="windows"):  # a resume keeps the settings
        Index.build([str(audio_dir)], model=tiny_card, output=out, windows=8.0)
    ix = Index.build([str(audio_dir)], model=tiny_card, output=out)
    full, _ = windowed
    assert ix.paths == full.paths
    np.testing.assert_array_equal(ix.window_items, full.window_items)
    np.testing.assert_allclose(ix.window_embeddings.astype(np.float32),
                               full.window_embeddings.astype(np.float32), atol=2e-3)


def test_excerpt_search_needs_windows(built, windowed):
    ix, _ = built
    with pytest.raises(ParameterError, match="windows"):
        ix.query(ix.paths[0], excerpt=True)
    wix, _ = windowed
    codes = wix.pipeline(wix.paths[0])
    with pytest.raises(ParameterError, match="window embeddings"):
        wix.add_codes([codes], ["/nowhere/x.wav"])
    with pytest.raises(ParameterError, match="no window embeddings"):
        ix.add_codes([codes], ["/nowhere/x.wav"], windows=[np.zeros((1, ix.n_bits))])
    with pytest.raises(ParameterError, match="already in the index"):
        ix.add_codes([codes], [ix.paths[0]])
    assert len(ix) == 6 and len(ix.codes) == 6  # nothing changed
