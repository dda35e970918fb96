"""Waveform augmentation shared by all corpus generators.

Room reverb, additive noise, equalisation, gain and codec round trips, so
models do not learn the synthesizer. Every function takes ``y`` (float32,
mono) and returns an array of the same length, so time labels stay valid.
Randomness comes only from the ``rng`` passed in.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile

import numpy as np
from scipy import signal

__all__ = [
    "room_impulse_response",
    "reverb",
    "colored_noise",
    "add_noise",
    "equalize",
    "gain",
    "codec_roundtrip",
    "random_augment",
    "CODECS",
]

logger = logging.getLogger(__name__)


def room_impulse_response(sr, *, rt60, rng, predelay=0.005, n_early=8):
    """A synthetic room impulse response.

    Exponentially decaying Gaussian noise (faster decay at high frequencies)
    after a direct path and a few sparse early reflections.

    Parameters
    ----------
    sr : int [Hz]
    rt60 : float [seconds]
        Time for the reverb tail to decay by 60 dB.
    rng : np.random.Generator
    predelay : float [seconds]
        Direct path to first reflection.
    n_early : int
        Number of early reflections.

    Returns
    -------
    h : np.ndarray [shape=(n,)], float32, h[0] = 1
    """
    n = max(int(rt60 * sr * 1.2), 32)
    t = np.arange(n) / sr
    decay = np.exp(-6.9078 * t / rt60)
    tail = rng.standard_normal(n) * decay
    # darker tail: low-pass whose cutoff falls over time (two-band split)
    sos = signal.butter(2, min(0.45 * sr, 3000.0), btype="low", fs=sr, output="sos")
    low = signal.sosfilt(sos, tail)
    high = tail - low
    tail = low + high * np.exp(-6.9078 * t / (0.5 * rt60))
    start = int(predelay * sr)
    tail[:start] = 0.0
    h = 0.25 * tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    for _ in range(n_early):
        k = int(rng.integers(start, max(start + 1, int(0.05 * sr))))
        h[k] += rng.uniform(-0.4, 0.4)
    h[0] = 1.0
    return h.astype(np.float32)


def reverb(y, sr, *, rt60, wet, rng):
    """Convolve with a synthetic room and mix.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    rt60 : float [seconds]
    wet : float in [0, 1]
        Share of the reverberant signal (0 = dry).
    rng : np.random.Generator

    Returns
    -------
    y_out : np.ndarray [shape=(n,)], float32, same RMS as ``y``
    """
    h = room_impulse_response(sr, rt60=rt60, rng=rng)
    wet_sig = signal.fftconvolve(y, h)[: len(y)]
    out = (1.0 - wet) * y + wet * wet_sig
    return _match_rms(out, y)


def _match_rms(out, ref):
    r_out = np.sqrt(np.mean(out.astype(np.float64) ** 2)) + 1e-12
    r_ref = np.sqrt(np.mean(ref.astype(np.float64) ** 2))
    return (out * (r_ref / r_out)).astype(np.float32)


def colored_noise(n, *, color, rng):
    """Unit-RMS noise: ``"white"``, ``"pink"`` (1/f) or ``"brown"`` (1/f^2).

    Returns
    -------
    noise : np.ndarray [shape=(n,)], float32
    """
    white = rng.standard_normal(n)
    if color == "white":
        x = white
    else:
        spec = np.fft.rfft(white)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        spec /= f ** (0.5 if color == "pink" else 1.0)
        spec[0] = 0.0
        x = np.fft.irfft(spec, n)
    x = x / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    return x.astype(np.float32)


def add_noise(y, *, snr_db, rng, color="pink", noise=None):
    """Add noise at a signal-to-noise ratio.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    snr_db : float [dB]
        Relative to the RMS of ``y`` over its active (non-silent) part.
    rng : np.random.Generator
    color : {"white", "pink", "brown"}
    noise : np.ndarray or None
        Use this noise (looped/cut to length) instead of generated noise.
    """
    n = len(y)
    if noise is None:
        nz = colored_noise(n, color=color, rng=rng)
    else:
        reps = int(np.ceil(n / max(len(noise), 1)))
        nz = np.tile(noise, reps)[:n].astype(np.float32)
        nz = nz / (np.sqrt(np.mean(nz.astype(np.float64) ** 2)) + 1e-12)
    level = active_rms(y)
    return (y + nz * level * 10 ** (-snr_db / 20.0)).astype(np.float32)


def active_rms(y, *, frame=2048, floor_db=-40.0):
    """RMS over frames within ``floor_db`` of the loudest frame (float)."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < frame:
        return float(np.sqrt(np.mean(y ** 2)) + 1e-12)
    m = len(y) // frame
    e = np.mean(y[: m * frame].reshape(m, frame) ** 2, axis=1)
    keep = e >= e.max() * 10 ** (floor_db / 10.0)
    return float(np.sqrt(np.mean(e[keep])) + 1e-12)


