"""mir_eval wrapper of the structure scores."""

from __future__ import annotations

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.evaluation.segment import evaluate, summarize
from audiodl.types import Segments

REF = Segments(intervals=[[0, 10], [10, 20], [20, 30], [30, 40]], labels=("a", "b", "a", "c"))


def test_perfect_estimate_scores_one():
    r = evaluate(REF, Segments(intervals=REF.intervals, labels=("A", "B", "A", "C")))
    for k in ("hr0.5_f", "hr3_f", "pairwise_f", "nce_f"):
        assert r[k] == pytest.approx(1.0), k
    assert r["trim"] is True


def test_windows_and_trim():
    est = Segments(intervals=[[0, 11], [11, 21], [21, 31], [31, 40]], labels="ABAC")
    r = evaluate(REF, est)
    assert r["hr0.5_f"] == 0.0 and r["hr3_f"] == pytest.approx(1.0)
    # untrimmed, the file start and end are matched for free
    assert evaluate(REF, est, trim=False)["hr0.5_f"] == pytest.approx(0.4)


def test_labels_ignore_names_but_not_grouping():
    merged = Segments(intervals=REF.intervals, labels=("A", "A", "A", "A"))
    r = evaluate(REF, merged)
    assert r["hr0.5_f"] == pytest.approx(1.0)
    assert r["pairwise_r"] == pytest.approx(1.0) and r["pairwise_p"] < 0.5


def test_bad_inputs_are_errors():
    with pytest.raises(ParameterError, match="no segments"):
        evaluate(REF, Segments(intervals=np.zeros((0, 2)), labels=()))
    with pytest.raises(ParameterError, match="frames instead of seconds"):
        evaluate(REF, Segments(intervals=[[0, 4e5]], labels=("A",)))
    with pytest.raises(ParameterError, match="overlap"):
        evaluate(REF, Segments(intervals=[[0, 20], [10, 40]], labels=("A", "B")))


def test_summarize_means_over_files():
    a = evaluate(REF, Segments(intervals=REF.intervals, labels="ABAC"))
    b = evaluate(REF, Segments(intervals=[[0, 40]], labels="A"))
    s = summarize([a, b])
    assert s["n_files"] == 2 and s["hr3_f"] == pytest.approx((a["hr3_f"] + b["hr3_f"]) / 2)
