"""Augmentation: the one waveform chain and the one spectrogram augmentation.

Waveform (shared by all corpus generators and feature-cache variants): room
reverb, additive noise, equalisation, gain and codec round trips, so models
do not learn the synthesizer. Every function takes ``y`` (float32, mono) and
returns an array of the same length, so time labels stay valid.

Spectrogram (training excerpts of every task): :class:`SpecAugment` — gain,
smooth random EQ and tilt, band shift, steep low-pass and a coloured noise
floor, in decibels, on any log front end (:func:`db_per_unit`).

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
    "SpecAugment",
    "db_per_unit",
    "mix_power",
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


# ------------------------------------------------------------------ spectrogram
def db_per_unit(config) -> float:
    """Decibels per unit of a log front end's output.

    Parameters
    ----------
    config : FrontendConfig
        ``log`` must be ``'db'``, ``'log10'`` or ``'log'``.

    Returns
    -------
    float [dB]
        10 for log10 power, 20 for log10 magnitude, 20 / ln(10) (8.69) for the
        natural log of a magnitude; divided by ``log_mul``.
    """
    from ..errors import ParameterError
    if config.log == "db":
        return 1.0 / config.log_mul
    if config.log not in ("log10", "log"):
        raise ParameterError(f"SpecAugment needs a log front end ('db', 'log10' or 'log'), "
                             f"got log={config.log!r}")
    base = 1.0 if config.log == "log10" else np.log(10.0)
    return float(20.0 / (config.power * base * config.log_mul))


def silence_floor(config) -> float:
    """The output of a log front end for exact zeros (its ``amin`` floor), in feature units."""
    from ..errors import ParameterError
    amin = float(config.amin)
    if config.log == "db":
        return float(config.log_mul * 10.0 * np.log10(amin))
    if config.log == "log10":
        return float(config.log_mul * np.log10(amin))
    if config.log == "log":
        return float(config.log_mul * np.log(amin))
    raise ParameterError(f"silence_floor needs a log front end, got log={config.log!r}")


class SpecAugment:
    """Random augmentation of log spectrogram excerpts (the one for every task).

    Acts on ``x [shape=(n_frames, ..., n_bins)]`` (the band axis last, any
    channel axes in between, e.g. the 3 resolutions of the onset front end);
    every change is the same for all channels.

    Parameters
    ----------
    unit_db : float [dB]
        Decibels per feature unit (:func:`db_per_unit`; 10 for log10 power).
    gain_db : float [dB]
        Uniform random gain in ``[-gain_db, gain_db]``.
    eq_db : float [dB]
        Amplitude of a smooth random curve across bands (``eq_knots`` knots
        uniform in ``[-eq_db, eq_db]``, interpolated linearly): random EQ.
    eq_knots : int
        Knots of the EQ curve.
    tilt_db : float [dB]
        Random spectral tilt: a line from ``-t`` to ``+t`` over the bands,
        ``t`` uniform in ``[-tilt_db, tilt_db]``.
    shift : int [bands]
        Random shift of the band axis in ``[-shift, shift]`` (edge-padded), a
        crude pitch shift.
    noise_prob : float
        Probability of adding a random coloured noise floor (power domain).
    noise_snr : (float, float) [dB]
        Range of the noise level below the excerpt's mean power.
    lowpass_prob : float
        Probability of a steep low-pass: bands above a random cut-off (40 % to
        90 % of the bands) fall to the excerpt's floor, so band-limited
        recordings (telephone, codecs) are seen in every class.
    silence_prob : float
        Probability of digital silence: the frames whose mean level (over channels
        and bands) lies under a random percentile (``silence_pct``) of the excerpt's
        frames become ``silence_floor`` in every band, the front end's output for
        exact zeros, as between the events of synthesized, edited or gated audio
        (training renders always carry a noise floor).
    silence_pct : (float, float) [%]
        Range of that percentile.
    silence_floor : float or None
        Feature value of exact zeros (:func:`silence_floor`); needed when
        ``silence_prob`` > 0.

    Notes
    -----
    Draw order (and so the result for a given ``rng``): shift, low-pass, EQ,
    tilt, gain, noise, silence; stages switched off draw nothing.
    """

    def __init__(self, *, unit_db: float = 10.0, gain_db: float = 10.0, eq_db: float = 5.0,
                 eq_knots: int = 4, tilt_db: float = 0.0, shift: int = 2,
                 noise_prob: float = 0.3, noise_snr=(5.0, 40.0), lowpass_prob: float = 0.3,
                 silence_prob: float = 0.0, silence_pct=(10.0, 60.0),
                 silence_floor: float | None = None):
        from ..errors import ParameterError
        if unit_db <= 0 or eq_knots < 2 or shift < 0:
            raise ParameterError("SpecAugment: unit_db > 0, eq_knots >= 2 and shift >= 0 needed")
        if silence_prob and silence_floor is None:
            raise ParameterError("SpecAugment: silence_prob > 0 needs silence_floor")
        self.unit_db, self.gain_db, self.eq_db, self.eq_knots = unit_db, gain_db, eq_db, eq_knots
        self.tilt_db, self.shift = tilt_db, int(shift)
        self.noise_prob, self.noise_snr = noise_prob, tuple(noise_snr)
        self.lowpass_prob = lowpass_prob
        self.silence_prob, self.silence_pct = silence_prob, tuple(silence_pct)
        self.silence_floor = silence_floor

    def __repr__(self):
        return (f"SpecAugment(unit_db={self.unit_db:g}, gain_db={self.gain_db:g}, "
                f"eq_db={self.eq_db:g}, eq_knots={self.eq_knots}, tilt_db={self.tilt_db:g}, "
                f"shift={self.shift}, noise_prob={self.noise_prob:g}, "
                f"noise_snr={self.noise_snr}, lowpass_prob={self.lowpass_prob:g})")

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copy of ``x`` (float32, same shape)."""
        x = np.asarray(x, dtype=np.float32)
        n_bins = x.shape[-1]
        u = np.float32(1.0 / self.unit_db)  # feature units per dB
        if self.shift:
            s = int(rng.integers(-self.shift, self.shift + 1))
            if s > 0:
                x = np.concatenate([np.repeat(x[..., :1], s, axis=-1), x[..., :-s]], axis=-1)
            elif s < 0:
                x = np.concatenate([x[..., -s:], np.repeat(x[..., -1:], -s, axis=-1)], axis=-1)
        if self.lowpass_prob and rng.random() < self.lowpass_prob:
            cut = int(rng.integers(int(0.4 * n_bins), int(0.9 * n_bins)))
            floor = np.float32(np.percentile(x, 1))
            ramp = np.minimum(np.arange(n_bins - cut, dtype=np.float32), 4.0) / 4.0
            x = x.copy()
            x[..., cut:] = x[..., cut:] * (1 - ramp) + (floor - 10.0 * u) * ramp
        if self.eq_db:
            k = self.eq_knots
            knots = rng.uniform(-self.eq_db, self.eq_db, size=k)
            curve = np.interp(np.linspace(0, k - 1, n_bins), np.arange(k), knots)
            x = x + (curve * u).astype(np.float32)
        if self.tilt_db:
            t = rng.uniform(-self.tilt_db, self.tilt_db)
            x = x + (t * u * np.linspace(-1, 1, n_bins)).astype(np.float32)
        if self.gain_db:
            x = x + np.float32(rng.uniform(-self.gain_db, self.gain_db) * u)
        if self.noise_prob and rng.random() < self.noise_prob:
            xd = x.astype(np.float64) * self.unit_db  # dB
            level = 10 * np.log10(np.mean(10.0 ** (xd / 10)) + 1e-12)
            level -= rng.uniform(*self.noise_snr)
            tilt = 10 * rng.uniform(-1.0, 0.5) * np.linspace(0, 1, n_bins)
            noise = level + tilt + 5 * np.log10(rng.exponential(1.0, size=x.shape) + 1e-6)
            ln = np.log(10) / 10
            x = (np.logaddexp(xd * ln, noise * ln) / ln * u)
        if self.silence_prob and rng.random() < self.silence_prob:
            x = np.array(x, dtype=np.float32)
            frames = x.reshape(x.shape[0], -1).mean(axis=1)  # time axis first
            thr = np.percentile(frames, rng.uniform(*self.silence_pct))
            x[frames < thr] = np.float32(self.silence_floor)
        return np.asarray(x, dtype=np.float32)


def mix_power(a: np.ndarray, b: np.ndarray, gain_b: float, *, unit_db: float = 10.0) -> np.ndarray:
    """Power-domain sum of two log spectrograms, ``b`` scaled by ``gain_b`` (feature units).

    ``unit_db`` is the decibels per feature unit (10 for log10 power).
    """
    ln = np.log(10) * unit_db / 10
    return (np.logaddexp(a * ln, (b + gain_b) * ln) / ln).astype(np.float32)
