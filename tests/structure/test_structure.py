"""Structure task: baselines, CNN pipeline plumbing, formats, scores, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.types import Segments

from .conftest import SR, song


def test_aba_song_boundaries_and_repeat_labels(aba):
    from audiodl.tasks.structure import segmenter
    path, bounds = aba
    seg = segmenter("foote")(path)
    found = seg.intervals[1:, 0]
    assert len(found) == 2, seg
    assert np.all(np.abs(found - bounds) <= 0.5), found
    assert seg.labels == ("A", "B", "A")
    assert seg.intervals[0, 0] == 0 and abs(seg.intervals[-1, 1] - 60.0) < 0.05


def test_aba_song_structural_features(aba):
    """SF is the coarser baseline: every boundary within 3 s, repeats grouped."""
    from audiodl.evaluation.segment import evaluate
    from audiodl.tasks.structure import segmenter
    path, bounds = aba
    seg = segmenter("sf")(path)
    ref = Segments(intervals=[[0, 20], [20, 40], [40, 60]], labels=("a", "b", "a"))
    r = evaluate(ref, seg)
    assert r["hr3_r"] == 1.0, seg
    assert r["pairwise_f"] > 0.7, (seg, r)


def test_abac_labels_distinguish_new_material(tmp_path):
    from audiodl.tasks.structure import Foote
    y, bounds = song("ABAC", [16.0, 16.0, 16.0, 16.0])
    seg = Foote()(y, SR)
    assert np.all(np.abs(seg.intervals[1:, 0] - bounds) <= 0.5), seg
    assert seg.labels == ("A", "B", "A", "C")


@pytest.mark.parametrize("method", ["foote", "sf", "cnn"])
def test_short_file_is_one_segment(method, tiny_card):
    from audiodl.tasks.structure import segmenter
    y, _ = song("AB", [3.0, 3.0])
    pipe = segmenter(method, model=tiny_card if method == "cnn" else None)
    assert pipe.context_seconds > 6.0
    seg = pipe(y, SR)
    assert len(seg) == 1 and seg.labels == ("A",)
    assert seg.intervals[0, 1] == pytest.approx(6.0, abs=1e-3)


def test_cnn_chunked_equals_whole_and_layout(tiny_card):
    from audiodl.tasks.structure import POOL, StructurePipeline
    y, _ = song("ABAB", [30.0, 30.0, 30.0, 30.0])
    pipe = StructurePipeline.from_pretrained(tiny_card)
    whole = pipe.activations(y, SR)
    pipe.chunk_frames = 500  # several backend calls with context on both sides
    chunked = pipe.activations(y, SR)
    n_frames = pipe.config.n_frames(len(y))
    assert whole.values.shape == (-(-n_frames // POOL), 81)
    assert whole.fps == pytest.approx(pipe.config.fps / POOL)
    np.testing.assert_allclose(chunked.values, whole.values, atol=1e-5)
    seg = pipe.decode(whole)
    assert seg.intervals[0, 0] == 0 and seg.intervals[-1, 1] == pytest.approx(120.0, abs=1e-3)


def test_batch_equals_single(aba, tmp_path):
    from audiodl.tasks.structure import Foote
    path, _ = aba
    y, _ = song("BAB", [15.0, 15.0, 15.0])
    other = tmp_path / "bab.wav"
    import soundfile as sf
    sf.write(other, y, SR)
    pipe = Foote()
    single = [pipe(p) for p in (path, str(other))]
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "segment", "--method",
                        "foote", path, str(other), "-o", str(out)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    from audiodl.io.annotations import read_segments
    for s, name in zip(single, ("aba.lab", "bab.lab")):
        got = read_segments(str(out / name), fmt="mirex")
        np.testing.assert_allclose(got.intervals, s.intervals, atol=1e-3)
        assert tuple(got.labels) == s.labels


@pytest.mark.parametrize("fmt", ["mirex", "csv", "json", "jams"])
def test_every_format_parses_back(fmt):
    from audiodl.io.annotations import parse_segments
    from audiodl.tasks.structure import Foote
    seg = Segments(intervals=[[0.0, 10.5], [10.5, 20.25], [20.25, 31.0]],
                   labels=("A", "B", "A"))
    text = Foote().write(seg, fmt, source="x.wav")
    back = parse_segments(text, fmt)
    np.testing.assert_allclose(back.intervals, seg.intervals, atol=1e-3)
    assert tuple(back.labels) == seg.labels
    if fmt == "jams":
        assert json.loads(text)["annotations"][0]["namespace"] == "segment_open"


def test_params_validate_and_override():
    from audiodl.tasks.structure import Foote
    pipe = Foote()
    with pytest.raises(ParameterError, match="pre_max"):
        pipe.params(pre_max=-1.0)
    with pytest.raises(ParameterError, match="unknown"):
        pipe.params(bogus=1.0)
    assert pipe.params(threshold=0.3, post_max=None).post_max == pipe.default_params.post_max
    with pytest.raises(ParameterError, match="unknown structure method"):
        from audiodl.tasks.structure import segmenter
        segmenter("hmm")


def test_activations_roundtrip_redecode(aba, tmp_path):
    from audiodl.tasks.structure import Foote
    from audiodl.types import Activations
    path, _ = aba
    pipe = Foote()
    act = pipe.activations(path)
    assert act.labels[0] == "boundary" and act.values.shape[1] == 81
    act.save(tmp_path / "a.npz")
    again = pipe.decode(Activations.load(tmp_path / "a.npz"))
    ref = pipe.decode(act)
    np.testing.assert_allclose(again.intervals, ref.intervals)
    # a higher label threshold merges everything into one label, boundaries unchanged
    merged = pipe.decode(act, label_threshold=2.0)
    np.testing.assert_allclose(merged.intervals, ref.intervals)
    assert set(merged.labels) == {"A"}


def test_cli_prints_lab_lines_and_plots(aba, tmp_path):
    path, _ = aba
    png = tmp_path / "p.png"
    r = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "segment", "--method",
                        "foote", path, "--plot", str(png)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.strip().splitlines()]
    assert [row[2] for row in rows] == ["A", "B", "A"]
    assert float(rows[0][0]) == 0.0
    assert os.path.getsize(png) > 10000
    bad = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "segment", "--method",
                          "foote", "--pre-max", "-2", path], capture_output=True, text=True)
    assert bad.returncode != 0 and "pre_max" in bad.stderr


def test_public_api(aba):
    import audiodl
    path, bounds = aba
    seg = audiodl.segment(path, method="foote")
    assert isinstance(seg, Segments) and seg.labels == ("A", "B", "A")
    assert np.all(np.abs(seg.intervals[1:, 0] - bounds) <= 0.5)


def test_frame_pooler_chunks_equal_whole():
    from audiodl.tasks.structure_baselines import FramePooler
    x = np.random.default_rng(0).standard_normal((100, 5)).astype(np.float32)
    whole = FramePooler(6)
    w = [whole.push(x), whole.flush()]
    p = FramePooler(6)
    parts = [p.push(x[a:b]) for a, b in ((0, 3), (3, 4), (4, 50), (50, 100))] + [p.flush()]
    for i in (0, 1):  # max, mean
        got = np.concatenate([q[i] for q in parts if len(q[i])])
        ref = np.concatenate([q[i] for q in w if len(q[i])])
        np.testing.assert_allclose(got, ref)
    assert len(ref) == 17  # ceil(100 / 6): the last frame pools the 4 frames left
    np.testing.assert_allclose(ref[-1], x[96:].mean(axis=0), rtol=1e-6)


def test_label_clustering_equals_sklearn_agglomerative():
    """scipy linkage + fcluster = sklearn AgglomerativeClustering (average, threshold)."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    from audiodl.tasks.structure_baselines import cluster_labels, section_names
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 25))
        x = rng.random((n, 3))
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        np.fill_diagonal(d, 0.0)
        thr = float(rng.uniform(0.05, 1.0))
        cl = sklearn_cluster.AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average",
            distance_threshold=thr).fit(d).labels_
        m = {}
        assert cluster_labels(d, thr) == [section_names(n)[m.setdefault(c, len(m))]
                                          for c in cl]


