"""Decoders on synthetic activations with hand-computed answers."""

import numpy as np
import pytest

from audiodl.decoders import (decode_segments, drop_short, fill_gaps, frames_to_intervals,
                              hysteresis, median_filter, viterbi_binary)
from audiodl.decoders.smoothing import viterbi_binary_reference
from audiodl.errors import ParameterError
from audiodl.types import Activations


def test_median_filter_removes_isolated_frames():
    x = np.array([0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1], dtype=float)
    out = median_filter(x, size=3)
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(median_filter(x, size=1), x)
    # columns are filtered independently
    two = median_filter(np.stack([x, 1 - x], 1), size=3)
    np.testing.assert_array_equal(two[:, 0], out)


def test_hysteresis_keeps_runs_that_reach_high():
    x = np.array([0.1, 0.45, 0.8, 0.45, 0.1, 0.45, 0.45, 0.1, 0.9], dtype=float)
    out = hysteresis(x, high=0.7, low=0.4)
    np.testing.assert_array_equal(out, [0, 1, 1, 1, 0, 0, 0, 0, 1])
    with pytest.raises(ParameterError):
        hysteresis(x, high=0.3, low=0.5)


def test_frames_to_intervals_and_gap_filling():
    a = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    iv = frames_to_intervals(a, fps=10.0, duration=1.0)
    np.testing.assert_allclose(iv, [[0.05, 0.25], [0.45, 0.55], [0.65, 1.0]])
    np.testing.assert_allclose(fill_gaps(iv, min_gap=0.15), [[0.05, 0.25], [0.45, 1.0]])
    np.testing.assert_allclose(drop_short(iv, min_duration=0.15), [[0.05, 0.25], [0.65, 1.0]])


def test_viterbi_matches_reference_and_smooths():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 0, 1], 200).astype(bool)
    p = np.clip(np.where(truth, 0.7, 0.3) + rng.normal(0, 0.25, truth.shape), 0.01, 0.99)
    fast = viterbi_binary(p, p_stay=(0.99, 0.99))
    np.testing.assert_array_equal(fast, viterbi_binary_reference(p, p_stay=(0.99, 0.99)))
    raw_err = np.mean((p > 0.5) != truth)
    assert np.mean(fast != truth) < raw_err / 3
    assert viterbi_binary(np.zeros(0)).shape == (0,)


def test_decode_segments_overlapping_classes():
    fps = 10.0
    music = np.r_[np.full(50, 0.9), np.full(50, 0.1)]
    speech = np.r_[np.full(30, 0.1), np.full(70, 0.8)]
    act = Activations(values=np.stack([music, speech], 1).astype(np.float32), fps=fps,
                      labels=("music", "speech"))
    seg = decode_segments(act, method="threshold", threshold=0.5)
    assert seg.labels == ("music", "speech")
    np.testing.assert_allclose(seg.intervals, [[0.0, 4.95], [2.95, 10.0]])
    # per-class thresholds; hysteresis; median; viterbi all agree on clean input
    for method in ("hysteresis", "viterbi"):
        s2 = decode_segments(act, method=method, threshold=(0.5, 0.5), median=0.3)
        np.testing.assert_allclose(s2.intervals, seg.intervals)
    with pytest.raises(ParameterError):
        decode_segments(act, threshold=(0.5, 0.5, 0.5))
    with pytest.raises(ParameterError):
        decode_segments(act, method="bogus")


def test_decode_segments_min_duration_drops_blips():
    v = np.zeros((100, 1), np.float32)
    v[10:12] = 0.9
    v[40:80] = 0.9
    act = Activations(values=v, fps=10.0, labels=("speech",))
    seg = decode_segments(act, method="threshold", min_duration=0.5)
    np.testing.assert_allclose(seg.intervals, [[3.95, 7.95]])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 112, 113, 400])
def test_median_at_least_equals_median_filter_then_threshold(size):
    """The count-based decision equals filtering then comparing, ties and edges included."""
    from audiodl.decoders.smoothing import median_at_least
    rng = np.random.default_rng(size)
    # quantised values so that many equal the threshold exactly; short inputs test the edges
    for n in (1, 5, 150, 3000):
        x = np.round(rng.random((n, 2)) ** 2 * 20) / 20
        for t in (0.0, 0.05, 0.5, 0.9, 1.0):
            want = median_filter(x, size=size) >= t
            np.testing.assert_array_equal(median_at_least(x, size=size, threshold=t), want)
            np.testing.assert_array_equal(median_at_least(x[:, 0], size=size, threshold=t),
                                          want[:, 0])


@pytest.mark.parametrize("method", ["threshold", "hysteresis"])
def test_decode_segments_median_decision_matches_filtered_curve(method):
    """decode_segments decides on counts; the segments equal those of the filtered curve."""
    rng = np.random.default_rng(3)
    t = np.arange(5000) / 70.0
    slow = 0.5 + 0.3 * np.sin(2 * np.pi * t / 9.0) + 0.2 * np.sin(2 * np.pi * t / 2.3)
    p = np.clip(slow + rng.normal(0, 0.25, len(t)), 0, 1).astype(np.float32)
    acts = Activations(values=p[:, None], fps=70.0, labels=("sing",))
    for median in (0.2, 0.8, 1.6):
        got = decode_segments(acts, method=method, threshold=0.7, low=0.4, median=median)
        size = max(1, int(round(median * 70.0)))
        filtered = Activations(values=median_filter(p[:, None], size=size), fps=70.0,
                               labels=("sing",))
        want = decode_segments(filtered, method=method, threshold=0.7, low=0.4, median=0.0)
        assert len(want) > 3
        np.testing.assert_array_equal(got.intervals, want.intervals)
