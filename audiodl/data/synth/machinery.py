"""Neither music nor speech, the hard cases: machines, engines, crowds and rhythmic mechanics.

More negatives for the ``neither`` answer of music/speech detection, made for
the sounds a detector mistakes for music because they are harmonic or
rhythmic (``audiodl synth machinery``). Every item is one file with NO music
and NO speech (an empty ``segments`` annotation, ``labels: []``) of one kind:

``engine``
    A combustion engine: one resonant noise pulse per firing (10-150 firings/s),
    the firing rate idling with jitter, revving up/down or starting (cranking,
    then catching), often with a doppler pass-by.
``motor``
    An electric motor or turbine: a harmonic whine (80 Hz - 3 kHz) over broadband
    noise, gliding when it speeds up or slows down, amplitude-modulated at its
    rotation rate.
``fan``
    Broadband (filtered) noise with blade-pass tones and their harmonics.
``hum``
    Transformer / mains hum with rich harmonics and buzz (a clipped sine).
``mechanism``
    Rhythmic mechanical sounds: clock tick-tock, rail joints (pairs of clunks),
    a jackhammer or sewing machine (fast impacts), a ratchet, irregular
    typewriter-like clicks.
``rotor``
    A helicopter: noise chopped at the blade rate (4-25 Hz), a low thump and a
    turbine whine.
``jet``
    Jet or rushing noise whose spectrum sweeps (a moving comb: doppler,
    flanging) under a gliding turbine tone.
``crowd``
    Applause, rain, gravel: dense random noise bursts (20-400 per second) under a
    slow envelope.

A share gets background noise, room reverb, EQ or a codec round trip.
Durations 0.3-12 s. Splits 80/20 train/valid only
(:data:`SPLIT_FRACTIONS`): the neither TEST set stays the generated
``nonspeech`` items plus real effects of packages never trained on.
"""

from __future__ import annotations

import numpy as np

from audiodl.data.augment import add_noise, colored_noise, random_augment
from audiodl.data.synth.common import plan_durations
from audiodl.data.synth.nonspeech import write_item
from audiodl.data.synth.runner import item_rng

TASK = "nonspeech"
DEFAULT_SR = 22050
KINDS = ("engine", "motor", "fan", "hum", "mechanism", "rotor", "jet", "crowd")
KIND_P = (0.22, 0.14, 0.10, 0.08, 0.16, 0.10, 0.10, 0.10)
SPLIT_FRACTIONS = (0.8, 0.2, 0.0)


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "classes": [], "split_fractions": SPLIT_FRACTIONS,
            "label_rule": "no music and no speech anywhere (empty segments)"}


def check():
    """Nothing to check: numpy and scipy only."""


def plan(hours, seed, sr):
    """Item specs (prefix-stable): kind and duration per item."""
    return plan_durations(hours, seed, prefix="mc", salt=21, kinds=KINDS, kind_p=KIND_P,
                          duration=_duration, decimals=3, fractions=SPLIT_FRACTIONS)


def _duration(rng):
    """Item duration [s]: 20 % short (0.3-2 s), else 2-12 s."""
    return rng.uniform(0.3, 2.0) if rng.random() < 0.2 else rng.uniform(2.0, 12.0)


def make_context(sr):
    return {"sr": sr}


def _bandpass(y, sr, lo, hi, order=2):
    from scipy import signal
    lo, hi = max(20.0, lo), min(0.45 * sr, hi)
    if hi <= lo * 1.05:
        return y
    sos = signal.butter(order, [lo, hi], btype="band", fs=sr, output="sos")
    return signal.sosfilt(sos, y)


def _lowpass(y, sr, f, order=2):
    from scipy import signal
    sos = signal.butter(order, min(f, 0.45 * sr), btype="low", fs=sr, output="sos")
    return signal.sosfilt(sos, y)


