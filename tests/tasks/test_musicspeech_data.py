"""Dataset layer of the music/speech task (audiodl.data.dataset)."""

import numpy as np
import pytest
import soundfile as sf

from audiodl.data.dataset import (ExcerptDataset, FeatureCache, FeatureSet, SequenceDataset,
                                  SpecAugment, frame_targets, mix_power, normalization_stats)
from audiodl.features import PRESETS
from audiodl.testing import noise, tone


def test_frame_targets():
    t = frame_targets([(0.0, 0.25, "speech"), (0.1, 0.5, "music"), (0, 1, "other")],
                      n_frames=6, fps=10.0)
    np.testing.assert_array_equal(t[:, 1], [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(t[:, 0], [0, 1, 1, 1, 1, 0])


@pytest.fixture
def corpus(tmp_path):
    items = []
    for i in range(4):
        p = tmp_path / f"m{i}.wav"
        sf.write(p, tone(220.0 * (i + 1), duration=3.0), 22050)
        items.append({"id": f"m{i}", "audio": str(p), "duration": 3.0, "labels": ["music"]})
        p = tmp_path / f"s{i}.wav"
        sf.write(p, noise(duration=0.6, amplitude=0.2), 22050)
        items.append({"id": f"s{i}", "audio": str(p), "duration": 0.6, "labels": ["speech"]})
    return items


def test_cache_and_feature_set(corpus, tmp_path):
    calls = []

    def aug(y, sr, rng):
        calls.append(1)
        return y * 0.5, {}

    cache = FeatureCache(PRESETS["lidy2015"], root=tmp_path / "cache", augment=aug)
    a = cache.get(corpus[0]["audio"])
    assert a.shape[1] == 40 and a.dtype == np.float32
    assert cache.path_for(corpus[0]["audio"]).exists()
    np.testing.assert_array_equal(cache.get(corpus[0]["audio"]), a)  # from disk
    v = cache.get(corpus[0]["audio"], variant=1)
    loud = a > -6  # above the log floor
    np.testing.assert_allclose(v[loud], a[loud] + np.log10(0.25), atol=1e-3)
    cache.get(corpus[0]["audio"], variant=1)
    assert len(calls) == 1
    fs = FeatureSet(corpus, cache, variants=(0,))
    assert len(fs) == 8 and fs.clip_label(0) == 0 and fs.clip_label(1) == 1


def test_datasets(corpus, tmp_path):
    fs = FeatureSet(corpus, FeatureCache(PRESETS["lidy2015"], root=tmp_path / "c"))
    ex = ExcerptDataset(fs, n_frames=40, n_per_epoch=200, augment=SpecAugment(), seed=1)
    ys = np.array([ex[k][1] for k in range(200)])
    assert 0.3 < ys.mean() < 0.7
    x, _ = ex[0]
    assert x.shape == (40, 40) and x.dtype == np.float32
    ex.set_epoch(0)
    np.testing.assert_array_equal(ex[3][0], ex[3][0])  # fixed draws
    seq = SequenceDataset(fs, n_frames=101, time_stride=2, n_per_epoch=20, mix_prob=0.5, seed=0)
    x, y = seq[0]
    assert x.shape == (101, 40) and y.shape == (51, 2)
    assert ((y >= 0) & (y <= 1)).all()
    mean, std = normalization_stats(fs.feats, per="band")
    assert mean.shape == (40,) and (std > 0).all()
    pm, _ = normalization_stats(fs.feats, per="pixel", n_frames=40)
    assert pm.shape == (40, 40)


def test_mix_power_adds_in_power_domain():
    a = np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(mix_power(a, a, 0.0), np.log10(2.0), rtol=1e-5)
