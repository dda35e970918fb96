"""The shipped similarity encoder answers right on generated audio."""

import numpy as np
import pytest

from audiodl import pretrained

pytestmark = pytest.mark.skipif(not pretrained.list_models("similarity"),
                                reason="no shipped similarity model")


def test_near_duplicate_finds_its_original(tmp_path):
    """An edited excerpt (EQ, noise, gain, 60 % of the track) retrieves its original."""
    import soundfile as sf

    from audiodl.data.augment import add_noise, equalize
    from audiodl.index import Index
    from tests.similarity.conftest import SR, make_track
    files = []
    for i in range(5):
        f = tmp_path / f"song{i}.wav"
        sf.write(f, make_track(20 + i, duration=20.0), SR)
        files.append(str(f))
    ix = Index.build(files)
    assert ix.card.name == pretrained.default_model("similarity")
    y = make_track(22, duration=20.0)[int(4 * SR):int(16 * SR)]
    y = equalize(y, SR, bands=[(200.0, 4.0, 1.0), (3000.0, -6.0, 1.0)])
    y = add_noise(0.7 * y, snr_db=25.0, rng=np.random.default_rng(0))
    hits = ix.query(y, SR, k=2)
    assert hits[0].path == files[2]
    assert hits[0].score > hits[1].score



def test_excerpt_search_finds_the_track_of_an_excerpt(tmp_path):
    """10 s excerpts (at -6 dB) of 40 s tracks, found by their best 10 s window.

    (Edited excerpts of these generated tracks are not found reliably by either search:
    see the near-duplicate table of recipes/similarity/README.md for real music.)"""
    import soundfile as sf

    from audiodl.index import Index
    from tests.similarity.conftest import SR, make_track
    files = []
    for i in range(6):
        f = tmp_path / f"song{i}.wav"
        sf.write(f, make_track(40 + i, duration=40.0), SR)
        files.append(str(f))
    ix = Index.build(files, windows=10.0, window_hop=2.5, output=tmp_path / "ix")
    ix = Index.load(tmp_path / "ix")
    for j, start in ((0, 0.0), (1, 5.0), (2, 15.0), (4, 27.0)):
        y = 0.5 * make_track(40 + j, duration=40.0)[int(start * SR):int((start + 10) * SR)]
        hits = ix.query(y, SR, k=2, excerpt=True)
        assert hits[0].path == files[j]
        assert hits[0].score > hits[1].score
