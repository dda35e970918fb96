"""Music/speech discrimination: file classification and time-resolved detection.

* :func:`classify` — one label per file (``music`` or ``speech``) with
  probabilities (MIREX 2015 task). Excerpt models (Lidy 2015 style) average the
  speech probability of 80-frame excerpts taken every 40 frames; frame models
  average their music and speech activity.
* :func:`detect` — music and speech activity over time as
  :class:`~audiodl.types.Segments` (MIREX 2018 task; classes may overlap).
* :class:`MusicSpeechClassifier`, :class:`MusicSpeechDetector` — the
  pipelines behind them (load the model once, then call them on many files).

Long inputs run in bounded memory through the shared runtime
(:mod:`audiodl.runtime`): streamed audio, the streaming front end and the
chunked-context runner, equal to whole-file processing.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Optional

import numpy as np

from ..decoders.smoothing import SegmentParams
from ..errors import ParameterError
from ..types import Activations, Segments
from .base import Pipeline

__all__ = ["classify", "detect", "ClassifyResult", "MusicSpeechClassifier",
           "MusicSpeechDetector", "CLASSIFY_TASK", "DETECT_TASK", "LABELS"]

CLASSIFY_TASK = "musicspeech-classify"
DETECT_TASK = "musicspeech-detect"
LABELS = ("music", "speech")

ClassifyResult = namedtuple("ClassifyResult", ["label", "probability", "probabilities"])
ClassifyResult.__doc__ = """File-level decision.

label : str
    ``"music"`` or ``"speech"``.
probability : float
    Probability of ``label`` (>= 0.5).
probabilities : dict of str to float
    Probability of every class (they sum to 1).