def _contour(rng, n, sr, lo, hi, *, mode=None):
    """A rate contour (per sample) between ``lo`` and ``hi``: steady with wobble, a ramp, a rev."""
    t = np.arange(n) / sr
    dur = max(n / sr, 1e-3)
    mode = mode or str(rng.choice(["steady", "ramp", "rev"]))
    base = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if mode == "ramp":
        end = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        c = base * (end / base) ** (t / dur)
    elif mode == "rev":
        peak = t[int(rng.integers(max(1, n)))] if n else 0.0
        c = base * (1 + rng.uniform(0.5, 2.0) * np.exp(-((t - peak) / (0.2 * dur + 0.1)) ** 2))
    else:
        c = np.full(n, base)
    wob = 1 + rng.uniform(0.0, 0.06) * np.sin(2 * np.pi * rng.uniform(0.2, 3.0) * t + rng.uniform(0, 6.3))
    return c * wob


def _pulses(rng, n, sr, rate, make_pulse, *, jitter=0.03):
    """Pulses at a time-varying rate (per sample); ``make_pulse(rng)`` returns one pulse."""
    out = np.zeros(n)
    phase = np.cumsum(rate) / sr
    for t in np.flatnonzero(np.diff(np.floor(phase)) > 0):
        t = int(t + rng.normal(0, jitter) * sr / max(rate[t], 1.0))
        p = make_pulse(rng)
        a, b = max(0, t), min(n, t + len(p))
        if b > a:
            out[a:b] += p[a - t:b - t]
    return out


def _resonant_pulse(sr, rng, *, f_lo, f_hi, length, color="white"):
    m = max(4, int(length * sr))
    y = colored_noise(m, color=color, rng=rng)
    y = _bandpass(y, sr, f_lo, f_hi)
    return y * np.exp(-np.arange(m) / (m / rng.uniform(3, 6))) * rng.uniform(0.6, 1.0)


def _doppler(rng, y, sr):
    """A pass-by: rising then falling level and a small pitch drop (variable delay)."""
    n = len(y)
    t = np.arange(n) / sr
    t0 = float(rng.uniform(0.3, 0.7)) * n / sr
    d = float(rng.uniform(5, 30))  # closest distance [m]
    v = float(rng.uniform(8, 40))  # speed [m/s]
    r = np.sqrt(d ** 2 + (v * (t - t0)) ** 2)
    delay = r / 343.0 * sr
    src = np.clip(np.arange(n) - (delay - delay.min()), 0, n - 1)
    return np.interp(src, np.arange(n), y) * (d / r)


def _engine(rng, n, sr):
    mode = str(rng.choice(["steady", "ramp", "rev", "start"]))
    rate = _contour(rng, n, sr, 12.0, 150.0, mode=None if mode == "start" else mode)
    f_lo = float(np.exp(rng.uniform(np.log(60.0), np.log(400.0))))
    f_hi = f_lo * rng.uniform(2.0, 12.0)
    length = float(rng.uniform(0.004, 0.03))
    color = str(rng.choice(["white", "pink", "brown"]))
    y = _pulses(rng, n, sr, rate, lambda g: _resonant_pulse(sr, g, f_lo=f_lo, f_hi=f_hi, length=length,
                                                             color=color),
                jitter=float(rng.uniform(0.01, 0.15)))
    if mode == "start":  # cranking (slow, irregular) then the engine catches
        c = int(rng.uniform(0.2, 0.5) * n)
        crank = _pulses(rng, c, sr, np.full(c, rng.uniform(4.0, 9.0)),
                        lambda g: _resonant_pulse(sr, g, f_lo=100, f_hi=2000, length=0.08), jitter=0.1)
        y[:c] = crank * 0.6
    y = y + _lowpass(colored_noise(n, color="brown", rng=rng), sr, 300) * rng.uniform(0.0, 0.5) * np.std(y)
    if rng.random() < 0.35:
        y = _doppler(rng, y, sr)
    return y


def _harmonic(rng, f, sr, n_harm, *, decay=0.7):
    ph = 2 * np.pi * np.cumsum(f) / sr
    return sum(np.sin(k * ph + rng.uniform(0, 6.3)) * decay ** (k - 1) * rng.uniform(0.3, 1.0)
               for k in range(1, n_harm + 1) if k * np.max(f) < 0.45 * sr)


