"""Music/speech discrimination: file classification and time-resolved detection.

* :func:`classify` — one label per file (``music``, ``speech`` or
  ``neither``) with probabilities (MIREX 2015 task, plus the third answer).
  Its default model is the default detector (a frame model) once that
  detector's card carries a tuned ``neither`` gate: the file is
  ``neither`` (no music and no speech: silence, noise, tones, environmental
  sound) when the detector's decoded music and speech segments cover less
  than ``min_active`` of it (:class:`MusicSpeechParams`, tuned on validation
  and stored in the card); otherwise it is the class of the larger mean
  activity. Excerpt models (Lidy 2015 style, ``musicspeech_cnn``) average the
  speech probability of 80-frame excerpts taken every 40 frames and answer
  only ``music`` or ``speech``.
* :func:`detect` — music and speech activity over time as
  :class:`~audiodl.types.Segments` (MIREX 2018 task; classes may overlap).
  Stretches with neither music nor speech are gaps (no segment).
* :class:`MusicSpeechClassifier`, :class:`MusicSpeechDetector` — the
  pipelines behind them (load the model once, then call them on many files).

Long inputs run in bounded memory through the shared runtime
(:mod:`audiodl.runtime`): streamed audio, the streaming front end and the
chunked-context runner, equal to whole-file processing.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, fields
from typing import Optional

import numpy as np

from ..decoders.smoothing import SegmentParams
from ..errors import ParameterError
from ..types import Activations, Segments
from .base import Pipeline

__all__ = ["classify", "detect", "ClassifyResult", "MusicSpeechClassifier",
           "MusicSpeechDetector", "MusicSpeechParams", "CLASSIFY_TASK", "DETECT_TASK",
           "LABELS", "NEITHER"]

CLASSIFY_TASK = "musicspeech-classify"
DETECT_TASK = "musicspeech-detect"
LABELS = ("music", "speech")
#: the file-level answer "no music or speech" (silence, noise, tones, environmental sound)
NEITHER = "neither"

ClassifyResult = namedtuple("ClassifyResult", ["label", "probability", "probabilities"])
ClassifyResult.__doc__ = """File-level decision.

label : str
    ``"music"``, ``"speech"`` or (frame models) ``"neither"``.
probability : float
    Probability of ``label``.
probabilities : dict of str to float
    Probability of every class (they sum to 1); frame models also give
    ``neither`` (the share of the file not covered by music or speech segments).
