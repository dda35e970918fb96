"""Peak picking: madmom semantics, seconds at the boundary, online == offline."""

import numpy as np
import pytest

from audiodl.decoders.peaks import (CNN_DEFAULTS, OnlinePeakPicker, PeakPickingParams,
                                    combine_events, peak_picking, pick_onsets,
                                    smooth_activations)
from audiodl.errors import ParameterError
from audiodl.types import Activations


def _madmom_peak_picking(act, threshold, smooth, pre_avg, post_avg, pre_max, post_max):
    """Independent transcription of madmom 0.16's ``peak_picking`` (scipy.ndimage, 2-D-capable)."""
    from scipy.ndimage import maximum_filter, uniform_filter
    if smooth > 1:
        act = np.convolve(act, np.hamming(smooth), "same")
    avg_length = pre_avg + post_avg + 1
    mov_avg = uniform_filter(act, avg_length, mode="constant",
                             origin=int(np.floor((pre_avg - post_avg) / 2))) if avg_length > 1 else 0
    det = act * (act >= mov_avg + threshold)
    max_length = pre_max + post_max + 1
    if max_length > 1:
        mov_max = maximum_filter(det, max_length, mode="constant",
                                 origin=int(np.floor((pre_max - post_max) / 2)))
        det *= det == mov_max
    return np.nonzero(det)[0]


