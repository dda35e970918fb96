"""Frozen, serialisable front-end configuration with a stable hash.

A :class:`FrontendConfig` fully describes how a waveform becomes a
time-frequency representation; every model stores the one it was trained with.
Names follow librosa (``sr``, ``n_fft``, ``hop_length``, ``n_mels``, ``fmin``,
``fmax``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from ..errors import ParameterError

__all__ = ["FrontendConfig", "PRESETS", "preset", "as_config", "FILTERBANKS", "LOG_KINDS", "NORMS"]

FILTERBANKS = ("mel_slaney", "mel_htk", "mel_yaafe", "logfreq", "linear")
LOG_KINDS = ("none", "db", "log", "log10", "log1p")
NORMS = (None, "slaney", "area", "max")
WINDOWS = ("hann", "hamming", "blackman", "rect")
PAD_MODES = ("constant", "reflect", "edge")


@dataclass(frozen=True)
class FrontendConfig:
    """How to turn a waveform into frames x bins.

    Parameters
    ----------
    sr : int [Hz]
        Sampling rate the front end expects (inputs are resampled to it).
    n_fft : int or tuple of int
        FFT size; a tuple gives a multi-resolution stack (one channel each,
        all sharing the hop and frame centres, as in Schlüter & Böck 2014).
    hop_length : int [samples]
    win_length : int or None
        Window length (<= min n_fft), centred in the FFT frame; None = n_fft.
    window : {'hann', 'hamming', 'blackman', 'rect'}
        Periodic windows, as ``scipy.signal.get_window(..., fftbins=True)``.
    center : bool
        Frame ``t`` is centred on sample ``t * hop_length`` (librosa); else it starts there.
    pad_mode : {'constant', 'reflect', 'edge'}
        How the signal is extended past its ends when ``center``.
    power : float
        1 for magnitude, 2 for power.
    filterbank : {'mel_slaney', 'mel_htk', 'mel_yaafe', 'logfreq', 'linear'}
        ``linear`` keeps the STFT bins (``n_fft // 2 + 1``, needs a single n_fft).
    n_mels : int
        Number of bands (mel or, for ``logfreq``, bands per octave).
    fmin, fmax : float [Hz]
        Band limits; ``fmax=None`` means ``sr / 2``.
    norm : {None, 'slaney', 'area', 'max'}
        Filter normalisation: librosa's Slaney area norm, unit sum of weights, or unit peak.
    log : {'none', 'db', 'log', 'log10', 'log1p'}
        ``db``: 10 log10(max(x, amin)); ``log``/``log10``: of max(x, amin);
        ``log1p``: ln(1 + log_mul * x).
    amin : float
        Floor before the logarithm.
    log_mul : float
        Multiplier inside ``log1p``.
    diff : bool
        Append the half-wave rectified first-order difference along time
        (spectral flux features), doubling the bins.
    """

    sr: int = 22050
    n_fft: Union[int, Tuple[int, ...]] = 2048
    hop_length: int = 512
    win_length: Optional[int] = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    filterbank: str = "mel_slaney"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: Optional[float] = None
    norm: Optional[str] = "slaney"
    log: str = "db"
    amin: float = 1e-10
    log_mul: float = 1.0
    diff: bool = False

    def __post_init__(self):
        n_fft = self.n_fft
        if isinstance(n_fft, list):
            n_fft = tuple(n_fft)
        if isinstance(n_fft, tuple):
            n_fft = tuple(int(n) for n in n_fft)
            if len(n_fft) == 1:
                n_fft = n_fft[0]
        else:
            n_fft = int(n_fft)
        object.__setattr__(self, "n_fft", n_fft)
        for n in self.n_ffts:
            if n < 16 or n > 65536:
                raise ParameterError(f"n_fft must be in [16, 65536], got {n}")
        if self.sr <= 0:
            raise ParameterError(f"sr must be positive, got {self.sr}")
        if self.hop_length <= 0:
            raise ParameterError(f"hop_length must be positive, got {self.hop_length}")
        if self.win_length is not None and not 0 < self.win_length <= min(self.n_ffts):
            raise ParameterError(f"win_length must be in (0, n_fft], got {self.win_length}")
        if self.window not in WINDOWS:
            raise ParameterError(f"window must be one of {WINDOWS}, got {self.window!r}")
        if self.pad_mode not in PAD_MODES:
            raise ParameterError(f"pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        if self.filterbank not in FILTERBANKS:
            raise ParameterError(
                f"filterbank must be one of {FILTERBANKS}, got {self.filterbank!r}")
        if self.filterbank == "linear" and self.is_multires:
            raise ParameterError("filterbank='linear' needs a single n_fft")
        if self.log not in LOG_KINDS:
            raise ParameterError(f"log must be one of {LOG_KINDS}, got {self.log!r}")
        if self.norm not in NORMS:
            raise ParameterError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.norm == "slaney" and self.filterbank not in ("mel_slaney", "mel_htk"):
            raise ParameterError(f"norm='slaney' applies to mel filterbanks only, "
                                 f"not {self.filterbank!r}; use 'area' or 'max'")
        if self.power not in (1.0, 2.0):
            raise ParameterError(f"power must be 1 (magnitude) or 2 (power), got {self.power}")
        if self.n_mels <= 0 and self.filterbank != "linear":
            raise ParameterError(f"n_mels must be positive, got {self.n_mels}")
        if self.fmin < 0 or self.fmin >= self.f_max:
            raise ParameterError(f"need 0 <= fmin < fmax <= sr/2, got fmin={self.fmin}, "
                                 f"fmax={self.fmax} at sr={self.sr}")
        if self.f_max > self.sr / 2 + 1e-6:
            raise ParameterError(f"fmax={self.fmax} exceeds the Nyquist rate {self.sr / 2}")
        if self.amin <= 0:
            raise ParameterError(f"amin must be positive, got {self.amin}")

    # ------------------------------------------------------------------ derived
    @property
    def n_ffts(self) -> Tuple[int, ...]:
        """The FFT sizes as a tuple (one element for a single resolution)."""
        return self.n_fft if isinstance(self.n_fft, tuple) else (self.n_fft,)

    @property
    def is_multires(self) -> bool:
        return isinstance(self.n_fft, tuple)

    @property
    def n_channels(self) -> int:
        return len(self.n_ffts)

    @property
    def f_max(self) -> float:
        return float(self.sr) / 2 if self.fmax is None else float(self.fmax)

    @property
    def fps(self) -> float:
        """Frames per second (``sr / hop_length``)."""
        return self.sr / self.hop_length

    @property
    def n_bins(self) -> int:
        """Number of feature bins per frame and channel (including ``diff``).

        For ``logfreq`` this needs the filterbank to be built (bands are merged).
        """
        from .filterbanks import filterbank_for
        n = filterbank_for(self, self.n_ffts[0]).shape[0] if self.filterbank != "linear" \
            else self.n_ffts[0] // 2 + 1
        return 2 * n if self.diff else n

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for a signal of ``n_samples`` samples."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return max(0, 1 + (n_samples - max(self.n_ffts)) // self.hop_length)

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if isinstance(self.n_fft, tuple):
            d["n_fft"] = list(self.n_fft)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FrontendConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ParameterError(f"unknown FrontendConfig keys: {sorted(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> "FrontendConfig":
        return cls.from_dict(json.loads(s))

    @property
    def hash(self) -> str:
        """Stable short hash of the settings (for feature caches)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes) -> "FrontendConfig":
        """Copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def with_overrides(self, items) -> "FrontendConfig":
        """Apply ``key=value`` strings (CLI ``--set``); unknown keys are an error."""
        names = {f.name: f for f in dataclasses.fields(self)}
        changes = {}
        for item in items:
            if "=" not in item:
                raise ParameterError(f"expected key=value, got {item!r}")
            k, v = item.split("=", 1)
            if k not in names:
                raise ParameterError(f"unknown front-end setting {k!r}; known: {sorted(names)}")
            changes[k] = _parse_value(v)
        return self.replace(**changes)


def _parse_value(v: str):
    s = v.strip()
    if s.lower() in ("none", "null"):
        return None
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    if "," in s:
        return tuple(int(x) for x in s.split(",") if x)
    for cast in (int, float):
        try:
            return cast(s)
        except ValueError:
            pass
    return s


#: Named front ends: the variants the reference models use (see REFERENCES.md).
PRESETS = {
    # librosa.feature.melspectrogram defaults + power_to_db(ref=1, top_db=None)
    "librosa": FrontendConfig(),
    # Lidy's MIREX 2015 music/speech CNN: 40 Slaney mel bands, log10
    "lidy2015": FrontendConfig(sr=22050, n_fft=512, hop_length=256, n_mels=40,
                               power=2.0, log="log10", amin=1e-10),
    # Schlüter & Böck 2014 onset CNN: 3 resolutions, 80 mel 27.5-16000 Hz, unit-area, log
    "onset_cnn": FrontendConfig(sr=44100, n_fft=(1024, 2048, 4096), hop_length=441,
                                filterbank="mel_htk", n_mels=80, fmin=27.5, fmax=16000.0,
                                norm="area", power=1.0, log="log", amin=1e-7),
    # Schlüter & Grill 2015 singing voice: yaafe-style mel 27.5-8000 Hz, 70 fps
    "svd_schlueter": FrontendConfig(sr=22050, n_fft=1024, hop_length=315,
                                    filterbank="mel_yaafe", n_mels=80, fmin=27.5,
                                    fmax=8000.0, norm="area", power=1.0, log="log",
                                    amin=1e-7),
    # Ullrich/Grill & Schlüter boundary CNN (at 22.05 kHz)
    "boundaries": FrontendConfig(sr=22050, n_fft=2048, hop_length=512, filterbank="mel_htk",
                                 n_mels=80, fmin=80.0, fmax=11025.0, norm="area", power=1.0,
                                 log="log", amin=1e-7),
    # Deep Speech 2: 20 ms window, 10 ms hop, linear log-power STFT (161 bins)
    "ds2": FrontendConfig(sr=16000, n_fft=320, hop_length=160, filterbank="linear",
                          norm=None, power=2.0, log="log1p"),
    "ds2_mel": FrontendConfig(sr=16000, n_fft=400, hop_length=160, filterbank="mel_htk",
                              n_mels=80, norm=None, power=2.0, log="log", amin=1e-10),
    # speech-rate benchmark config: 16 kHz, 1024/160, 64 mel, log1p
    "speech16k": FrontendConfig(sr=16000, n_fft=1024, hop_length=160, n_mels=64,
                                power=2.0, log="log1p", log_mul=1.0),
    # spectral flux (madmom-style log filtered spectrogram + positive difference)
    "superflux": FrontendConfig(sr=44100, n_fft=2048, hop_length=441, filterbank="logfreq",
                                n_mels=24, fmin=30.0, fmax=17000.0, norm="area", power=1.0,
                                log="log1p", log_mul=1.0),
}


def preset(name: str) -> FrontendConfig:
    """Return the named :data:`PRESETS` entry (ParameterError lists the names)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ParameterError(f"unknown front-end preset {name!r}; "
                             f"known: {', '.join(sorted(PRESETS))}") from None


def as_config(config) -> FrontendConfig:
    """A FrontendConfig from a config, a preset name or a dict."""
    if isinstance(config, FrontendConfig):
        return config
    if isinstance(config, str):
        return preset(config)
    if isinstance(config, dict):
        return FrontendConfig.from_dict(config)
    raise ParameterError(f"expected a FrontendConfig, preset name or dict, got {type(config)}")
