"""Signal generators and broken files for tests and examples (numpy only)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["clicks", "tone", "chirp", "noise", "piano_like", "write_bad_files"]


def clicks(times, *, sr: int = 44100, length: float | None = None, click_duration=0.005,
           amplitude: float = 0.8) -> np.ndarray:
    """Decaying noise bursts starting exactly at ``times`` [s]; float32."""
    times = np.asarray(times, dtype=float)
    n = int(round((length if length is not None else (times.max() if len(times) else 0) + 0.5)
                  * sr))
    y = np.zeros(n, np.float32)
    rng = np.random.default_rng(0)
    m = int(click_duration * sr)
    burst = (rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 5))).astype(np.float32)
    for t in times:
        i = int(round(t * sr))
        seg = y[i:i + m]
        seg += amplitude * burst[:len(seg)]
    return y


def tone(freq: float = 440.0, *, sr: int = 22050, duration: float = 1.0,
         amplitude: float = 0.5) -> np.ndarray:
    """A sine tone; float32."""
    t = np.arange(int(round(duration * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(fmin: float = 100.0, fmax: float = 8000.0, *, sr: int = 22050,
          duration: float = 2.0, amplitude: float = 0.5) -> np.ndarray:
    """An exponential sine sweep; float32."""
    t = np.arange(int(round(duration * sr))) / sr
    k = np.log(fmax / fmin) / duration
    phase = 2 * np.pi * fmin * (np.exp(k * t) - 1) / k
    return (amplitude * np.sin(phase)).astype(np.float32)


def noise(*, sr: int = 22050, duration: float = 1.0, amplitude: float = 0.1,
          seed: int = 0) -> np.ndarray:
    """White Gaussian noise; float32."""
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(round(duration * sr)))).astype(np.float32)


def piano_like(onsets, pitches=None, *, sr: int = 44100, length: float | None = None,
               decay: float = 0.4) -> np.ndarray:
    """Plucked harmonic tones (sharp attack, exponential decay) at ``onsets`` [s]."""
    onsets = np.asarray(onsets, dtype=float)
    if pitches is None:
        pitches = 60 + (np.arange(len(onsets)) * 5) % 24
    total = length if length is not None else (onsets.max() if len(onsets) else 0) + 1.5
    y = np.zeros(int(round(total * sr)), np.float64)
    for t0, p in zip(onsets, pitches):
        f0 = 440.0 * 2 ** ((p - 69) / 12)
        n = min(int(3 * decay * sr), len(y) - int(round(t0 * sr)))
        if n <= 0:
            continue
        t = np.arange(n) / sr
        # 2 ms attack, exponential decay, and a smooth 50 ms release at the end
        # (an abrupt cut would be a click, i.e. a real extra onset)
        release = np.clip((n / sr - t) / 0.05, 0.0, 1.0) ** 2
        env = np.exp(-t / decay) * np.minimum(1.0, t / 0.002) * release
        note = sum((0.6 / h) * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6)
                   if h * f0 < sr / 2)
        i = int(round(t0 * sr))
        y[i:i + n] += 0.3 * env * note
    return y.astype(np.float32)


def write_bad_files(directory) -> dict:
    """Write one file per kind of bad input; returns {kind: path}.

    Kinds: ``missing``, ``empty``, ``not_audio``, ``zero_length``, ``truncated``,
    ``nan``, ``many_channels``, ``directory``.
    """
    import soundfile as sf

    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, f"{k}.wav") for k in
         ("missing", "empty", "not_audio", "zero_length", "truncated", "nan", "many_channels")}
    open(p["empty"], "wb").close()
    with open(p["not_audio"], "w") as f:
        f.write("this is a text file, not audio\n" * 20)
    sf.write(p["zero_length"], np.zeros(0, np.float32), 22050)
    good = os.path.join(directory, "good.wav")
    sf.write(good, tone(duration=2.0), 22050, subtype="PCM_16")
    with open(good, "rb") as f:
        data = f.read()
    with open(p["truncated"], "wb") as f:  # header promises 2 s, only ~5 % present
        f.write(data[:len(data) // 20])
    y = tone(duration=0.5)
    y[100] = np.nan
    sf.write(p["nan"], y, 22050, subtype="FLOAT")
    sf.write(p["many_channels"], np.zeros((1000, 12), np.float32), 22050)
    p["directory"] = os.path.join(directory, "a_directory.wav")
    os.makedirs(p["directory"], exist_ok=True)
    p["good"] = good
    return p
