"""Singing-voice detection: where in a recording a voice sings.

* :func:`singing` — singing segments of a file or array, as
  :class:`~audiodl.types.Segments` labelled ``singing``;
* :class:`SingingDetector` — the pipeline behind it (load the model once,
  then call it on many files);
* :class:`SingingParams` — the decoder's parameters, in seconds.

The network is Schlüter & Grill's CNN (ISMIR 2015; :mod:`audiodl.models.singing`)
in its fully convolutional form: one singing probability per frame at 70 fps,
run in bounded memory through the shared runtime (layout ``same``: streamed
audio, streaming front end, chunked-context runner, equal to whole-file
processing). The decoder is the published one: a median filter (0.8 s by
default) and a threshold tuned on validation, then optional gap closing and
short-segment removal (:func:`audiodl.decoders.smoothing.decode_segments`).
Speaking over music (a radio host) is not singing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..decoders.smoothing import SegmentParams
from ..errors import ModelError
from ..types import Activations, Segments
from .base import Pipeline

__all__ = ["singing", "SingingDetector", "SingingParams", "TASK", "LABELS", "FORMATS"]

TASK = "singing"
LABELS = ("singing",)
FORMATS = {"mirex": ".singing.txt", "audacity": ".singing.audacity.txt",
           "csv": ".singing.csv", "json": ".singing.json", "jams": ".singing.jams"}


@dataclass(frozen=True)
class SingingParams(SegmentParams):
    """Decoding parameters of :class:`SingingDetector` (times in seconds).

    Parameters
    ----------
    method : {'threshold', 'hysteresis', 'viterbi'}
        ``threshold`` (the published decoder) by default.
    threshold : float
        Decision threshold on the median-filtered probability, in [0, 1].
    low : float or None
        Lower threshold of ``hysteresis``.
    median : float [seconds]
        Median filter length (0.8 s: Schlüter & Grill's 56 frames at 70 fps).
    min_duration : float [seconds]
        Drop singing segments shorter than this.
    min_gap : float [seconds]
        Close gaps between singing segments shorter than this.
    p_stay, prior
        ``viterbi`` only (see :class:`~audiodl.decoders.smoothing.SegmentParams`).
    """

    method: str = "threshold"
    threshold: float = 0.5
    median: float = 0.8


class SingingDetector(Pipeline):
    """Frame-wise singing-voice detector (Schlüter & Grill 2015 CNN).

    ``activations(x)`` -> :class:`Activations` ``(n_frames, 1)`` singing
    probabilities at the front end's frame rate (70 fps), frame ``i``
    centred at ``i / fps`` seconds; ``decode(act, **overrides)`` ->
    :class:`Segments` labelled ``singing`` with the card's tuned
    :class:`SingingParams`, any of which can be overridden (None keeps the
    tuned value).
    """

    task = TASK
    params_type = SingingParams
    card_labels = LABELS
    formats = FORMATS
    default_format = "mirex"
    #: frames per model call (~21 s at 70 fps): the CNN's first layers hold 64 maps of
    #: every frame, so 6000-frame calls peak near 400 MB; outputs do not depend on it
    chunk_frames = 1500

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None and self.backend.layout != "same":
            raise ModelError(f"model {card.name!r}: a singing detector needs a frame-level "
                             f"('same' layout) model, not {self.backend.layout!r}")
        if card is not None and tuple(card.labels) != LABELS:
            raise ModelError(f"model {card.name!r}: labels {card.labels}, expected {LABELS}")
        self.labels = LABELS

    def decode(self, activations: Activations, **params) -> Segments:
        """Median filter + threshold (card's tuned values, overridable) -> ``singing`` segments.

        Parameters
        ----------
        activations : Activations [shape=(n_frames, 1) or (n_frames,)]
            Singing probabilities.
        **params
            Overrides of :class:`SingingParams` fields (seconds; None keeps a value).
        """
        from ..decoders.smoothing import decode_segments
        return decode_segments(activations, labels=LABELS, **self.params(**params).to_dict())

    def write(self, result: Segments, fmt: Optional[str] = None, *,
              source: Optional[str] = None, duration: Optional[float] = None) -> str:
        """``mirex`` (``start<TAB>end<TAB>singing``), ``audacity``, ``csv``, ``json`` or ``jams``."""
        from ..io.annotations import format_segments
        return format_segments(result, fmt or self.default_format, source=source,
                               duration=duration)

    def evaluate(self, reference, estimate: Segments, *, duration: float) -> dict:
        """Frame-wise error, precision, recall, specificity and F1 (70 fps grid).

        Parameters
        ----------
        reference : Segments or rows (start, end, label) [seconds]
            ``singing`` (or Jamendo ``sing``) segments; other labels are absence.
        estimate : Segments
        duration : float [seconds]
        """
        from ..evaluation.singing import evaluate
        return evaluate(reference, estimate, duration=duration)


def singing(x, sr: Optional[int] = None, *, model: Optional[str] = None,
            backend: str = "auto", method: Optional[str] = None,
            threshold: Optional[float] = None, median: Optional[float] = None,
            min_duration: Optional[float] = None,
            min_gap: Optional[float] = None) -> Segments:
    """Where a voice sings in a recording.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        A file or samples (any rate; resampled to 22050 Hz).
    sr : int or None [Hz]
        Rate of an array input.
    model : str or None
        Shipped model name or card path (default: the task's default model).
    backend : {'auto', 'torch'}
    method, threshold, median, min_duration, min_gap
        Overrides of the model's tuned decoder (None keeps the tuned value):
        ``threshold`` in [0, 1], ``median`` [s], ``min_duration`` [s],
        ``min_gap`` [s]; see :class:`SingingParams`.

    Returns
    -------
    Segments
        ``start, end`` in seconds (never past the end of the audio), every
        label ``singing``.

    Examples
    --------
    >>> import audiodl
    >>> audiodl.singing("song.flac").intervals  # doctest: +SKIP
    array([[ 3.1 , 12.65], ...])
    """
    pipe = SingingDetector.from_pretrained(model, backend=backend)
    return pipe.decode(pipe.activations(x, sr), method=method, threshold=threshold,
                       median=median, min_duration=min_duration, min_gap=min_gap)
