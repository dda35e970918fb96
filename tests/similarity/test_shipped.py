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