def equalize(y, sr, *, bands, highpass=None, lowpass=None):
    """Peaking-filter EQ plus optional high/low-pass.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    bands : sequence of (float, float, float)
        (centre frequency [Hz], gain [dB], Q) peaking filters.
    highpass, lowpass : float or None [Hz]
        4th-order Butterworth cut-offs.
    """
    x = np.asarray(y, dtype=np.float64)
    for f0, g_db, q in bands:
        if not 0 < f0 < sr / 2:
            continue
        a = 10 ** (g_db / 40.0)
        w0 = 2 * np.pi * f0 / sr
        alpha = np.sin(w0) / (2 * q)
        b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
        den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
        x = signal.lfilter(b / den[0], den / den[0], x)
    if highpass is not None and 0 < highpass < sr / 2:
        x = signal.sosfilt(signal.butter(4, highpass, btype="high", fs=sr, output="sos"), x)
    if lowpass is not None and 0 < lowpass < sr / 2:
        x = signal.sosfilt(signal.butter(4, lowpass, btype="low", fs=sr, output="sos"), x)
    return x.astype(np.float32)


def gain(y, *, gain_db):
    """Scale by ``gain_db`` decibels (no clipping applied)."""
    return (np.asarray(y) * 10 ** (gain_db / 20.0)).astype(np.float32)


# name -> (ffmpeg encoder args, container extension)
CODECS = {
    "mp3": (["-c:a", "libmp3lame"], "mp3"),
    "ogg": (["-c:a", "libvorbis"], "ogg"),
    "opus": (["-c:a", "libopus"], "ogg"),
    "aac": (["-c:a", "aac"], "m4a"),
    "gsm": (["-c:a", "libgsm", "-ar", "8000"], "wav"),
}


def codec_roundtrip(y, sr, *, codec="mp3", bitrate="64k"):
    """Encode and decode with ffmpeg; time alignment is restored.

    Encoder delay/padding is removed by cross-correlating with the input, so
    labels stay valid. Raises ``RuntimeError`` (EngineUnavailable subclass
    semantics) when ffmpeg or the codec is missing.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    codec : {"mp3", "ogg", "opus", "aac", "gsm"}
    bitrate : str
        ffmpeg bit rate (ignored for gsm).

    Returns
    -------
    y_out : np.ndarray [shape=(n,)], float32
    """
    import soundfile as sf

    from audiodl.data.synth.engines import INSTALL_HINT, EngineUnavailable

    exe = shutil.which("ffmpeg")
    if exe is None:
        raise EngineUnavailable(f"ffmpeg is not installed; {INSTALL_HINT}")
    args, ext = CODECS[codec]
    with tempfile.TemporaryDirectory(prefix="audiodl-codec-") as tmp:
        src = os.path.join(tmp, "in.wav")
        enc = os.path.join(tmp, f"enc.{ext}")
        dec = os.path.join(tmp, "dec.wav")
        sf.write(src, np.clip(y, -1, 1), sr, subtype="FLOAT")
        if codec == "gsm":
            br = []
        elif codec == "ogg":  # libvorbis: quality scale (bit rates are limited at low sr)
            kbps = int(str(bitrate).rstrip("kK"))
            br = ["-q:a", str(int(np.clip(round((kbps - 32) / 16), 0, 6)))]
        else:
            br = ["-b:a", bitrate]
        opus_sr = ["-ar", "48000"] if codec == "opus" else []
        cmds = [[exe, "-v", "error", "-y", "-i", src, *args, *br, *opus_sr, enc],
                [exe, "-v", "error", "-y", "-i", enc, "-ar", str(sr), "-ac", "1", "-c:a", "pcm_f32le", dec]]
        for cmd in cmds:
            proc = subprocess.run(cmd, capture_output=True, timeout=120)
            if proc.returncode != 0:
                raise EngineUnavailable(f"ffmpeg {codec} round trip failed: "
                                        f"{proc.stderr.decode(errors='replace').strip()[-300:]}")
        out, _ = sf.read(dec, dtype="float32", always_2d=False)
    return _align(out, y)


