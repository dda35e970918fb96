"""Speech recognition (English, characters + CTC): :func:`transcribe` and :class:`AsrPipeline`.

The acoustic model is a Deep Speech 2 style network (:mod:`audiodl.models.asr`);
its activations are CTC **log-probabilities** ``(n_frames, n_tokens)`` at the
model's output rate (50 Hz for the shipped model), columns named by the
card's ``labels`` (the tokens; ``labels[0]`` the blank, ``|`` the word
separator). Decoding (:mod:`audiodl.decoders.ctc`): greedy, or beam search
with a lexicon and an ARPA n-gram LM (flashlight-text's decoder, built as
torchaudio's ``ctc_decoder`` builds it but called on numpy arrays); word
timestamps are read off the frame path the text was decoded from (greedy: the
argmax path, equal to CTC forced alignment of its text; beam search: the
decoder's best path for its words). No torch: the acoustic model runs on
ONNX Runtime by default.

Long inputs
-----------
A bidirectional GRU has unbounded context: the card declares the shared
runner's ``window`` layout (:class:`~audiodl.runtime.runner.ContextRunner`).
Inputs up to ``window_seconds + 2 * overlap_seconds`` (34 s) go through the
model in one call (equal to a whole-file call); longer inputs are cut into
windows of ``window_seconds`` that each see ``overlap_seconds`` of real
neighbours on both sides, whose centres are kept (memory bounded by one
window). The model's ``output_activation`` is ``log_softmax``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..decoders.params import ParamSet
from ..errors import ModelError, ParameterError
from ..types import Activations, Transcript
from .base import Pipeline

__all__ = ["transcribe", "AsrPipeline", "CTCParams", "TASK"]

TASK = "asr"
METHODS = ("greedy", "beam")
#: word timings are computed when frames x (2 x characters + 1) stays under this
#: (the forced-alignment trellis: ~100 MB; a few minutes of speech)
MAX_ALIGN_CELLS = 100_000_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CTCParams(ParamSet):
    """CTC decoding parameters.

    Parameters
    ----------
    method : {'greedy', 'beam'}
    beam_size : int
        Beam width (``beam``).
    lm : str
        ARPA n-gram LM for ``beam``: a path, ``"default"`` (the project LM
        :func:`audiodl.data.lm.default_lm`, built from the TTS text grammar)
        or ``""`` (no LM: lexicon-free beam search).
    lm_weight : float
        LM weight (natural-log scores).
    word_score : float
        Score added per word.
    timestamps : bool
        Word times by forced alignment of the decoded text.
    """

    what = "CTC decoding"

    method: str = "greedy"
    beam_size: int = 50
    lm: str = ""
    lm_weight: float = 0.5
    word_score: float = 0.0
    timestamps: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {self.method!r}")
        if int(self.beam_size) < 1:
            raise ParameterError(f"beam_size must be >= 1, got {self.beam_size}")
        object.__setattr__(self, "beam_size", int(self.beam_size))
        object.__setattr__(self, "lm_weight", float(self.lm_weight))
        object.__setattr__(self, "word_score", float(self.word_score))


class AsrPipeline(Pipeline):
    """Speech -> text with a CTC acoustic model (any shipped ``asr`` model).

    ``activations(x)`` -> :class:`Activations` of CTC log-probabilities;
    ``decode(act, **overrides)`` -> :class:`~audiodl.types.Transcript` (text,
    words, ``word_times [shape=(n_words, 2)]`` in seconds).
    """

    task = TASK
    params_type = CTCParams
    formats = {"text": ".txt", "json": ".json"}
    default_format = "text"
    #: longest input run in one model call [s] (beyond: windows with overlap)
    window_seconds = 30.0
    #: real context on each side of a window [s]
    overlap_seconds = 2.0

    @classmethod
    def check_card(cls, card) -> None:
        """The labels are the CTC tokens (blank first): one per model output, ``|`` among them."""
        super().check_card(card)
        n = card.args.get("n_tokens")
        if not card.labels or "|" not in card.labels or (n is not None and n != len(card.labels)):
            raise ModelError(f"model card {card.name!r}: labels must be the model's "
                             f"{n if n is not None else ''} CTC tokens (blank first, '|' the "
                             f"word separator), got {len(card.labels)}")

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None and getattr(self.backend, "output", "") != "log_softmax":
            raise ModelError(f"{card.name}: ASR needs a backend giving CTC log-probabilities "
                             "(torch or onnx)")

    # --------------------------------------------------------------- decoding
    def _lm_files(self, lm: str):
        if not lm:
            return None, None
        if lm == "default":
            from ..data.lm import default_lm
            return default_lm(tokens=self.labels)
        return lm, None

    def decode(self, activations: Activations, **params) -> Transcript:
        """CTC log-probabilities -> :class:`Transcript` (card's parameters + ``params``)."""
        from ..decoders.ctc import BeamSearch, path_word_times, tokens_to_text
        p = self.params(**params)
        labels = tuple(activations.labels or self.labels)
        lp = np.asarray(activations.values, dtype=np.float32)
        if p.method == "greedy":
            path = lp.argmax(axis=1) if lp.ndim == 2 and len(lp) else np.zeros(0, np.int64)
            text = tokens_to_text(path, labels)
        else:
            lm, lexicon = self._lm_files(p.lm)
            text, path = BeamSearch(labels, lm=lm, lexicon=lexicon, beam_size=p.beam_size,
                                    lm_weight=p.lm_weight, word_score=p.word_score).decode(lp)
        words, times = tuple(text.split()), None
        if p.timestamps and words:
            # the path the text was read from is its alignment (no torch, linear in the
            # length); a path that does not spell the text (never seen) falls back to
            # forced alignment, whose frames x (2 * characters + 1) trellis is quadratic
            # in the length: long inputs then get the text without word timings
            times = path_word_times(path, text, labels, fps=activations.fps)
            if times is None and len(lp) * (2 * len(text) + 1) > MAX_ALIGN_CELLS:
                log.warning("%d frames x %d characters: too long to align in bounded "
                            "memory; no word timings (split the input to get them)",
                            len(lp), len(text))
            elif times is None:
                from ..decoders.ctc import word_timestamps
                try:
                    words, times = word_timestamps(lp, text, labels, fps=activations.fps)
                except ParameterError:  # too few frames for the text: no timings
                    times = None
            if times is not None and activations.audio_duration is not None:
                times = np.minimum(times, activations.audio_duration)
        return Transcript(text=text, words=words, word_times=times)

    # ------------------------------------------------------- results, scores
    def write(self, result: Transcript, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:
        """``text``: the transcript on one line; ``json``: text plus word timings [s]."""
        from ..io.results import format_transcript
        return format_transcript(result, fmt or self.default_format, source=source)

    def evaluate(self, reference, estimate) -> dict:
        """Pooled WER and CER (:func:`audiodl.evaluation.asr.evaluate`) of sequences of texts."""
        from ..evaluation.asr import evaluate
        est = [e.text if isinstance(e, Transcript) else e for e in estimate]
        ref = [r.text if isinstance(r, Transcript) else r for r in reference]
        return evaluate(ref, est)


def transcribe(x, sr: Optional[int] = None, *, model: Optional[str] = None,
               method: Optional[str] = None, beam_size: Optional[int] = None,
               lm: Optional[str] = None, lm_weight: Optional[float] = None,
               word_score: Optional[float] = None) -> Transcript:
    """Transcribe English speech.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        A file or samples (any rate; resampled to the model's 16 kHz).
    sr : int or None [Hz]
        Rate of an array input.
    model : str or None
        Shipped model name or card path (default: the task's default model).
    method : {'greedy', 'beam'} or None
    beam_size : int or None
    lm : str or None
        ARPA LM path, ``"default"`` (project LM) or ``""`` (none).
    lm_weight, word_score : float or None
        Overrides of the card's decoding parameters (None keeps them).

    Returns
    -------
    Transcript
        ``text``, ``words`` and ``word_times [shape=(n_words, 2)]`` (start, end
        in seconds).

    Examples
    --------
    >>> import audiodl
    >>> audiodl.transcribe("hello.wav").text  # doctest: +SKIP
    'hello world'
    """
    pipe = AsrPipeline.from_pretrained(model)
    return pipe.decode(pipe.activations(x, sr), method=method, beam_size=beam_size, lm=lm,
                       lm_weight=lm_weight, word_score=word_score)
