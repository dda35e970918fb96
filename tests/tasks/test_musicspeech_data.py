"""Dataset layer of the music/speech task (audiodl.data.dataset)."""

import numpy as np
import pytest
import soundfile as sf

from audiodl.data.augment import SpecAugment, mix_power
from audiodl.errors import ParameterError
from audiodl.data.dataset import (ExcerptDataset, FeatureCache, FeatureSet, SequenceDataset,
                                  frame_targets, normalization_stats)
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


def test_cache_fill_in_processes_matches_get(corpus, tmp_path, monkeypatch):
    paths = [it["audio"] for it in corpus]
    par = FeatureCache(PRESETS["lidy2015"], root=tmp_path / "par")
    assert par.fill(paths + paths[:1], jobs=2) == len(paths)  # duplicates computed once
    assert par.fill(paths, jobs=2) == 0  # nothing left to do
    one = FeatureCache(PRESETS["lidy2015"], root=tmp_path / "one")
    for p in paths:
        np.testing.assert_array_equal(par.get(p), one.get(p))
    monkeypatch.setenv("AUDIODL_FRONTEND", "numpy")  # the numba-free front end, same features
    num = FeatureCache(PRESETS["lidy2015"], root=tmp_path / "num")
    np.testing.assert_allclose(num.get(paths[0]), one.get(paths[0]), rtol=1e-3, atol=5e-3)


def test_datasets(corpus, tmp_path):
    fs = FeatureSet(corpus, FeatureCache(PRESETS["lidy2015"], root=tmp_path / "c"))
    ex = ExcerptDataset(fs, n_frames=40, n_per_epoch=200, augment=SpecAugment(), seed=1)
    ys = np.array([ex[k][1] for k in range(200)])
    assert 0.3 < ys.mean() < 0.7
    x, _ = ex[0]
    assert x.shape == (40, 40) and x.dtype == np.float32
    np.testing.assert_array_equal(ex[3][0], ex[3][0])  # draws depend on (seed, epoch, k) only
    first = ex[3][0]
    ex.set_epoch(1)
    assert not np.array_equal(ex[3][0], first)  # new excerpts in a new epoch
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