def _motor(rng, n, sr):
    f = _contour(rng, n, sr, 80.0, 3000.0)
    y = _harmonic(rng, f, sr, int(rng.integers(1, 8)), decay=float(rng.uniform(0.3, 0.8)))
    rot = f / rng.uniform(2, 12)
    am = 1 + rng.uniform(0.0, 0.6) * np.sin(2 * np.pi * np.cumsum(rot) / sr)
    noise = _bandpass(colored_noise(n, color="pink", rng=rng), sr, rng.uniform(50, 500), rng.uniform(2000, 9000))
    return y * am * rng.uniform(0.2, 1.0) + noise * rng.uniform(0.3, 2.0) * np.std(y)


def _fan(rng, n, sr):
    y = colored_noise(n, color=str(rng.choice(["white", "pink", "brown"])), rng=rng)
    y = _bandpass(y, sr, rng.uniform(30, 300), rng.uniform(1500, 10000))
    bpf = _contour(rng, n, sr, 40.0, 600.0, mode=str(rng.choice(["steady", "steady", "ramp"])))
    tones = _harmonic(rng, bpf, sr, int(rng.integers(1, 5)), decay=0.5)
    return y + tones * rng.uniform(0.05, 0.6) * np.std(y) * 1.4


def _hum(rng, n, sr):
    f0 = (50.0 if rng.random() < 0.5 else 60.0) * float(rng.choice([1, 2, 2, 3]))
    t = np.arange(n) / sr
    y = np.sin(2 * np.pi * f0 * t)
    if rng.random() < 0.6:  # buzz: a clipped sine has odd harmonics up high
        y = np.clip(y * rng.uniform(1.5, 8.0), -1, 1)
    y = y + _harmonic(rng, np.full(n, f0), sr, int(rng.integers(2, 12)), decay=float(rng.uniform(0.5, 0.9)))
    return y * (1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.1, 2.0) * t))


def _mechanism(rng, n, sr):
    mode = str(rng.choice(["clock", "rail", "hammer", "ratchet", "typing"]))
    out = np.zeros(n)

    def click(g, f_lo, f_hi, length):
        return _resonant_pulse(sr, g, f_lo=f_lo, f_hi=f_hi, length=length)

    if mode == "typing":
        t = rng.uniform(0, 0.2) * sr
        while t < n:
            p = click(rng, 800, 8000, rng.uniform(0.005, 0.03))
            a = int(t)
            b = min(n, a + len(p))
            out[a:b] += p[:b - a]
            t += rng.exponential(rng.uniform(0.08, 0.3)) * sr + 0.02 * sr
        return out
    if mode == "clock":
        rate, f_lo, f_hi, length = rng.uniform(1.0, 5.0), 1500, 7000, 0.01
    elif mode == "rail":
        rate, f_lo, f_hi, length = rng.uniform(0.8, 4.0), 80, 1500, 0.08
    elif mode == "hammer":
        rate, f_lo, f_hi, length = rng.uniform(8.0, 30.0), 200, 5000, 0.03
    else:
        rate, f_lo, f_hi, length = rng.uniform(10.0, 40.0), 1000, 8000, 0.006
    r = _contour(rng, n, sr, rate * 0.9, rate * 1.1, mode=str(rng.choice(["steady", "ramp"])))
    out = _pulses(rng, n, sr, r, lambda g: click(g, f_lo, f_hi, length), jitter=float(rng.uniform(0.0, 0.08)))
    if mode in ("clock", "rail"):  # tick-tock / the second axle: a delayed, different pulse
        lag = int(rng.uniform(0.1, 0.45) / rate * sr)
        out2 = _pulses(rng, n, sr, r, lambda g: click(g, f_lo * 0.8, f_hi * 0.8, length), jitter=0.02)
        out[lag:] += out2[:n - lag] * rng.uniform(0.5, 1.0)
    if mode in ("rail", "hammer"):
        out += _lowpass(colored_noise(n, color="brown", rng=rng), sr, 500) * rng.uniform(0.1, 0.6) * np.std(out)
    return out