"""


class MusicSpeechClassifier(Pipeline):
    """File-level music/speech classifier (any shipped music/speech model).

    ``activations(x)`` returns per-excerpt (excerpt models) or per-frame (frame
    models) class probabilities, columns ``("music", "speech")``;
    ``decode(activations)`` averages them into a :data:`ClassifyResult`.
    """

    task = CLASSIFY_TASK
    accepts = (CLASSIFY_TASK, DETECT_TASK)
    card_labels = LABELS
    formats = {"text": ".txt", "json": ".json", "csv": ".csv"}
    default_format = "text"
    combine_outputs = True
    #: excerpt hop in frames (excerpts are ``model.n_frames`` long)
    excerpt_hop = 40

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None and self.backend.layout == "excerpt":
            self.labels = LABELS

    def postprocess(self, outputs):
        if self.backend.layout == "excerpt":  # speech probability per excerpt
            p = np.asarray(outputs, np.float32).reshape(-1)
            return np.stack([1 - p, p], axis=1).astype(np.float32)
        return outputs

    def decode(self, activations: Activations, **params) -> ClassifyResult:
        """Mean probabilities -> label (``music`` unless P(speech) > 0.5)."""
        self.params(**params)  # no parameters: anything given is an error
        v = np.asarray(activations.values, dtype=np.float64)
        labels = activations.labels or LABELS
        if v.ndim != 2 or v.shape[1] != 2:
            raise ParameterError(f"expected two columns (music, speech), got {v.shape}")
        if sorted(labels) != sorted(LABELS):
            raise ParameterError(f"expected the columns {LABELS}, got {tuple(labels)}")
        m = v.mean(axis=0)
        i_m, i_s = labels.index("music"), labels.index("speech")
        total = m[i_m] + m[i_s]
        p_speech = float(m[i_s] / total) if total > 0 else 0.5
        probs = {"music": 1.0 - p_speech, "speech": p_speech}
        label = "speech" if p_speech > 0.5 else "music"
        return ClassifyResult(label=label, probability=probs[label], probabilities=probs)

    def write(self, result: ClassifyResult, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:
        """``text`` (path, label, probability), ``csv`` or ``json`` for one file."""
        return self.write_many([(source or "", result)], fmt)

    def write_many(self, items, fmt: Optional[str] = None) -> str:
        """Rows ``(source, ClassifyResult)`` as one table."""
        from ..io.labels import format_labels
        return format_labels([(s, r.label, r.probabilities) for s, r in items],
                             fmt or self.default_format)

    def evaluate(self, reference, estimate) -> dict:
        """File accuracy of ``estimate`` labels against ``reference`` labels (sequences)."""
        from ..evaluation.musicspeech import file_accuracy
        est = [e.label if isinstance(e, ClassifyResult) else e for e in estimate]
        return file_accuracy(list(reference), est)


class MusicSpeechDetector(Pipeline):
    """Time-resolved music and speech activity (frame models).

    ``activations(x)`` -> :class:`Activations` ``(n_frames, 2)`` sigmoid
    outputs (music, speech); ``decode(act, **overrides)`` smooths them into
    :class:`Segments` with the card's tuned :class:`SegmentParams`, any of
    which can be overridden.
    """

    task = DETECT_TASK
    params_type = SegmentParams
    card_labels = LABELS
    formats = {"mirex": ".txt", "audacity": ".audacity.txt", "csv": ".csv", "json": ".json",
               "jams": ".jams"}
    default_format = "mirex"

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None and self.backend.layout != "same":
            from ..errors import ModelError
            raise ModelError(f"model {card.name!r} is not a frame-level detector")

    def decode(self, activations: Activations, **params) -> Segments:
        from ..decoders.smoothing import decode_segments
        return decode_segments(activations, **self.params(**params).to_dict())

    def write(self, result: Segments, fmt: Optional[str] = None, *,
              source: Optional[str] = None, duration: Optional[float] = None) -> str:
        from ..io.annotations import format_segments
        return format_segments(result, fmt or self.default_format, source=source,
                               duration=duration)

    def evaluate(self, reference: Segments, estimate: Segments, *, duration: float) -> dict:
        """Frame (10 ms) and event scores per class (MIREX 2018)."""
        from ..evaluation.musicspeech import evaluate
        return evaluate(reference, estimate, duration=duration)


def classify(x, sr: Optional[int] = None, *, model: Optional[str] = None) -> ClassifyResult:
    """Classify a recording as music or speech.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        A file or samples (any rate; resampled to the model's).
    sr : int or None [Hz]
        Rate of an array input.
    model : str or None
        Shipped model name or card path (default: the task's default model).

    Returns
    -------
    ClassifyResult
        ``(label, probability, probabilities)``.

    Examples
    --------
    >>> import audiodl
    >>> audiodl.classify("assets/examples/speech.wav").label  # doctest: +SKIP
    'speech'
    """
    return MusicSpeechClassifier.from_pretrained(model)(x, sr)


def detect(x, sr: Optional[int] = None, *, model: Optional[str] = None,
           method: Optional[str] = None, threshold=None, low=None,
           median: Optional[float] = None, min_duration=None, min_gap=None) -> Segments:
    """Music and speech activity over time.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray
    sr : int or None [Hz]
    model : str or None
        Shipped detection model (default: the task's default).
    method, threshold, low, median, min_duration, min_gap
        Overrides of the model's tuned decoding parameters (None keeps the
        tuned value), e.g. ``threshold=(0.5, 0.4)`` (music, speech),
        ``median=0.5`` [s], ``min_duration`` [s], ``min_gap`` [s],
        ``method='viterbi'``; see :class:`~audiodl.decoders.smoothing.SegmentParams`.

    Returns
    -------
    Segments
        ``start, end`` in seconds (never past the end of the audio), labels
        ``music`` / ``speech``, overlap allowed.
    """
    pipe = MusicSpeechDetector.from_pretrained(model)
    return pipe.decode(pipe.activations(x, sr), method=method, threshold=threshold, low=low,
                       median=median, min_duration=min_duration, min_gap=min_gap)