@pytest.mark.parametrize("seed", range(5))
def test_matches_madmom_transcription(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(500) ** 4
    for smooth, pa, po, pm, pom in [(0, 0, 0, 1, 1), (5, 0, 0, 1, 1), (0, 15, 0, 1, 5),
                                    (7, 3, 2, 2, 0)]:
        got = peak_picking(a, 0.2, smooth=smooth, pre_avg=pa, post_avg=po, pre_max=pm,
                           post_max=pom)
        want = _madmom_peak_picking(a, 0.2, smooth, pa, po, pm, pom)
        np.testing.assert_array_equal(got, want)


def test_smoothing_is_unnormalised_hamming_like_madmom():
    a = np.zeros(11)
    a[5] = 1.0
    s = smooth_activations(a, 5)
    np.testing.assert_allclose(s[3:8], np.hamming(5))
    assert smooth_activations(a, 0) is not None and smooth_activations(a, 1)[5] == 1.0


def test_combine_events():
    t = [0.10, 0.12, 0.125, 0.20, 0.22, 0.5]
    np.testing.assert_allclose(combine_events(t, 0.03, "left"), [0.10, 0.20, 0.5])
    np.testing.assert_allclose(combine_events([0.1, 0.13], 0.03, "left"), [0.1])  # boundary
    np.testing.assert_allclose(combine_events([0.1, 0.12], 0.03, "mean"), [0.11])
    assert len(combine_events([], 0.03)) == 0


def test_pick_onsets_seconds_and_activations_fps():
    a = np.zeros(300, np.float32)
    a[[50, 120, 121, 200]] = [0.9, 0.8, 0.7, 0.3]
    times = pick_onsets(Activations(a, fps=100.0), threshold=0.5, smooth=0.0)
    np.testing.assert_allclose(times, [0.5, 1.2])
    times = pick_onsets(a, 200.0, threshold=0.5, smooth=0.0)
    np.testing.assert_allclose(times, [0.25, 0.6])
    assert len(pick_onsets(a, 100, threshold=0.2, smooth=0.0)) == 3


def test_cnn_defaults_match_madmom_cnnonsetdetector():
    p = CNN_DEFAULTS
    assert (p.threshold, p.smooth, p.pre_max, p.post_max, p.combine) == (0.54, 0.05, 0.01, 0.01,
                                                                          0.03)
    assert p.frames(100) == {"smooth": 5, "pre_avg": 0, "post_avg": 0, "pre_max": 1,
                             "post_max": 1}


def test_errors_are_helpful():
    with pytest.raises(ParameterError, match="fps is required"):
        pick_onsets(np.zeros(10))
    with pytest.raises(ParameterError, match="1-D"):
        pick_onsets(np.zeros((10, 3)), 100)
    with pytest.raises(ParameterError, match="NaN"):
        pick_onsets(np.array([0.1, np.nan]), 100)
    with pytest.raises(ParameterError, match="smooth"):
        PeakPickingParams(smooth=-1)
    with pytest.raises(ParameterError, match="unknown"):
        PeakPickingParams.from_dict({"treshold": 0.5})
    with pytest.raises(ParameterError, match="contradicts"):
        pick_onsets(Activations(np.zeros(5), 100.0), 50)


@pytest.mark.parametrize("seed", range(20))
def test_online_equals_offline_causal(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(400) ** 3
    pa, pm, po = rng.integers(0, 4, size=3) / 100
    thr = float(rng.random() * 0.3)
    off = pick_onsets(a, 100, threshold=thr, smooth=0, pre_avg=pa, post_avg=0, pre_max=pm,
                      post_max=po, combine=0.03)
    picker = OnlinePeakPicker(100, threshold=thr, pre_avg=pa, pre_max=pm, post_max=po,
                              combine=0.03)
    assert picker.latency == pytest.approx(po)
    chunks = [picker.process(a[i:i + 7]) for i in range(0, len(a), 7)] + [picker.flush()]
    np.testing.assert_allclose(np.concatenate(chunks), off)


def test_online_reports_immediately_without_post_max():
    picker = OnlinePeakPicker(100, threshold=0.5, pre_max=0.01, combine=0.03)
    assert len(picker.process([0.0, 0.1])) == 0
    np.testing.assert_allclose(picker.process(0.9), [0.02])
    assert len(picker.process(0.95)) == 0  # within combine window


def test_moving_windows_equal_scipy_ndimage_filters():
    """peak_picking's numpy windows = scipy.ndimage's filters as madmom calls them."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    from audiodl.decoders.peaks import _windows
    rng = np.random.default_rng(0)
    for pre in range(6):
        for post in range(6):
            n = pre + post + 1
            origin = int(np.floor((pre - post) / 2))
            for length in (1, 3, 40):
                a = rng.random(length).astype(np.float32)
                w = _windows(a, pre, post)
                np.testing.assert_array_equal(
                    w.max(axis=-1), maximum_filter1d(a, n, mode="constant", origin=origin))
                np.testing.assert_allclose(
                    w.sum(axis=-1, dtype=np.float64) / n,
                    uniform_filter1d(a, n, mode="constant", origin=origin), rtol=1e-6,
                    atol=1e-7)


def test_decay_mask_equals_brute_force():
    from audiodl.decoders.peaks import decay_mask
    rng = np.random.default_rng(0)
    a = rng.random(300) ** 2
    a[50:60] = 0.0  # log(0) must not break the running maximum
    got = decay_mask(a, 0.7, 12.5)
    want = np.array([0.7 * max((a[i - k] * np.exp(-k / 12.5) for k in range(1, i + 1)),
                               default=0.0) for i in range(len(a))])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert not decay_mask(a, 0.0, 12.5).any()
    with pytest.raises(ParameterError):
        decay_mask(a, 0.5, 0.0)
    with pytest.raises(ParameterError):
        PeakPickingParams(decay_ratio=0.5, decay_time=0.0)


def test_decay_ratio_drops_chatter_in_a_decay_but_keeps_new_hits():
    a = np.zeros(300)
    # a loud hit, decaying chatter peaks after it, then a new (softer) hit later on
    for i, h in ((100, 1.0), (110, 0.5), (120, 0.4), (130, 0.3), (160, 0.9), (250, 0.35)):
        a[i] = h
    plain = pick_onsets(a, 100, threshold=0.2, smooth=0, combine=0.03)
    np.testing.assert_allclose(plain, [1.0, 1.1, 1.2, 1.3, 1.6, 2.5])
    aware = pick_onsets(a, 100, threshold=0.2, smooth=0, combine=0.03, decay_ratio=0.8,
                        decay_time=0.5)
    np.testing.assert_allclose(aware, [1.0, 1.6, 2.5])  # 2.5: 0.9 has decayed far enough


@pytest.mark.parametrize("seed", range(10))
def test_online_equals_offline_causal_with_decay(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.random(400) ** 3
    pa, pm, po = rng.integers(0, 4, size=3) / 100
    thr, ratio, tau = float(rng.random() * 0.3), float(rng.uniform(0.3, 1.0)), \
        float(rng.uniform(0.02, 0.5))
    kw = dict(threshold=thr, pre_avg=pa, pre_max=pm, post_max=po, combine=0.03,
              decay_ratio=ratio, decay_time=tau)
    off = pick_onsets(a, 100, smooth=0, post_avg=0, **kw)
    picker = OnlinePeakPicker(100, **kw)
    chunks = [picker.process(a[i:i + 7]) for i in range(0, len(a), 7)] + [picker.flush()]
    np.testing.assert_allclose(np.concatenate(chunks), off)


def test_envelope_rise_equals_brute_force():
    from audiodl.decoders.peaks import envelope_rise
    rng = np.random.default_rng(1)
    env = rng.normal(-40, 6, size=(120, 7))
    for release, look in ((0.4, 2), (1.5, 0), (0.05, 3)):
        got = envelope_rise(env, release, lookahead=look)
        hold = np.full(env.shape, -np.inf)
        h = np.full(env.shape[1], -np.inf)
        for t in range(len(env)):
            hold[t] = h
            h = np.maximum(env[t], h - release)
        want = [min(1000.0, (env[max(t - 1, 0):t + look + 1].max(0)
                             - (hold[t - 1] if t else -np.inf)).max()) for t in range(len(env))]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    with pytest.raises(ParameterError):
        envelope_rise(env, 0.0)
    with pytest.raises(ParameterError):
        envelope_rise(env[:, 0], 0.4)
    with pytest.raises(ParameterError):
        PeakPickingParams(gate_rise=6.0, gate_release=0.0)


def test_energy_gate_drops_flare_ups_in_a_ringing_tail_but_keeps_new_hits():
    fps, n = 100, 300
    t = np.arange(n)
    # one band rings after a hit at frame 50 (-60 dB/s), with an 8 dB flare-up at frame 90;
    # a second band is silent until a new, much softer hit at frame 150 (a ghost note)
    env = np.full((n, 2), -100.0)
    env[50:, 0] = -10.0 - 0.6 * (t[50:] - 50)
    env[90:93, 0] += 8.0
    env[150:, 1] = -40.0 - 0.5 * (t[150:] - 150)
    a = np.zeros(n)
    a[[50, 90, 150]] = (1.0, 0.6, 0.5)  # the detector fires on all three
    kw = dict(threshold=0.3, smooth=0, combine=0.03)
    np.testing.assert_allclose(pick_onsets(a, fps, **kw), [0.5, 0.9, 1.5])
    gated = pick_onsets(a, fps, gate_rise=6.0, gate_release=40.0, envelope=env, **kw)
    np.testing.assert_allclose(gated, [0.5, 1.5])
    # a confident detection (activation >= gate_keep) passes the gate anyway
    keep = pick_onsets(a, fps, gate_rise=6.0, gate_release=40.0, gate_keep=0.55, envelope=env,
                       **kw)
    np.testing.assert_allclose(keep, [0.5, 0.9, 1.5])
    # a hold that falls faster than the tail decays lets the flare-up through
    fast = pick_onsets(a, fps, gate_rise=6.0, gate_release=400.0, envelope=env, **kw)
    np.testing.assert_allclose(fast, [0.5, 0.9, 1.5])
    with pytest.raises(ParameterError):
        pick_onsets(a, fps, gate_rise=6.0, **kw)  # no envelope
    with pytest.raises(ParameterError):
        pick_onsets(a, fps, gate_rise=6.0, envelope=env[:-1], **kw)
    # the online picker ignores the (offline-only) gate
    online = OnlinePeakPicker(fps, threshold=0.3, combine=0.03, gate_rise=6.0)
    np.testing.assert_allclose(np.concatenate([online.process(a), online.flush()]),
                               [0.5, 0.9, 1.5])