def test_recurrence_to_lag_equals_librosa():
    librosa = pytest.importorskip("librosa")
    from audiodl.tasks.structure_baselines import _recurrence_to_lag
    rng = np.random.default_rng(0)
    rec = rng.random((37, 37)) > 0.7
    np.testing.assert_array_equal(
        _recurrence_to_lag(rec),
        librosa.segment.recurrence_to_lag(rec.astype(np.float32), pad=True))


@pytest.mark.parametrize("args", [{"sslm_lags": 12}, {"sslm_lags": 12, "sslm_conv": 2},
                                  {"sslm_lags": 12, "sslm_conv": 2, "sslm_kernel": 5,
                                   "sslm_lag_pool": 3}])
def test_boundary_cnn_receptive_field_bounds_the_context(args):
    """Frames beyond receptive_field / 2 never move an output; the lag branches reach L frames."""
    import torch

    from audiodl.models.structure import BoundaryCNN
    torch.manual_seed(0)
    m = BoundaryCNN(channels=2, hidden=4, dilations=(1, 2), **args).eval()
    pool, half = m.pool, m.receptive_field // 2
    n = 2 * m.receptive_field + 10 * pool
    x = torch.randn(1, n, 80)
    t = n // pool // 2                                   # an output frame in the middle
    far = t * pool + half + pool                         # input frames beyond the bound
    y = x.clone()
    y[0, far:] += 5.0 * torch.randn_like(y[0, far:])
    with torch.no_grad():
        assert torch.equal(m(x)[0, t], m(y)[0, t])
        # the lag features: a frame L pooled frames away still counts
        z = x.clone()
        z[0, (t + args["sslm_lags"]) * pool:(t + args["sslm_lags"] + 1) * pool] += 5.0
        assert not torch.allclose(m(x)[0, t], m(z)[0, t])