"""


@dataclass(frozen=True)
class MusicSpeechParams(SegmentParams):
    """Segment-decoding parameters plus the file-level ``neither`` gate.

    min_active : float [fraction of the file, 0-1]
        :func:`classify` answers ``neither`` when the decoded music and speech
        segments cover less than this share of the file (0: never). Tuned on
        validation with the decoder; :func:`detect` ignores it.
    gate : dict or None
        Segment-decoding parameters (:class:`SegmentParams` fields) of the
        segments the ``neither`` gate measures, when they differ from the
        frame decoder's (``None``: the same). The frame decoder is then tuned
        on validation files holding music or speech, the gate's decoder and
        ``min_active`` on all validation files: hard negatives (engines,
        machines) need a stricter music threshold than music under speech.
    """

    what = "music/speech decoding"

    min_active: float = 0.0
    gate: Optional[dict] = None

    def __post_init__(self):
        super().__post_init__()
        from ..decoders.smoothing import _check
        object.__setattr__(self, "min_active", _check("min_active", self.min_active, 0.0, 1.0))
        if self.gate is not None:
            if not isinstance(self.gate, dict):
                raise ParameterError(f"gate must be a dict of segment-decoding parameters, "
                                     f"got {self.gate!r}")
            object.__setattr__(self, "gate", SegmentParams.from_dict(self.gate).to_dict())

    def segment_params(self) -> dict:
        """Keyword arguments of :func:`~audiodl.decoders.smoothing.decode_segments`."""
        return {f.name: getattr(self, f.name) for f in fields(SegmentParams)}

    def gate_params(self) -> dict:
        """Keyword arguments of :func:`~audiodl.decoders.smoothing.decode_segments` for the
        segments of the ``neither`` gate (:attr:`gate`, else :meth:`segment_params`)."""
        return dict(self.gate) if self.gate is not None else self.segment_params()


def covered_fraction(segments: Segments, duration: float) -> float:
    """Share of ``[0, duration]`` covered by the union of the segments (0-1)."""
    iv = np.asarray(segments.intervals, dtype=np.float64).reshape(-1, 2)
    if duration <= 0 or not len(iv):
        return 0.0
    iv = np.clip(iv[np.argsort(iv[:, 0])], 0.0, duration)
    total, end = 0.0, 0.0
    for a, b in iv:
        a = max(a, end)
        if b > a:
            total += b - a
            end = b
    return float(min(1.0, total / duration))


class MusicSpeechClassifier(Pipeline):
    """File-level music/speech classifier (any shipped music/speech model).

    ``activations(x)`` returns per-excerpt (excerpt models) or per-frame (frame
    models) class probabilities, columns ``("music", "speech")``;
    ``decode(activations)`` averages them into a :data:`ClassifyResult`;
    frame models can also answer ``neither`` (:class:`MusicSpeechParams`).
    Without a model name, :meth:`from_pretrained` loads the default
    *detector* when its card has a tuned ``neither`` gate.
    """

    task = CLASSIFY_TASK
    accepts = (CLASSIFY_TASK, DETECT_TASK)
    params_type = MusicSpeechParams
    card_labels = LABELS
    formats = {"text": ".txt", "json": ".json", "csv": ".csv"}
    default_format = "text"
    combine_outputs = True
    #: excerpt hop in frames (excerpts are ``model.n_frames`` long)
    excerpt_hop = 40

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None and self.backend.layout == "excerpt":
            from .base import NoParams
            self.labels = LABELS
            self.params_type = NoParams  # excerpt models: mean probability, no parameters
            self.default_params = NoParams.from_dict({})

    @classmethod
    def from_pretrained(cls, name: Optional[str] = None, **kwargs) -> "MusicSpeechClassifier":
        """As :meth:`Pipeline.from_pretrained`; the default model is the default detector
        when its card has a ``neither`` gate (``min_active > 0``), else the task's default."""
        if name is None:
            from .. import pretrained
            det = pretrained.default_model(DETECT_TASK)
            if float(pretrained.card(det).decoder.offline.get("min_active", 0.0)) > 0:
                name = det
        return super().from_pretrained(name, **kwargs)

    def postprocess(self, outputs):
        if self.backend.layout == "excerpt":  # speech probability per excerpt
            p = np.asarray(outputs, np.float32).reshape(-1)
            return np.stack([1 - p, p], axis=1).astype(np.float32)
        return outputs

    def decode(self, activations: Activations, **params) -> ClassifyResult:
        """Mean probabilities -> label (``music`` unless P(speech) > 0.5, or ``neither``).

        Frame models (activations at a frame rate, not per excerpt) decode the
        music and speech segments with the card's parameters (``params``
        override them, see :class:`MusicSpeechParams`); the file is
        ``neither`` when they cover less than ``min_active`` of it (segments
        of the gate's own decoder when the parameters carry one: ``gate``).
        """
        p = self.params(**params)
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
        if self.backend is not None and self.backend.layout != "excerpt":
            from ..decoders.smoothing import decode_segments
            segs = decode_segments(activations, **p.gate_params())
            active = covered_fraction(segs, activations.duration)
            probs = {"music": active * probs["music"], "speech": active * probs["speech"],
                     NEITHER: 1.0 - active}
            if active < p.min_active or not len(v):
                label = NEITHER
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
    params_type = MusicSpeechParams
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
        return decode_segments(activations, **self.params(**params).segment_params())

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
        ``(label, probability, probabilities)``; ``label`` is ``music``,
        ``speech`` or ``neither`` (no music or speech: silence, noise, tones,
        environmental sound; the default model and other frame models only).

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
        ``music`` / ``speech``, overlap allowed; stretches with neither
        (silence, noise, tones, environmental sound) are gaps.
    """
    pipe = MusicSpeechDetector.from_pretrained(model)
    return pipe.decode(pipe.activations(x, sr), method=method, threshold=threshold, low=low,
                       median=median, min_duration=min_duration, min_gap=min_gap)
