"""Small dataclasses passed between the stages of a pipeline.

Times are always in seconds; frame-rate quantities carry their ``fps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .errors import ParameterError

__all__ = ["Signal", "Activations", "Events", "Segments", "Transcript", "Codes"]


@dataclass(frozen=True)
class Signal:
    """Audio samples with their sampling rate.

    Attributes
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)], float32
    sr : int [Hz]
    path : str or None
        Where the samples came from, used in error messages.
    """

    y: np.ndarray
    sr: int
    path: Optional[str] = None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.y.shape[-1] / float(self.sr)


@dataclass(frozen=True)
class Activations:
    """Frame-wise network outputs.

    Attributes
    ----------
    values : np.ndarray [shape=(n_frames,) or (n_frames, n_classes)], float32
    fps : float
        Frames per second; frame ``i`` is centred at ``i / fps`` seconds.
    labels : tuple of str
        Class name of each column (empty for a single unnamed column).
    audio_duration : float or None [seconds]
        Length of the audio the activations were computed from; the last
        frames may reach past it (centred frames, padding). Decoders clamp
        results to it.
    envelope : np.ndarray [shape=(n_frames, n_bands)] or None, dB
        Spectral envelope of the input, one row per activation frame, for decoders that
        also look at the signal's energy (the onset CNN keeps its log-mel input here for
        the energy gate, ``gate_rise`` of
        :class:`~audiodl.decoders.peaks.PeakPickingParams`); None when not kept.
    """

    values: np.ndarray
    fps: float
    labels: tuple = ()
    audio_duration: Optional[float] = None
    envelope: Optional[np.ndarray] = None

    def __post_init__(self):
        if not self.fps > 0:
            raise ParameterError(f"Activations.fps must be > 0, got {self.fps!r}")
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def times(self) -> np.ndarray:
        """Centre time of each frame in seconds."""
        return np.arange(len(self.values)) / self.fps

    @property
    def duration(self) -> float:
        """Audio duration when known, else frames / fps [s]."""
        if self.audio_duration is not None:
            return float(self.audio_duration)
        return len(self.values) / self.fps

    def save(self, path) -> None:
        """Write to an ``.npz`` file (values, fps, labels, audio duration, envelope if kept)."""
        extra = {} if self.envelope is None else {"envelope": np.asarray(self.envelope,
                                                                         np.float32)}
        np.savez(path, values=self.values, fps=np.float64(self.fps),
                 labels=np.array(self.labels, dtype=str),
                 audio_duration=np.float64(np.nan if self.audio_duration is None
                                           else self.audio_duration), **extra)

    #: largest activations file :meth:`load` accepts (declared uncompressed bytes)
    MAX_LOAD_BYTES = 2 ** 30

    @classmethod
    def load(cls, path) -> "Activations":
        """Read an ``.npz`` file written by :meth:`save`.

        Raises
        ------
        ManifestError
            Naming ``path``: not a (complete) ``.npz`` file, missing or
            ill-typed arrays (``values`` not a finite 1-D/2-D number array,
            ``fps`` not one finite number > 0, ``labels`` not strings matching
            the columns), or more than :attr:`MAX_LOAD_BYTES` of data.
        """
        import zipfile

        from .errors import ManifestError

        def bad(reason):
            return ManifestError(f"{path}: not an audiodl activations file ({reason})")

        try:
            with zipfile.ZipFile(path) as zf:
                total = sum(i.file_size for i in zf.infolist())
            if total > cls.MAX_LOAD_BYTES:
                raise bad(f"{total} bytes of arrays, more than {cls.MAX_LOAD_BYTES}")
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in ("values", "fps", "labels", "audio_duration",
                                            "envelope") if k in f.files}
        except ManifestError:
            raise
        except FileNotFoundError:
            raise ManifestError(f"{path}: activations file not found") from None
        except Exception as exc:  # BadZipFile, EOFError, zlib.error, ValueError, OSError ...
            raise bad(f"{type(exc).__name__}: {exc}"[:300]) from None
        for k in ("values", "fps", "labels"):
            if k not in arrays:
                raise bad(f"no {k!r} array")
        v, fps, labels = arrays["values"], arrays["fps"], arrays["labels"]
        if v.dtype.kind not in "fiub" or v.ndim not in (1, 2) or not np.all(np.isfinite(v)):
            raise bad(f"'values' must be a finite 1-D or 2-D number array, got "
                      f"{v.dtype} {v.shape}")
        if fps.shape != () or fps.dtype.kind not in "fiu" or not (
                np.isfinite(fps) and fps > 0):
            raise bad(f"'fps' must be one finite number > 0, got {fps!r}"[:200])
        if labels.dtype.kind != "U" or labels.ndim != 1 or (
                len(labels) and len(labels) != (v.shape[1] if v.ndim == 2 else 1)):
            raise bad(f"'labels' must be one string per column, got {labels!r}"[:200])
        dur = arrays.get("audio_duration", np.float64(np.nan))
        if dur.shape != () or dur.dtype.kind not in "fiu" or (np.isfinite(dur) and dur < 0) \
                or np.isinf(dur):
            raise bad(f"'audio_duration' must be one number >= 0 (NaN: unknown), got "
                      f"{dur!r}"[:200])
        env = arrays.get("envelope")
        if env is not None and (env.dtype.kind != "f" or env.ndim != 2 or len(env) != len(v)
                                or not np.all(np.isfinite(env))):
            raise bad(f"'envelope' must be a finite 2-D float array with one row per frame, "
                      f"got {env.dtype} {env.shape}")
        return cls(values=v if v.dtype.kind == "f" else v.astype(np.float32), fps=float(fps),
                   labels=tuple(str(s) for s in labels),
                   audio_duration=None if np.isnan(dur) else float(dur), envelope=env)


@dataclass(frozen=True)
class Events:
    """Instantaneous events (onsets, boundaries).

    Attributes
    ----------
    times : np.ndarray [shape=(n,)], float64 [seconds], sorted
    labels : tuple of str, optional
    """

    times: np.ndarray
    labels: tuple = ()

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class Segments:
    """Labelled time intervals (possibly overlapping across labels).

    Attributes
    ----------
    intervals : np.ndarray [shape=(n, 2)], float64 [seconds]
    labels : tuple of str [len n]
    """

    intervals: np.ndarray
    labels: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        iv = np.asarray(self.intervals, dtype=np.float64).reshape(-1, 2)
        object.__setattr__(self, "intervals", iv)
        object.__setattr__(self, "labels", tuple(self.labels))
        if len(self.labels) != len(iv):
            raise ParameterError(
                f"Segments: {len(iv)} intervals but {len(self.labels)} labels")
        if len(iv) and np.any(iv[:, 1] < iv[:, 0]):
            raise ParameterError("Segments: an interval ends before it starts")

    def __len__(self) -> int:
        return len(self.intervals)

    def of(self, label: str) -> np.ndarray:
        """Intervals carrying ``label``, shape (k, 2)."""
        mask = np.array([lab == label for lab in self.labels], dtype=bool)
        return self.intervals[mask] if len(mask) else self.intervals[:0]


@dataclass(frozen=True)
class Transcript:
    """Recognised text, optionally with word timings in seconds."""

    text: str
    words: tuple = ()
    word_times: Optional[np.ndarray] = None


@dataclass(frozen=True)
class Codes:
    """A track's binary code and the real-valued embedding it was cut from.

    Attributes
    ----------
    bits : np.ndarray [shape=(n_bits // 8,)], uint8
        Packed code (``np.packbits`` order, as faiss binary indexes take it).
    embedding : np.ndarray [shape=(n_bits,)], float32
        ``2 p - 1`` of the frame-averaged bit probabilities ``p``; bit ``i`` is
        set where it exceeds ``2 threshold - 1``.
    n_bits : int
    duration : float or None [seconds]
        Length of the audio.
    source : str or None
    """

    bits: np.ndarray
    embedding: np.ndarray
    n_bits: int
    duration: Optional[float] = None
    source: Optional[str] = None

    def __post_init__(self):
        b = np.asarray(self.bits, dtype=np.uint8).reshape(-1)
        e = np.asarray(self.embedding, dtype=np.float32).reshape(-1)
        if len(b) * 8 != self.n_bits or len(e) != self.n_bits:
            raise ParameterError(f"Codes: {len(b)} bytes and {len(e)} embedding values do "
                                 f"not make {self.n_bits} bits")
        object.__setattr__(self, "bits", b)
        object.__setattr__(self, "embedding", e)

    def hex(self) -> str:
        """The code as a hexadecimal string (two digits per byte)."""
        return self.bits.tobytes().hex()

    def hamming(self, other: "Codes") -> int:
        """Hamming distance to another code of the same length [bits]."""
        if other.n_bits != self.n_bits:
            raise ParameterError(f"codes of {self.n_bits} and {other.n_bits} bits")
        return int(np.bitwise_count(np.bitwise_xor(self.bits, other.bits)).sum())

    def to_dict(self) -> dict:
        return {"path": self.source, "n_bits": self.n_bits, "code": self.hex(),
                "duration": None if self.duration is None else round(self.duration, 4),
                "embedding": [round(float(v), 5) for v in self.embedding]}
