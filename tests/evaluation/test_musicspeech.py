"""Music/speech evaluation against hand-computed examples."""

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.evaluation import musicspeech as E


def test_file_accuracy():
    r = E.file_accuracy(["music", "speech", "speech", "music"],
                        ["music", "speech", "music", "music"])
    assert r["accuracy"] == 0.75 and r["n_correct"] == 3 and r["n_files"] == 4
    assert r["accuracy_speech"] == 0.5 and r["accuracy_music"] == 1.0
    assert r["confusion"]["speech"] == {"speech": 1, "music": 1}
    with pytest.raises(ParameterError):
        E.file_accuracy(["music"], [])


def test_frame_scores_hand_computed():
    # 10 s file, 1000 grid points. speech ref [0, 4), est [1, 5): tp 300, fp 100, fn 100
    ref = [(0.0, 4.0, "speech"), (4.0, 10.0, "music")]
    est = [(1.0, 5.0, "speech"), (4.0, 10.0, "music")]
    s = E.frame_scores(ref, est, duration=10.0)
    assert s["speech_precision"] == pytest.approx(0.75)
    assert s["speech_recall"] == pytest.approx(0.75)
    assert s["speech_f"] == pytest.approx(0.75)
    assert s["speech_accuracy"] == pytest.approx(0.8)  # 200 wrong of 1000
    assert s["music_f"] == pytest.approx(1.0)
    assert s["accuracy"] == pytest.approx(0.9)


def test_grid_convention():
    fr = E.segments_to_frames([(0.0, 0.03, "music")], duration=0.05)
    np.testing.assert_array_equal(fr[:, 0], [1, 1, 1, 0, 0])
    assert not fr[:, 1].any()


def test_event_scores_tolerance():
    ref = [(0.0, 10.0, "speech"), (20.0, 30.0, "speech")]
    est = [(0.4, 10.2, "speech"), (21.0, 30.0, "speech"), (40.0, 41.0, "speech")]
    s = E.event_scores(ref, est, onset_tolerance=0.5)
    # onset hits: only the first (21.0 is 1 s late)
    assert s["speech_onset_precision"] == pytest.approx(1 / 3)
    assert s["speech_onset_recall"] == pytest.approx(1 / 2)
    assert s["speech_onoff_f"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    s1 = E.event_scores(ref, est, onset_tolerance=1.0)
    assert s1["speech_onset_recall"] == 1.0
    # offset must lie within max(0.5, 20 % of the reference duration = 2 s)
    s2 = E.event_scores([(0.0, 10.0, "music")], [(0.0, 12.5, "music")])
    assert s2["music_onset_f"] == 1.0 and s2["music_onoff_f"] == 0.0


def test_aggregate_sums_counts():
    a = E.evaluate([(0, 10, "speech")], [(0, 5, "speech")], duration=10.0)
    b = E.evaluate([(0, 30, "speech")], [(0, 30, "speech")], duration=30.0)
    agg = E.aggregate([a, b])
    # pooled: tp = 500 + 3000, fn = 500 -> recall 3500 / 4000
    assert agg["speech_recall"] == pytest.approx(3500 / 4000)
    assert agg["mean_speech_f"] == pytest.approx((a["speech_f"] + 1.0) / 2)
    assert agg["n_files"] == 2


def test_validate_helpful_errors():
    with pytest.raises(ParameterError, match="frames or samples"):
        E.frame_scores([(0, 441000, "speech")], [], duration=10.0)
    with pytest.raises(ParameterError, match="unknown labels"):
        E.frame_scores([(0, 1, "noise")], [], duration=10.0)
    with pytest.raises(ParameterError):
        E.frame_scores([(-1, 1, "speech")], [], duration=10.0)
