"""Neither music nor speech: silence, noise, hum, tones, beeps, DTMF, sweeps, clicks.

The negative class of music/speech detection (the ``neither`` answer of
:func:`audiodl.classify`). Every item is one file with NO music and NO speech
(an empty ``segments`` annotation, ``labels: []``) of one kind:

``silence``
    Digital zeros or dither (-100 to -60 dBFS white noise).
``noise``
    White / pink / brown noise, steady or slowly modulated (wind, fan).
``hum``
    Mains hum (50 or 60 Hz and random harmonics), usually over noise.
``tone``
    One steady sine or a few partials (100 Hz - 8 kHz, test tones); a share is
    short (20-500 ms) inside silence, like the 50 ms sine a user may try.
``beeps``
    Sine or square bursts of 40-600 ms with gaps (alarms, device beeps).
``dtmf``
    DTMF digit sequences and telephone call-progress tones (dial, busy, ringback).
``sweep``
    Linear or logarithmic sine sweeps.
``clicks``
    Clock ticks, impulse trains and noise bursts (knocks, slams).

A share of the items gets background noise, room reverb, EQ or a codec round
trip. Durations: 20 ms - 20 s. Splits by :func:`~audiodl.data.synth.runner.assign_split`
with a larger test share (70/10/20): generated kinds are the same in every
split, only their random draws differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiodl.data.augment import add_noise, colored_noise, random_augment
from audiodl.data.manifest import write_segments
from audiodl.data.synth.common import plan_durations, save_audio
from audiodl.data.synth.runner import item_rng

TASK = "nonspeech"
DEFAULT_SR = 22050
KINDS = ("silence", "noise", "hum", "tone", "beeps", "dtmf", "sweep", "clicks")
KIND_P = (0.12, 0.16, 0.10, 0.18, 0.14, 0.12, 0.08, 0.10)
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
#: call-progress tones: (frequencies [Hz], on [s], off [s]) (North American / European)
CALL_TONES = (((350.0, 440.0), 10.0, 0.0), ((480.0, 620.0), 0.5, 0.5),
              ((440.0, 480.0), 2.0, 4.0), ((425.0,), 0.2, 0.2), ((425.0,), 1.0, 4.0))


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "classes": [], "split_fractions": SPLIT_FRACTIONS,
            "label_rule": "no music and no speech anywhere (empty segments)"}


def check():
    """Nothing to check: numpy only."""


def plan(hours, seed, sr):
    """Item specs (prefix-stable): kind and duration per item."""
    return plan_durations(hours, seed, prefix="ns", salt=11, kinds=KINDS, kind_p=KIND_P,
                          duration=_duration, decimals=3, fractions=SPLIT_FRACTIONS)


def _duration(rng):
    """Item duration [s]: 25 % short (20 ms-1 s, log-uniform), else 1-20 s."""
    if rng.random() < 0.25:
        return np.exp(rng.uniform(np.log(0.02), np.log(1.0)))
    return rng.uniform(1.0, 20.0)


def make_context(sr):
    return {"sr": sr}


def _sine(f, n, sr, rng, *, phase=None):
    t = np.arange(n) / sr
    return np.sin(2 * np.pi * f * t + (rng.uniform(0, 2 * np.pi) if phase is None else phase))


def _burst(y, sr, ramp=0.004):
    """Short raised-cosine ramps at both ends (no clicks)."""
    k = min(len(y) // 2, int(ramp * sr))
    if k > 1:
        w = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k))
        y[:k] *= w
        y[-k:] *= w[::-1]
    return y


def _place(track, y, start):
    a = max(0, int(start))
    b = min(len(track), a + len(y))
    if b > a:
        track[a:b] += y[:b - a]


def _tone(rng, n, sr):
    k = int(rng.choice([1, 1, 1, 2, 3]))
    f0 = float(np.exp(rng.uniform(np.log(100.0), np.log(8000.0))))
    y = sum(_sine(f0 * (j + 1) if rng.random() < 0.5 else f0 * rng.uniform(1.2, 3.0), n, sr, rng)
            * (0.5 ** j) for j in range(k))
    if rng.random() < 0.4 and n > 0.2 * sr:  # a short tone inside silence
        m = int(rng.uniform(0.02, 0.5) * sr)
        out = np.zeros(n)
        _place(out, _burst(y[:m].copy(), sr), rng.integers(0, max(1, n - m)))
        return out
    return _burst(y, sr, ramp=float(rng.uniform(0.001, 0.02)))


def _beeps(rng, n, sr):
    out = np.zeros(n)
    f = float(np.exp(rng.uniform(np.log(300.0), np.log(4000.0))))
    on, off = rng.uniform(0.04, 0.6), rng.uniform(0.03, 1.5)
    square = rng.random() < 0.3
    t = rng.uniform(0, 0.5) * sr
    while t < n:
        m = int(on * sr * rng.uniform(0.9, 1.1))
        y = _sine(f, m, sr, rng)
        if square:
            y = np.sign(y) * 0.5
        _place(out, _burst(y, sr), t)
        t += m + off * sr
    return out


def _dtmf(rng, n, sr):
    out = np.zeros(n)
    if rng.random() < 0.35:  # a call-progress tone
        freqs, on, off = CALL_TONES[int(rng.integers(len(CALL_TONES)))]
        t = 0.0
        while t < n:
            m = int(on * sr)
            _place(out, _burst(sum(_sine(f, m, sr, rng) for f in freqs) / len(freqs), sr), t)
            t += m + off * sr
        return out
    t = rng.uniform(0, 0.5) * sr
    while t < n:
        m = int(rng.uniform(0.06, 0.2) * sr)
        y = _sine(DTMF_ROWS[rng.integers(4)], m, sr, rng) + \
            _sine(DTMF_COLS[rng.integers(4)], m, sr, rng) * rng.uniform(0.7, 1.0)
        _place(out, _burst(y / 2, sr), t)
        t += m + rng.uniform(0.05, 0.3) * sr
    return out


def _sweep(rng, n, sr):
    t = np.arange(n) / sr
    dur = max(t[-1] if n else 0.0, 1e-3)
    f0, f1 = np.exp(rng.uniform(np.log(50.0), np.log(10000.0), size=2))
    if rng.random() < 0.5:  # linear
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * dur))
    else:  # logarithmic
        r = np.log(f1 / f0) if abs(np.log(f1 / f0)) > 1e-6 else 1e-6
        phase = 2 * np.pi * f0 * dur / r * (np.exp(t * r / dur) - 1)
    return _burst(np.sin(phase), sr)


def _clicks(rng, n, sr):
    out = np.zeros(n)
    mode = rng.integers(3)
    period = rng.uniform(0.2, 1.2)
    t = rng.uniform(0, 0.3) * sr
    while t < n:
        if mode == 2:  # noise burst (knock, slam) with an exponential decay
            m = int(rng.uniform(0.02, 0.4) * sr)
            y = colored_noise(m, color=str(rng.choice(["white", "pink", "brown"])), rng=rng)
            y = y * np.exp(-np.arange(m) / (m / rng.uniform(3, 8)))
            _place(out, y / (np.max(np.abs(y)) + 1e-9) * rng.uniform(0.3, 1.0), t)
            t += m + rng.uniform(0.2, 2.0) * sr
        else:  # tick: a few samples of a decaying resonance
            m = int(rng.uniform(0.002, 0.02) * sr)
            y = _sine(rng.uniform(1000, 6000), m, sr, rng) * np.exp(-np.arange(m) / max(1, m / 4))
            _place(out, y * rng.uniform(0.3, 1.0), t)
            t += (period if mode == 0 else rng.uniform(0.05, 1.5)) * sr
    return out


def _noise(rng, n, sr):
    y = colored_noise(n, color=str(rng.choice(["white", "pink", "brown"])), rng=rng)
    if rng.random() < 0.4 and n > sr:  # slow modulation (wind, fan speed)
        t = np.arange(n) / sr
        y = y * (1 + rng.uniform(0.2, 0.9) * np.sin(2 * np.pi * rng.uniform(0.05, 1.0) * t))
    return y


def _hum(rng, n, sr):
    f0 = 50.0 if rng.random() < 0.5 else 60.0
    return sum(_sine(f0 * k, n, sr, rng) * rng.uniform(0, 1) / k for k in range(1, 8))


def render(kind, rng, n, sr):
    """Samples of one item of ``kind`` (float32, peak-normalised to a random level)."""
    if kind == "silence":
        if rng.random() < 0.5:
            return np.zeros(n, dtype=np.float32)
        y = rng.standard_normal(n) * 10 ** (rng.uniform(-100, -60) / 20)
        return y.astype(np.float32)
    y = {"noise": _noise, "hum": _hum, "tone": _tone, "beeps": _beeps, "dtmf": _dtmf,
         "sweep": _sweep, "clicks": _clicks}[kind](rng, n, sr)
    y = np.asarray(y, dtype=np.float64)
    if kind == "hum" or (kind != "noise" and rng.random() < 0.3):
        y = add_noise(y, snr_db=float(rng.uniform(0, 40)), rng=rng,
                      color=str(rng.choice(["white", "pink", "brown"])))
    y = y.astype(np.float32)
    if kind != "noise" and n > 0.3 * sr and rng.random() < 0.4:
        y, _ = random_augment(y, sr, rng, p_reverb=0.6, p_eq=0.6, p_noise=0.0, p_codec=0.3)
    peak = float(np.max(np.abs(y))) if n else 0.0
    if peak > 0:
        y = y / peak * 10 ** (rng.uniform(-40, -1) / 20)
    return y.astype(np.float32)


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr = ctx["sr"]
    rng = item_rng(spec["seed"], spec["index"], salt=12)
    n = max(1, int(round(spec["duration"] * sr)))
    y = render(spec["kind"], rng, n, sr)
    return write_item(spec, y, sr, out_dir, {"kind": spec["kind"]})


def write_item(spec, y, sr, out_dir, meta):
    """Save one item without music or speech (audio + an empty ``.lab``); its manifest item."""
    rel_audio = f"audio/{spec['id']}.flac"
    rel_lab = f"labels/{spec['id']}.lab"
    save_audio(f"{out_dir}/{rel_audio}", y, sr)
    Path(out_dir, "labels").mkdir(exist_ok=True)
    write_segments(Path(out_dir, rel_lab), [])
    return {"id": spec["id"], "audio": rel_audio, "duration": round(len(y) / sr, 4), "sr": sr,
            "split": spec["split"], "task": TASK, "source": "synth", "labels": [],
            "annotations": {"segments": rel_lab}, "meta": dict(meta)}
