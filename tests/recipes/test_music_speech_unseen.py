"""make_unseen.py's speech labels: only the voice, not the recording's noise floor."""

import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    path = os.path.join(ROOT, "recipes", "music_speech", "make_unseen.py")
    spec = importlib.util.spec_from_file_location("make_unseen", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _utterance(rng, sr, floor_db=-32.0):
    """1 s: a noise floor ``floor_db`` below a 0.3 s voiced burst in the middle."""
    y = rng.standard_normal(sr) * 0.1 * 10 ** (floor_db / 20)
    t = np.arange(int(0.3 * sr)) / sr
    y[int(0.35 * sr):int(0.65 * sr)] += 0.1 * np.sqrt(2) * np.sin(2 * np.pi * 200 * t)
    return y.astype(np.float32)


def test_utterance_mask_covers_the_voice_not_the_noise_floor():
    mu = _module()
    y = _utterance(np.random.default_rng(0), mu.SR)
    m = mu.utterance_mask(y)
    assert m.shape == y.shape and m.dtype == bool
    assert 0.27 < m.mean() < 0.36
    assert m[int(0.5 * mu.SR)] and not m[int(0.1 * mu.SR)] and not m[int(0.9 * mu.SR)]


def test_speech_track_gate_follows_each_placed_utterance():
    mu = _module()
    rng = np.random.default_rng(1)
    utts = [_utterance(rng, mu.SR) for _ in range(3)]
    masks = [mu.utterance_mask(u) for u in utts]
    n = 6 * mu.SR
    gate = np.zeros(n, bool)
    track = mu._speech_track(np.random.default_rng(2), utts, n, masks=masks, gate=gate)
    loud = np.abs(track) > 0.05  # samples of the voiced bursts
    assert loud.any() and gate[loud].mean() > 0.99
    assert 0.1 < gate.mean() < 0.4  # not the whole track, as the 35 dB rule alone gave
    # the same draws with and without labels: labelling does not change the audio
    again = mu._speech_track(np.random.default_rng(2), utts, n)
    np.testing.assert_array_equal(track, again)
