"""The onset recipe's subset tables and the decoder-tuning objectives."""

import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _evaluate_module():
    spec = importlib.util.spec_from_file_location(
        "onsets_evaluate", os.path.join(ROOT, "recipes", "onsets", "evaluate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_subset_rows_score_only_their_files():
    from audiodl.evaluation.onsets import evaluate_many
    ev = _evaluate_module()
    ref = np.array([1.0, 2.0, 3.0])
    test = [{"id": "a", "meta": {"subsets": ["sparse", "dry"]}},
            {"id": "b", "meta": {"subsets": ["groove", "dry"]}},
            {"id": "c", "meta": {"kind": "soft", "attack_classes": ["slow"]}}]
    est = {"a": np.array([1.0, 2.0, 3.0, 1.5, 2.5]),  # 2 false positives
           "b": ref, "c": np.array([1.0])}
    rows = {"sys": evaluate_many({i: (ref, est[i]) for i in est})}
    subs = ev.subset_rows(test, rows)
    assert set(subs) == {"sparse", "groove", "dry", "soft attack"}
    assert subs["sparse"]["_ids"] == ["a"]
    assert subs["sparse"]["sys"]["mirex"]["sum"]["precision"] == pytest.approx(3 / 5)
    assert subs["groove"]["sys"]["mirex"]["sum"]["f_measure"] == pytest.approx(1.0)
    assert subs["dry"]["sys"]["mirex"]["n_files"] == 2
    assert subs["soft attack"]["sys"]["mirex"]["sum"]["recall"] == pytest.approx(1 / 3)


def test_tune_objective_mean_weighs_files_equally():
    from audiodl.training.specs.onsets import tune_peaks
    # a dense file whose weak onsets need a low threshold, a sparse file whose false peaks
    # (0.45) need a high one: pooled F prefers the dense file, the per-file mean the sparse one
    fps, n = 100.0, 1000
    dense = np.zeros(n)
    dense_ref = np.arange(20, 980, 20) / fps
    dense[np.arange(20, 980, 20)] = 0.4
    dense[np.arange(20, 980, 40)] = 0.9  # half of them strong
    sparse = np.zeros(n)
    sparse[[100, 500]] = 0.9
    sparse[np.arange(130, 480, 30)] = 0.45
    pairs = [(dense, dense_ref), (sparse, np.array([1.0, 5.0]))]
    grid = {"threshold": [0.3, 0.5], "smooth": [0.0], "pre_max": [0.01], "post_max": [0.01],
            "combine": [0.03]}
    _, p_sum = tune_peaks(pairs, fps, window=0.025, grid=grid, objective="sum")
    _, p_mean = tune_peaks(pairs, fps, window=0.025, grid=grid, objective="mean")
    assert (p_sum.threshold, p_mean.threshold) == (0.3, 0.5)


def test_tune_decay_stage_removes_chatter_and_is_kept_only_when_it_helps():
    from audiodl.training.specs.onsets import tune_decoder
    fps = 100.0
    chatter, clean = [], []
    for shift in range(3):
        a, b, refs = np.zeros(1000), np.zeros(1000), []
        for h in range(50 + 10 * shift, 900, 120):
            a[h] = b[h] = 1.0  # a loud hit ...
            a[h + 50] = b[h + 50] = 0.5  # ... a soft one later: no threshold separates it
            refs += [h / fps, (h + 50) / fps]
            for k, v in ((8, 0.6), (16, 0.5), (24, 0.45)):  # ringing decay: lower, close
                a[h + k] = v
        chatter.append((a, np.array(refs)))
        clean.append((b, np.array(refs)))
    f0, p0 = tune_decoder(chatter, fps, window=0.025)
    f1, p1 = tune_decoder(chatter, fps, window=0.025, decay=True)
    assert f0 < 0.9 and p1.decay_ratio > 0 and f1 == pytest.approx(1.0)
    f2, p2 = tune_decoder(clean, fps, window=0.025, decay=True)
    assert f2 == pytest.approx(1.0) and p2.decay_ratio == 0.0  # first stage already perfect


def test_tune_gate_stage_removes_flare_ups_under_the_held_envelope():
    from audiodl.training.specs.onsets import tune_decoder
    fps, n = 100.0, 1000
    pairs = []
    for shift in range(3):
        a, env, refs = np.zeros(n), np.full((n, 2), -100.0), []
        for h in range(40 + 10 * shift, 900, 150):
            a[h] = 1.0  # a loud hit whose band rings (-30 dB/s) ...
            env[h:h + 150, 0] = -10.0 - 0.3 * np.arange(150)
            for k in (30, 60):  # ... with 5 dB flare-ups the detector takes for onsets
                a[h + k] = 0.5
                env[h + k:h + k + 3, 0] += 5.0
            a[h + 45] = 0.5  # a soft new hit in another band in between: same activation
            env[h + 45:h + 60, 1] = -40.0 - 2.0 * np.arange(15)
            refs += [h / fps, (h + 45) / fps]
        pairs.append((a, np.array(refs), env))
    f1, p1 = tune_decoder(pairs, fps, window=0.025, decay=True)
    assert f1 < 0.9 and p1.gate_rise == 0.0  # no threshold or decay mask separates them
    f2, p2 = tune_decoder(pairs, fps, window=0.025, decay=True, gate=True)
    assert f2 == pytest.approx(1.0) and p2.gate_rise > 0 and p2.gate_keep > 0.5
    fo, po = tune_decoder(pairs, fps, window=0.025, online=True, gate=True)
    assert po.gate_rise == 0.0  # offline only