def test_boundary_cnn_rejects_bad_sslm_args():
    from audiodl.models.structure import BoundaryCNN
    with pytest.raises(ValueError, match="sslm_lags"):
        BoundaryCNN(sslm_conv=4)
    with pytest.raises(ValueError, match="odd"):
        BoundaryCNN(sslm_lags=8, sslm_conv=4, sslm_kernel=4)
    with pytest.raises(ValueError, match="sslm_lag_pool"):
        BoundaryCNN(sslm_lags=8, sslm_conv=4, sslm_lag_pool=0)


def test_split_repeats_finds_a_back_to_back_repeat():
    """A B [A A] B with the A | A boundary missing: split where the copy of A ends."""
    from audiodl.tasks.structure_baselines import StructureParams, decode_structure, split_repeats
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((80, 12)), rng.standard_normal((60, 12))
    feats = np.concatenate([a, b, a, a, b]) + 0.3 * rng.standard_normal((360, 12))
    fps, times = 10.0, np.array([8.0, 14.0, 30.0])  # found: A|B, B|A, A|B; missed: A|A at 22 s
    got = split_repeats(times, feats, fps, threshold=0.6, min_segment=3.0)
    np.testing.assert_allclose(got, [8.0, 14.0, 22.0, 30.0])
    assert np.array_equal(split_repeats(times, feats, fps, threshold=0.0, min_segment=3.0), times)
    # new material of twice a segment's length is left alone
    c = rng.standard_normal((160, 12))
    other = np.concatenate([a, b, c, b]) + 0.3 * rng.standard_normal((360, 12))
    np.testing.assert_allclose(split_repeats(times, other, fps, threshold=0.6, min_segment=3.0),
                               times)
    # in the decoder: A A found as one segment is new material (C); split, both halves are A
    curve = np.zeros(360, np.float32)
    curve[[80, 140, 300]] = 1.0
    p = StructureParams(threshold=0.5, pre_max=3.0, post_max=3.0, label_threshold=0.5)
    assert decode_structure(curve, feats, fps, 36.0, p).labels == ("A", "B", "C", "B")
    seg = decode_structure(curve, feats, fps, 36.0, p.replace(repeat_split=0.6))
    assert seg.labels == ("A", "B", "A", "A", "B")
    np.testing.assert_allclose(seg.intervals[1:, 0], [8.0, 14.0, 22.0, 30.0])
    with pytest.raises(ParameterError, match="repeat_split"):
        StructureParams(repeat_split=1.5)