def test_sequence_context_and_tiles(corpus, tmp_path):
    fs = FeatureSet(corpus, FeatureCache(PRESETS["lidy2015"], root=tmp_path / "c"))
    seq = SequenceDataset(fs, n_frames=50, context=7, n_per_epoch=4, seed=0)
    x, y = seq[0]
    assert x.shape == (64, 40) and y.shape == (50, 2)
    tiles = SequenceDataset(fs, n_frames=50, context=3, tiles=True)
    assert len(tiles) == sum(-(-len(f) // 50) for f in fs.feats)
    i, s, n = tiles.tiles[1]
    x, y = tiles[1]
    f = fs.feats[i].astype(np.float32)
    np.testing.assert_array_equal(x[3:3 + n], f[s:s + n])
    np.testing.assert_array_equal(y[:n], fs.targets[i][s:s + n])
    last = [k for k, t in enumerate(tiles.tiles) if t[0] == 0][-1]
    x, y = tiles[last]
    _, s, n = tiles.tiles[last]
    assert (y[n:] == 0).all() and np.array_equal(x[3 + n:], np.repeat(f[-1:], 50 - n + 3, 0))


def test_multichannel_features_are_frame_major(tmp_path):
    from audiodl.testing import clicks
    p = tmp_path / "c.wav"
    sf.write(p, clicks([0.5, 1.0], sr=44100, length=2.0), 44100)
    item = {"id": "c", "audio": str(p), "duration": 2.0, "onsets": np.array([0.5, 1.0])}
    fs = FeatureSet([item], FeatureCache(PRESETS["onset_cnn"], root=tmp_path / "c"),
                    targets=lambda it, n, fps: np.zeros((n, 2), np.float32), labels=("a", "b"))
    assert fs.feats[0].shape[1:] == (3, 80) and fs.targets[0].shape == (len(fs.feats[0]), 2)
    mean, std = normalization_stats(fs.feats, per="band")
    assert mean.shape == (3, 80) and (std >= 0).all()


def test_excerpts_from_mixed_entries(tmp_path):
    p = tmp_path / "mix.wav"
    sf.write(p, np.concatenate([tone(440.0, duration=2.0), noise(duration=2.0)]), 22050)
    item = {"id": "mix", "audio": str(p), "duration": 4.0,
            "segments": [(0.0, 2.0, "music"), (2.0, 4.0, "speech")]}
    fs = FeatureSet([item], FeatureCache(PRESETS["lidy2015"], root=tmp_path / "c"))
    with pytest.raises(Exception, match="mixed=True"):
        ExcerptDataset(fs, n_frames=40, n_per_epoch=10)
    ex = ExcerptDataset(fs, n_frames=40, n_per_epoch=100, mixed=True, seed=0)
    for k in range(100):  # every excerpt lies inside its class's segment
        x, y = ex[k]
        _, starts, _ = ex.by_class[int(y)][0]
        assert x.shape == (40, 40)
    music, speech = ex.by_class[0][0][1], ex.by_class[1][0][1]
    fps = fs.fps
    assert music.max() + 40 <= 2.0 * fps + 1 and speech.min() >= 2.0 * fps - 1


def test_sequence_loops_short_entries_without_targets():
    class _Set:  # the attributes SequenceDataset reads from a FeatureSet
        fps = 86.1

        def __init__(self):
            rng = np.random.default_rng(0)
            self.feats = [rng.normal(size=(40, 5)).astype(np.float32),
                          rng.normal(size=(30, 5)).astype(np.float32),
                          rng.normal(size=(500, 5)).astype(np.float32)]
            self.targets = [np.zeros((40, 2), np.float32), np.ones((30, 2), np.float32),
                            np.ones((500, 2), np.float32)]

        def __len__(self):
            return 3

    data = _Set()
    seq = SequenceDataset(data, n_frames=200, context=3, n_per_epoch=40, seed=0,
                          weights=[1, 0, 0], loop_prob=1.0)
    assert seq.loopable.tolist() == [True, False, False]  # short and without targets only
    f = data.feats[0]
    for k in range(40):
        x, y = seq[k]
        assert x.shape == (206, 5) and not y.any()
        # periodic: the entry recurs whole, every period (40 frames + a fixed pause)
        starts = [s for s in range(len(x)) if np.array_equal(x[s], f[0])]
        assert starts and all(x[s:s + 40].tolist() == f[:len(x) - s].tolist() for s in starts)
        if len(starts) > 1:
            p = starts[1] - starts[0]
            assert p >= 40 and np.array_equal(x[starts[0]:len(x) - p], x[starts[0] + p:])
    off = SequenceDataset(data, n_frames=200, n_per_epoch=4, seed=0, weights=[1, 0, 0])
    assert not off.loopable.any()  # loop_prob 0 (default): strung with other short entries
    with pytest.raises(ParameterError):
        SequenceDataset(data, n_frames=200, loop_prob=1.5)


def test_sequence_start_prob_draws_file_starts():
    class _Set:
        fps = 100.0

        def __init__(self):
            rng = np.random.default_rng(1)
            self.feats = [rng.normal(size=(600, 4)).astype(np.float32)]
            self.targets = [np.arange(600, dtype=np.float32)[:, None]]  # target = frame index

        def __len__(self):
            return 1

    data = _Set()
    first = lambda seq: [int(seq[k][1][0, 0]) for k in range(len(seq))]  # noqa: E731
    always = SequenceDataset(data, n_frames=50, context=5, n_per_epoch=30, seed=0, start_prob=1.0)
    assert first(always) == [0] * 30
    x, _ = always[0]
    # the left context repeats the first frame, as the runner pads at inference
    assert np.array_equal(x[:5], np.repeat(data.feats[0][:1], 5, axis=0))
    assert np.array_equal(x[5:], data.feats[0][:55])
    # 0 (default) draws nothing: the same windows as before the option existed
    plain = first(SequenceDataset(data, n_frames=50, context=5, n_per_epoch=30, seed=0))
    assert plain.count(0) < 3
    zero = first(SequenceDataset(data, n_frames=50, context=5, n_per_epoch=30, seed=0,
                                 start_prob=0.0))
    assert zero == plain
    half = first(SequenceDataset(data, n_frames=50, context=5, n_per_epoch=200, seed=0,
                                 start_prob=0.5))
    assert 60 <= half.count(0) <= 140
    with pytest.raises(ParameterError):
        SequenceDataset(data, n_frames=50, start_prob=1.5)
