"""Speech recognition scores: word and character error rates via jiwer.

* :func:`normalize` — the one text normalisation, applied identically to
  references and hypotheses before scoring: lower case, hyphens, dashes and
  slashes become spaces, all other punctuation is removed (so ``don't`` and
  ``dont`` match), runs of white space collapse to one space.
* :func:`wer`, :func:`cer` — one utterance.
* :func:`evaluate` — many utterances, **pooled** (corpus level): edit
  operations summed over all utterances, divided by the summed reference
  length (every word weighs the same; the NIST sclite convention), plus the
  substitution, deletion and insertion counts.

Alignment and counting are :func:`jiwer.process_words` /
:func:`jiwer.process_characters` (Levenshtein alignment); this module adds
the normalisation and the dictionary shape of the other evaluation modules.

Empty references follow jiwer: a reference without words (after
normalisation) contributes its hypothesis words as insertions and nothing to
the reference length. When the whole reference side is empty, WER (CER) is
the number of inserted words (characters): 0.0 for an empty hypothesis, ``k``
for ``k`` hypothesis words — not a rate, and not capped at 1. The character
counts include the single spaces between words.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from ..errors import ParameterError

__all__ = ["normalize", "wer", "cer", "evaluate"]

_SPACE_LIKE = re.compile(r"[\s\-\u2010-\u2015\u2212/]+")


def normalize(text: str) -> str:
    """Lower-case ``text`` and strip punctuation (the normalisation used for scoring).

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        Lower-case words separated by single spaces; hyphens, dashes and
        slashes separate words, other Unicode punctuation (category ``P*``)
        and symbols (``S*``) are deleted.

    Examples
    --------
    >>> normalize("Well-known, isn't it?  Yes!")
    'well known isnt it yes'
    """
    if not isinstance(text, str):
        raise ParameterError(f"expected a transcript string, got {type(text).__name__}")
    text = _SPACE_LIKE.sub(" ", text.lower())
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "PS")
    return " ".join(text.split())


def _prepare(references, hypotheses, normalized: bool):
    if isinstance(references, str) or isinstance(hypotheses, str):
        raise ParameterError("evaluate() takes sequences of transcripts; use wer()/cer() for "
                             "one pair of strings")
    refs, hyps = list(references), list(hypotheses)
    if len(refs) != len(hyps):
        raise ParameterError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        raise ParameterError("no transcripts to score")
    if normalized:
        refs, hyps = [normalize(r) for r in refs], [normalize(h) for h in hyps]
    else:
        for name, seq in (("reference", refs), ("hypothesis", hyps)):
            for i, t in enumerate(seq):
                if not isinstance(t, str):
                    raise ParameterError(f"{name} {i}: expected a string, got "
                                         f"{type(t).__name__}")
        refs = [" ".join(r.split()) for r in refs]
        hyps = [" ".join(h.split()) for h in hyps]
    return refs, hyps


def _counts(refs, hyps, unit: str) -> dict:
    import jiwer

    if unit == "word":
        o = jiwer.process_words(refs, hyps)
        rate, n_hyp = o.wer, sum(len(h.split()) for h in hyps)
    else:
        o = jiwer.process_characters(refs, hyps)
        rate, n_hyp = o.cer, sum(len(h) for h in hyps)
    return {"rate": float(rate), "substitutions": o.substitutions, "deletions": o.deletions,
            "insertions": o.insertions, "hits": o.hits,
            "n_ref": o.hits + o.substitutions + o.deletions, "n_hyp": n_hyp}


def wer(reference: str, hypothesis: str, *, normalized: bool = True) -> float:
    """Word error rate of one utterance: (S + D + I) / reference words.

    Parameters
    ----------
    reference, hypothesis : str
    normalized : bool
        Apply :func:`normalize` to both first (default); ``False`` scores the
        strings as given (only white space is collapsed).

    Returns
    -------
    float
        0 for a perfect match; may exceed 1 (insertions). For an empty
        reference, the number of hypothesis words (jiwer's convention).
    """
    return evaluate([reference], [hypothesis], normalized=normalized)["wer"]


def cer(reference: str, hypothesis: str, *, normalized: bool = True) -> float:
    """Character error rate of one utterance: (S + D + I) / reference characters.

    Parameters
    ----------
    reference, hypothesis : str
    normalized : bool
        As in :func:`wer`.

    Returns
    -------
    float
        Characters include the single spaces between words. For an empty
        reference, the number of hypothesis characters (jiwer's convention).
    """
    return evaluate([reference], [hypothesis], normalized=normalized)["cer"]


def evaluate(references: Sequence[str], hypotheses: Sequence[str], *,
             normalized: bool = True) -> dict:
    """Pooled (corpus-level) word and character error rates of many utterances.

    Parameters
    ----------
    references, hypotheses : sequence of str
        One transcript per utterance, in the same order.
    normalized : bool
        Apply :func:`normalize` to both sides first (default).

    Returns
    -------
    dict
        ``wer`` (word errors summed over utterances / reference words summed),
        ``substitutions``, ``deletions``, ``insertions``, ``hits``,
        ``n_ref_words``, ``n_hyp_words``; ``cer`` with ``char_substitutions``,
        ``char_deletions``, ``char_insertions``, ``n_ref_chars``; and
        ``n_utterances``. See the module docstring for empty references.

    Raises
    ------
    ParameterError
        Different numbers of references and hypotheses, no utterances, or
        non-string transcripts.
    """
    refs, hyps = _prepare(references, hypotheses, normalized)
    w = _counts(refs, hyps, "word")
    c = _counts(refs, hyps, "char")
    return {"wer": w["rate"], "substitutions": w["substitutions"], "deletions": w["deletions"],
            "insertions": w["insertions"], "hits": w["hits"], "n_ref_words": w["n_ref"],
            "n_hyp_words": w["n_hyp"], "cer": c["rate"],
            "char_substitutions": c["substitutions"], "char_deletions": c["deletions"],
            "char_insertions": c["insertions"], "n_ref_chars": c["n_ref"],
            "n_utterances": len(refs)}