def _rotor(rng, n, sr):
    rate = _contour(rng, n, sr, 4.0, 25.0, mode=str(rng.choice(["steady", "ramp"])))
    chop = np.sin(np.pi * np.cumsum(rate) / sr) ** 2
    chop = chop ** rng.uniform(1, 6)
    noise = _bandpass(colored_noise(n, color="pink", rng=rng), sr, 60, rng.uniform(800, 6000))
    thump = _pulses(rng, n, sr, rate, lambda g: _resonant_pulse(sr, g, f_lo=30, f_hi=200, length=0.05),
                    jitter=0.01)
    whine = _harmonic(rng, _contour(rng, n, sr, 800.0, 6000.0, mode="steady"), sr, 2)
    y = noise * (0.2 + chop) + thump * rng.uniform(0.5, 2.0) * np.std(noise) / (np.std(thump) + 1e-9)
    y = y + whine * rng.uniform(0.0, 0.3) * np.std(y)
    return _doppler(rng, y, sr) if rng.random() < 0.3 else y


def _jet(rng, n, sr):
    y = colored_noise(n, color=str(rng.choice(["white", "pink"])), rng=rng)
    # a moving comb (the ground reflection of a passing source): y(t) + y(t - d(t))
    d = np.abs(_contour(rng, n, sr, 0.0002, 0.01, mode=str(rng.choice(["ramp", "rev"]))))
    src = np.clip(np.arange(n) - d * sr, 0, n - 1)
    y = y + np.interp(src, np.arange(n), y) * rng.uniform(0.5, 1.0)
    y = _bandpass(y, sr, rng.uniform(40, 400), rng.uniform(3000, 10000))
    whine = _harmonic(rng, _contour(rng, n, sr, 500.0, 5000.0, mode=str(rng.choice(["ramp", "rev"]))), sr, 2)
    y = y + whine * rng.uniform(0.0, 0.4) * np.std(y)
    t = np.arange(n) / sr
    env = np.exp(-((t - rng.uniform(0.3, 0.7) * t[-1]) / (0.4 * t[-1] + 0.1)) ** 2) if n > 1 else np.ones(n)
    return y * (0.2 + env)


def _crowd(rng, n, sr):
    rate = float(np.exp(rng.uniform(np.log(20.0), np.log(400.0))))
    k = int(rate * n / sr) + 1
    out = np.zeros(n)
    f_lo, f_hi = rng.uniform(300, 1500), rng.uniform(3000, 10000)
    for t in rng.integers(0, max(1, n), size=k):
        m = int(rng.uniform(0.003, 0.02) * sr)
        p = colored_noise(m, color="white", rng=rng) * np.exp(-np.arange(m) / (m / 4)) * rng.uniform(0.2, 1.0)
        b = min(n, t + m)
        out[t:b] += p[:b - t]
    out = _bandpass(out, sr, f_lo, f_hi)
    t = np.arange(n) / sr
    env = np.clip(np.minimum(t / rng.uniform(0.1, 1.5), (t[-1] - t) / rng.uniform(0.2, 2.0)), 0, 1) if n > 1 \
        else np.ones(n)
    return out * (0.1 + env)


RENDER = {"engine": _engine, "motor": _motor, "fan": _fan, "hum": _hum, "mechanism": _mechanism,
          "rotor": _rotor, "jet": _jet, "crowd": _crowd}


def render(kind, rng, n, sr):
    """Samples of one item of ``kind`` (float32, peak-normalised to a random level)."""
    y = np.nan_to_num(np.asarray(RENDER[kind](rng, n, sr), dtype=np.float64))
    if rng.random() < 0.4:
        y = add_noise(y, snr_db=float(rng.uniform(5, 40)), rng=rng,
                      color=str(rng.choice(["white", "pink", "brown"])))
    y = y.astype(np.float32)
    if n > 0.3 * sr and rng.random() < 0.5:
        y, _ = random_augment(y, sr, rng, p_reverb=0.5, p_eq=0.6, p_noise=0.0, p_codec=0.3)
    peak = float(np.max(np.abs(y))) if n else 0.0
    if peak > 0:
        y = y / peak * 10 ** (rng.uniform(-30, -1) / 20)
    return y.astype(np.float32)


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr = ctx["sr"]
    rng = item_rng(spec["seed"], spec["index"], salt=22)
    n = max(1, int(round(spec["duration"] * sr)))
    y = render(spec["kind"], rng, n, sr)
    return write_item(spec, y, sr, out_dir, {"kind": spec["kind"], "generator": "machinery"})