def _align(out, ref, max_lag=4096):
    n = len(ref)
    seg = min(n, 1 << 16)
    a = np.asarray(ref[:seg], dtype=np.float64)
    b = np.asarray(out[: seg + max_lag], dtype=np.float64)
    if np.any(a) and len(b) > 0:
        c = signal.correlate(b, a, mode="full", method="fft")
        lags = np.arange(-len(a) + 1, len(b))
        ok = (lags >= 0) & (lags <= max_lag)
        lag = int(lags[ok][np.argmax(c[ok])]) if np.any(ok) else 0
    else:
        lag = 0
    out = out[lag:]
    if len(out) < n:
        out = np.pad(out, (0, n - len(out)))
    return out[:n].astype(np.float32)


def random_augment(y, sr, rng, *, p_reverb=0.5, p_eq=0.5, p_noise=0.4, p_codec=0.2,
                   noise_snr=(10.0, 40.0), rt60=(0.15, 1.0)):
    """Apply a random chain (EQ -> reverb -> noise -> codec -> gain).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    rng : np.random.Generator
    p_reverb, p_eq, p_noise, p_codec : float
        Probability of each stage.
    noise_snr : (float, float) [dB]
    rt60 : (float, float) [seconds]

    Returns
    -------
    y_out : np.ndarray [shape=(n,)], float32, peak <= 0.99
    params : dict
        What was applied (for the manifest's ``meta``).
    """
    params = {}
    # draw every random number up front so the chain is reproducible even if
    # a stage (codec) is unavailable
    draws = rng.random(4)
    eq_bands = [(float(rng.uniform(80, 8000)), float(rng.uniform(-9, 9)), float(rng.uniform(0.5, 2.5)))
                for _ in range(3)]
    hp = float(rng.choice([0.0, 60.0, 120.0, 300.0]))
    lp = float(rng.choice([0.0, 0.0, 3400.0, 6000.0, 8000.0]))
    r_rt60 = float(rng.uniform(*rt60))
    r_wet = float(rng.uniform(0.1, 0.6))
    r_seed = int(rng.integers(2 ** 31))
    n_snr = float(rng.uniform(*noise_snr))
    n_color = str(rng.choice(["white", "pink", "brown"]))
    n_seed = int(rng.integers(2 ** 31))
    codec = str(rng.choice(["mp3", "ogg", "aac", "opus"]))
    bitrate = str(rng.choice(["32k", "48k", "64k", "96k"]))
    g_db = float(rng.uniform(-12, 0))
    out = np.asarray(y, dtype=np.float32)
    if draws[0] < p_eq:
        out = equalize(out, sr, bands=eq_bands, highpass=hp or None, lowpass=lp or None)
        params["eq"] = {"bands": eq_bands, "highpass": hp, "lowpass": lp}
    if draws[1] < p_reverb:
        out = reverb(out, sr, rt60=r_rt60, wet=r_wet, rng=np.random.default_rng(r_seed))
        params["reverb"] = {"rt60": r_rt60, "wet": r_wet}
    if draws[2] < p_noise:
        out = add_noise(out, snr_db=n_snr, rng=np.random.default_rng(n_seed), color=n_color)
        params["noise"] = {"snr_db": n_snr, "color": n_color}
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0:
        out = out * (0.9 / peak)
    if draws[3] < p_codec:
        try:
            out = codec_roundtrip(out, sr, codec=codec, bitrate=bitrate)
            params["codec"] = {"codec": codec, "bitrate": bitrate}
        except RuntimeError as exc:
            logger.warning("codec round trip skipped: %s", exc)
    out = gain(out, gain_db=g_db)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:
        out = out * (0.99 / peak)
    params["gain_db"] = g_db
    return out.astype(np.float32), params
