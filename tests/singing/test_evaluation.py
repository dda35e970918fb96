"""Frame-wise singing-voice scores (70 fps grid, counts summed over files)."""

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.evaluation import singing as ev


def test_counts_and_scores_on_a_known_case():
    ref = [(0.0, 4.0, "sing"), (4.0, 10.0, "nosing")]  # Jamendo .lab rows
    est = [(2.0, 6.0, "singing")]
    r = ev.evaluate(ref, est, duration=10.0)
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (140, 140, 140, 280)
    assert r["error"] == pytest.approx(0.4)
    assert r["precision"] == pytest.approx(0.5) and r["recall"] == pytest.approx(0.5)
    assert r["specificity"] == pytest.approx(280 / 420)
    assert r["f1"] == pytest.approx(0.5)
    assert r["false_positive_rate"] == pytest.approx(1 - r["specificity"])


def test_perfect_and_empty_files():
    r = ev.evaluate([(1.0, 3.0, "singing")], [(1.0, 3.0, "singing")], duration=5.0)
    assert r["error"] == 0.0 and r["f1"] == 1.0
    r = ev.evaluate([], [], duration=5.0)  # no singing, nothing found
    assert r["error"] == 0.0 and r["precision"] == 1.0 and r["specificity"] == 1.0


def test_aggregate_sums_counts():
    a = ev.evaluate([(0.0, 1.0, "singing")], [], duration=2.0)
    b = ev.evaluate([], [(0.0, 1.0, "singing")], duration=8.0)
    agg = ev.aggregate([a, b])
    n = a["n_frames"] + b["n_frames"]
    assert agg["error"] == pytest.approx((a["fn"] + b["fp"]) / n)
    assert agg["mean_error"] == pytest.approx((a["error"] + b["error"]) / 2)
    assert agg["n_files"] == 2


def test_frames_instead_of_seconds_is_named():
    with pytest.raises(ParameterError, match="seconds"):
        ev.evaluate([(0, 700, "singing")], [], duration=10.0)
    with pytest.raises(ParameterError, match="negative"):
        ev.evaluate([(-1.0, 2.0, "singing")], [], duration=10.0)
    assert np.isclose(ev.RESOLUTION, 1 / 70)


def test_join_gaps_closes_short_gaps_only():
    ref = [(0.0, 1.0, "sing"), (1.0, 1.3, "nosing"), (1.3, 2.0, "sing"), (2.0, 4.0, "nosing"),
           (4.0, 5.0, "sing")]
    j = ev.join_gaps(ref, 0.5)
    np.testing.assert_allclose(j.intervals, [[0.0, 2.0], [4.0, 5.0]])
    assert j.labels == ("singing", "singing")
    np.testing.assert_allclose(ev.join_gaps(ref, 2.0).intervals, [[0.0, 5.0]])
    np.testing.assert_allclose(ev.join_gaps(ref, 0.0).intervals, [[0.0, 1.0], [1.3, 2.0],
                                                                  [4.0, 5.0]])
    assert len(ev.join_gaps([], 0.5).intervals) == 0
    with pytest.raises(ParameterError):
        ev.join_gaps(ref, -1.0)
    # scoring with the joined reference: the 0.3 s gap found as singing is no longer an error
    est = [(0.0, 2.0, "singing"), (4.0, 5.0, "singing")]
    assert ev.evaluate(ref, est, duration=5.0)["fp"] == 21
    r = ev.evaluate(ref, est, duration=5.0, join_gap=0.5)
    assert r["error"] == 0.0