def test_split_halves_splits_a_doubled_section_only():
    """B C B C A A (A only ever doubled): the long A A segment is split in the middle; new
    material of the same length, and a song where every segment is doubled, are left alone."""
    from audiodl.decoders.sections import split_halves
    from audiodl.tasks.structure_baselines import StructureParams, decode_structure
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal((80, 12)) for _ in range(3))
    feats = np.concatenate([b, c, b, c, a, a]) + 0.3 * rng.standard_normal((480, 12))
    fps, found = 10.0, np.array([8.0, 16.0, 24.0, 32.0])   # the A | A at 40 s was missed

    def halves(times, x, ratio=1.4):
        return split_halves(times, x, fps, ratio=ratio, threshold=0.6, min_segment=3.0)
    np.testing.assert_allclose(halves(found, feats), [8.0, 16.0, 24.0, 32.0, 40.0])
    assert np.array_equal(halves(found, feats, ratio=0.0), found)
    assert np.array_equal(halves(found, feats, ratio=2.5), found)  # 16 s < 2.5 x 8 s
    # new material twice the usual length (its halves differ) is not split
    other = np.concatenate([b, c, b, c, rng.standard_normal((160, 12))])
    assert np.array_equal(halves(found, other + 0.3 * rng.standard_normal(other.shape)), found)
    # A A | B B | A A: every segment doubled, nothing longer than usual: nothing to go by
    doubled = np.concatenate([a, a, b, b, a, a]) + 0.3 * rng.standard_normal((480, 12))
    np.testing.assert_allclose(halves(np.array([16.0, 32.0]), doubled), [16.0, 32.0])
    # in the decoder, after the repeat split (which has no single A to match here)
    curve = np.zeros(480, np.float32)
    curve[[80, 160, 240, 320]] = 1.0
    p = StructureParams(threshold=0.5, pre_max=3.0, post_max=3.0, label_threshold=0.5,
                        repeat_split=0.6)
    assert decode_structure(curve, feats, fps, 48.0, p).labels == ("A", "B", "A", "B", "C")
    seg = decode_structure(curve, feats, fps, 48.0, p.replace(half_split=1.4))
    assert seg.labels == ("A", "B", "A", "B", "C", "C")
    np.testing.assert_allclose(seg.intervals[-1], [40.0, 48.0])


def test_boundary_cnn_ensemble_is_the_mean_member_probability():
    """The ensemble's sigmoid output is the mean of its members' probabilities."""
    import torch

    from audiodl.models.registry import build
    from audiodl.models.structure import BoundaryCNN, BoundaryCNNEnsemble
    args = {"channels": 2, "hidden": 4, "dilations": (1, 2), "sslm_lags": 6, "sslm_conv": 2}
    members = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        m = BoundaryCNN(**args)
        m.set_normalization(torch.randn(80), 1.0 + torch.rand(80))  # each its own statistics
        members.append(m.eval())
    ens = BoundaryCNNEnsemble.from_members(members, args)
    x = torch.randn(2, 200, 80)
    with torch.no_grad():
        want = torch.stack([torch.sigmoid(m(x)) for m in members]).mean(0)
        got = torch.sigmoid(ens(x))
    assert got.shape == want.shape == (2, 34, 1)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert (ens.receptive_field, ens.time_stride) == (members[0].receptive_field, 6)
    built = build("boundary_cnn_ensemble", {"members": 3, "member_args": args})
    assert set(built.state_dict()) == set(ens.state_dict())
    with pytest.raises(ValueError, match="members"):
        BoundaryCNNEnsemble(members=0)


def test_tune_decoder_objective_hr3_keeps_a_peak_off_by_two_seconds():
    """Peak picking for HR.5F drops a weak peak 2 s from a boundary (a false alarm at 0.5 s);
    for HR.5F + HR3F it keeps it (a hit at 3 s)."""
    from audiodl.training.specs.structure import tune_decoder
    from audiodl.types import Activations, Segments
    rng = np.random.default_rng(0)
    fps = 10.0
    curve = np.zeros(600, np.float32)
    curve[200], curve[420] = 0.9, 0.3         # boundaries at 20 s (exact) and 40 s (found at 42 s)
    acts = [Activations(values=np.concatenate([curve[:, None], rng.standard_normal((600, 4))],
                                              axis=1).astype(np.float32), fps=fps)]
    refs = [Segments(intervals=np.array([[0, 20], [20, 40], [40, 60]]), labels=("a", "b", "c"))]
    grid = {"threshold": [0.2, 0.5], "look": [3.0], "label_threshold": [0.5],
            "repeat_split": [0.0]}
    dec, s = tune_decoder(acts, refs, grid=grid)
    assert dec["threshold"] == 0.5 and s["hr0.5_f"] == pytest.approx(2 / 3, abs=1e-4)
    dec, s = tune_decoder(acts, refs, grid=grid, objective="hr0.5+hr3")
    assert dec["threshold"] == 0.2 and s["hr3_f"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ParameterError, match="objective"):
        tune_decoder(acts, refs, grid=grid, objective="hr3")
