"""Music similarity by semantic hashing: one binary code (and embedding) per track.

>>> import audiodl
>>> c = audiodl.codes("song.flac")           # doctest: +SKIP
>>> c.hex(), c.n_bits, c.embedding.shape     # '9f03…', 128, (128,)

Stages: ``load`` -> ``features`` (a log-frequency spectrogram, 12 bands per
octave, 21.5 fps) -> ``activations`` (per-frame bit probabilities of the
encoder, :mod:`audiodl.models.similarity`, at 5.4 fps) -> ``decode`` (the
frame average ``p``; code bits ``p > threshold``, embedding ``2 p - 1``,
:mod:`audiodl.decoders.hamming`).

Searching a collection of codes is :class:`audiodl.index.Index` (faiss binary
indexes, then re-ranking with the exact measure, :func:`exact_similarity`:
the cosine similarity of the embeddings). Schlüter 2013 (ISMIR), "Learning
binary codes for efficient large-scale music similarity search".
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..decoders.hamming import CodeParams, decode_codes
from ..errors import ParameterError
from ..features.config import FrontendConfig
from ..types import Activations, Codes
from .base import Pipeline

__all__ = ["Codes", "SimilarityPipeline", "codes", "exact_similarity", "TASK", "FRONTEND"]

TASK = "similarity"

#: front end of the similarity encoders: log magnitudes of 81 log-frequency bands
#: (12 per octave, 55 Hz - 7 kHz: a transposition is a shift by whole bands) of a
#: 4096-point STFT every 1024 samples at 22.05 kHz (21.5 fps)
FRONTEND = FrontendConfig(sr=22050, n_fft=4096, hop_length=1024, filterbank="logfreq",
                          n_mels=12, fmin=55.0, fmax=7040.0, norm="area", power=1.0,
                          log="log", amin=1e-6)


def exact_similarity(query, embeddings) -> np.ndarray:
    """The exact measure: cosine similarity of embeddings (1 = same direction).

    Parameters
    ----------
    query : np.ndarray [shape=(n_bits,) or (n_queries, n_bits)]
    embeddings : np.ndarray [shape=(n_items, n_bits)]

    Returns
    -------
    np.ndarray [shape=(n_items,) or (n_queries, n_items)], float32
    """
    q = np.asarray(query, dtype=np.float64)
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or q.shape[-1] != e.shape[-1]:
        raise ParameterError(f"embeddings of {q.shape[-1]} and {e.shape[-1]} values")
    qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12)
    en = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    # in float64, rounded: a score does not depend on how many items are scored at once
    return (qn @ en.T).astype(np.float32)


class SimilarityPipeline(Pipeline):
    """Audio -> :class:`Codes` with a similarity encoder (task ``similarity``).

    ``activations(x)`` returns per-frame bit probabilities ``(n_frames,
    n_bits)`` at ``fps / 4``; ``decode(act)`` pools them into a code.
    """

    task = TASK
    params_type = CodeParams
    card_labels = ()
    formats = {"text": ".code.txt", "json": ".code.json"}
    default_format = "text"
    combine_outputs = True

    @property
    def n_bits(self) -> int:
        """Code length of the model [bits]."""
        return int(self.card.args.get("n_bits", 128)) if self.card is not None else 0

    def decode(self, activations: Activations, **params) -> Codes:
        """Frame-averaged probabilities -> code bits and embedding."""
        p = self.params(**params)
        bits, emb = decode_codes(activations.values, threshold=p.threshold)
        return Codes(bits=bits, embedding=emb, n_bits=len(emb),
                     duration=activations.audio_duration)

    def __call__(self, x, sr: Optional[int] = None, **params) -> Codes:
        c = self.decode(self.activations(x, sr), **params)
        src = x if isinstance(x, str) else getattr(x, "path", None)
        return Codes(c.bits, c.embedding, c.n_bits, c.duration, src)

    def plot(self, x, sr: Optional[int], result: Codes, activations: Activations, dest: str, *,
             title: str = "") -> str:
        """Spectrogram and, per output frame, the fraction of bits agreeing with the code."""
        from ..decoders.hamming import unpack_bits
        from ..plotting import plot_result
        bits = unpack_bits(result.bits, result.n_bits)
        agree = ((np.asarray(activations.values) > 0.5) == bits[None]).mean(axis=1)
        act = Activations(values=agree.astype(np.float32), fps=activations.fps,
                          labels=("frame bits agreeing with the track code",),
                          audio_duration=activations.audio_duration)
        return plot_result(self.features(self.load(x, sr)), self.config, dest, activations=act,
                           title=title)

    def write(self, result: Codes, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:
        """``text``: ``path<TAB>hex code``; ``json``: path, bits, code, duration, embedding."""
        return self.write_many([(source or result.source or "", result)], fmt)

    def write_many(self, items, fmt: Optional[str] = None) -> str:
        from ..io.results import format_codes
        return format_codes(items, fmt or self.default_format)

    def evaluate(self, reference: Sequence, estimate: Sequence, *,
                 measure: str = "exact", k: int = 10) -> dict:
        """Leave-one-out retrieval scores of a set of tracks.

        Parameters
        ----------
        reference : sequence of hashable
            Group (composition) of each track; the other tracks of its group are relevant.
        estimate : sequence of Codes
            The tracks' codes, in the same order.
        measure : {'exact', 'hamming'}
            Rank by the exact measure (embeddings) or by Hamming distance.
        k : int
            Cut-off of precision@k.

        Returns
        -------
        dict with ``map``, ``precision_at_k``, ``top1`` (mean over queries).
        """
        from ..evaluation.similarity import retrieval_scores
        if measure == "exact":
            emb = np.stack([c.embedding for c in estimate])
            sim = exact_similarity(emb, emb)
        elif measure == "hamming":
            from ..decoders.hamming import hamming_distances
            bits = np.stack([c.bits for c in estimate])
            sim = -hamming_distances(bits, bits).astype(np.float64)
        else:
            raise ParameterError(f"measure must be 'exact' or 'hamming', got {measure!r}")
        return retrieval_scores(sim, list(reference), k=k)


def codes(x, sr: Optional[int] = None, *, model: Optional[str] = None,
          threshold: Optional[float] = None) -> Codes:
    """Binary code and embedding of a recording.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        A file or samples (any rate; resampled to 22.05 kHz).
    sr : int or None [Hz]
        Rate of an array input.
    model : str or None
        Shipped similarity model or card path (default: the task's default).
    threshold : float or None
        Bit decision threshold of the pooled probabilities (default: the card's).

    Returns
    -------
    Codes
    """
    pipe = SimilarityPipeline.from_pretrained(model)
    c = pipe.decode(pipe.activations(x, sr), threshold=threshold)
    src = x if isinstance(x, str) else getattr(x, "path", None)
    return Codes(c.bits, c.embedding, c.n_bits, c.duration, src)
