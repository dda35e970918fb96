"""Signal generators and broken files for tests and examples (numpy only)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["clicks", "tone", "chirp", "noise", "piano_like", "write_bad_files",
           "run_with_kills"]


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


def run_with_kills(cmd, *, done, kills: int, seed: int = 0, env=None, cwd=None,
                   timeout: float = 600.0, max_runs: int = 50):
    """Run ``cmd`` again and again, SIGKILLing the first ``kills`` runs mid-way.

    A run is killed once ``done()`` (a progress count, e.g. finished outputs)
    has grown by a random 1-3 since the run started, after a further random
    0-50 ms, so kills land at varied points, writes included. Runs after the
    last kill go to completion.

    Parameters
    ----------
    cmd : list of str
    done : callable () -> int
    kills : int
    seed : int
        Seeds the random kill points.

    Returns
    -------
    (kills made, returncode of the completed run, its stderr)
    """
    import random
    import signal
    import subprocess
    import time

    rng = random.Random(seed)
    killed = 0
    err = ""
    for _ in range(max_runs):
        target = done() + rng.randint(1, 3) if killed < kills else None
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < timeout:
            if target is not None and done() >= target:
                time.sleep(rng.uniform(0, 0.05))
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"{cmd} did not finish in {timeout} s: {err[-2000:]}") from None
        if proc.returncode == -signal.SIGKILL:
            killed += 1
            continue
        return killed, proc.returncode, err
    raise AssertionError(f"{cmd} did not complete in {max_runs} runs: {err[-2000:]}")
