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
    """

    values: np.ndarray
    fps: float
    labels: tuple = ()
    audio_duration: Optional[float] = None

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
        """Write to an ``.npz`` file (values, fps, labels, audio duration)."""
        np.savez(path, values=self.values, fps=np.float64(self.fps),
                 labels=np.array(self.labels, dtype=str),
                 audio_duration=np.float64(np.nan if self.audio_duration is None
                                           else self.audio_duration))

    @classmethod
    def load(cls, path) -> "Activations":
        """Read an ``.npz`` file written by :meth:`save`."""
        from .errors import AudiodlError
        try:
            with np.load(path, allow_pickle=False) as f:
                dur = float(f["audio_duration"]) if "audio_duration" in f else float("nan")
                return cls(values=f["values"], fps=float(f["fps"]),
                           labels=tuple(str(s) for s in f["labels"]),
                           audio_duration=None if np.isnan(dur) else dur)
        except (OSError, KeyError, ValueError) as exc:
            raise AudiodlError(f"{path}: not an audiodl activations file ({exc})") from None


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
