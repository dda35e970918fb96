"""Onset evaluation: mir_eval agreement, protocols, sum vs mean, validators."""

import mir_eval
import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.evaluation.onsets import (PROTOCOLS, evaluate, evaluate_many, format_table,
                                       merge_annotations, summarize, validate)


def test_agrees_with_mir_eval():
    rng = np.random.default_rng(0)
    ref = np.sort(rng.uniform(0, 30, 100))
    est = np.sort(np.concatenate([ref[:80] + rng.normal(0, 0.02, 80), rng.uniform(0, 30, 10)]))
    for window in (0.025, 0.05):
        f, p, r = mir_eval.onset.f_measure(ref, est, window=window)
        s = evaluate(ref, est, window=window, combine=0)
        assert s["f_measure"] == pytest.approx(f)
        assert s["precision"] == pytest.approx(p)
        assert s["recall"] == pytest.approx(r)
        assert s["tp"] + s["fn"] == 100 and s["tp"] + s["fp"] == 90


def test_protocols():
    assert PROTOCOLS["mirex"]["window"] == 0.05
    assert PROTOCOLS["cpjku"] == {"window": 0.025, "combine": 0.03}
    ref = [1.0, 1.02, 2.0]  # the first two merge under the CPJKU protocol
    est = [1.01, 2.0]
    assert evaluate(ref, est, protocol="cpjku")["f_measure"] == 1.0
    assert evaluate(ref, est, protocol="mirex")["recall"] == pytest.approx(2 / 3)
    np.testing.assert_allclose(merge_annotations(ref), [1.01, 2.0])


def test_sum_vs_mean():
    a = evaluate([1, 2, 3, 4], [1, 2, 3, 4])          # F 1
    b = evaluate([1.0], [5.0])                        # F 0
    s = summarize([a, b])
    assert s["mean"]["f_measure"] == pytest.approx(0.5)
    assert s["sum"]["f_measure"] == pytest.approx(2 * 0.8 * 0.8 / 1.6)
    assert s["sum"]["tp"] == 4 and s["n_files"] == 2
    many = evaluate_many({"x": ([1, 2], [1, 2]), "y": ([1.0], [])})
    assert set(many) == {"cpjku", "mirex", "files"}
    assert many["mirex"]["sum"]["recall"] == pytest.approx(2 / 3)
    assert "F sum" in format_table({"sys": many})


@pytest.mark.filterwarnings("ignore:.*onsets are empty")  # mir_eval's own warning
@pytest.mark.parametrize("ref, est", [([], []), ([1.0], []), ([], [1.0])])
def test_empty_inputs_follow_mir_eval(ref, est):
    # one convention: mir_eval's (0 for P, R and F when either side is empty)
    expected = mir_eval.onset.f_measure(np.array(ref), np.array(est))
    s = evaluate(ref, est)
    assert (s["f_measure"], s["precision"], s["recall"]) == expected == (0.0, 0.0, 0.0)
    assert s["tp"] == 0 and s["fp"] == len(est) and s["fn"] == len(ref)


def test_pooled_scores_with_silent_files():
    silent = evaluate([], [])
    hit = evaluate([1.0, 2.0], [1.0, 2.0])
    s = summarize([silent, hit])
    assert s["sum"]["f_measure"] == 1.0 and s["sum"]["n_ref"] == 2  # counts pool
    assert s["mean"]["f_measure"] == 0.5                             # the silent file scores 0
    assert summarize([silent])["sum"]["f_measure"] == 0.0


def test_validators():
    with pytest.raises(ParameterError, match="frame indices"):
        validate(np.arange(0, 3000, 50), [1.0])
    with pytest.raises(ParameterError, match="frame indices"):
        validate([1.0], [12.0, 40.0, 77.0], duration=5.0)
    with pytest.raises(ParameterError, match="beyond the audio"):
        validate([1.0], [30.5], duration=10.0)
    with pytest.raises(ParameterError, match="1-D"):
        validate(np.zeros((3, 2)), [1.0])
    with pytest.raises(ParameterError, match=">= 0"):
        validate([-1.0], [1.0])
    with pytest.raises(ParameterError, match="finite"):
        validate([np.nan], [1.0])
    with pytest.raises(ParameterError, match="unknown onset protocol"):
        evaluate([1.0], [1.0], protocol="mirx")
    ref, est = validate([2.0, 1.0], [1.0])
    assert list(ref) == [1.0, 2.0]
