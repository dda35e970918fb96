"""CTC decoding: greedy, lexicon + n-gram LM beam search, and word timestamps.

Emissions are CTC log-probabilities ``log_probs [shape=(n_frames, n_tokens)]``
at ``fps`` frames per second; token 0 is the blank and ``separator`` (``|``)
separates words (the flashlight convention).

* :func:`greedy_decode` — best token per frame, repeats merged, blanks dropped.
* :class:`BeamSearch` — torchaudio's :func:`~torchaudio.models.decoder.ctc_decoder`
  (flashlight-text) with a lexicon and an ARPA n-gram LM (or lexicon-free
  without LM); on CUDA tensors without LM, ``cuda_ctc_decoder`` where present.
* :func:`word_timestamps` — CTC forced alignment of a transcript
  (:func:`torchaudio.functional.forced_align`) -> start and end of every word
  in seconds (first and last frame of its tokens).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from typing import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["greedy_decode", "tokens_to_text", "text_to_ids", "BeamSearch", "beam_search",
           "word_timestamps"]


def _check(log_probs, tokens):
    lp = np.asarray(log_probs, dtype=np.float32)
    if lp.ndim != 2 or lp.shape[1] != len(tokens):
        raise ParameterError(f"expected CTC log-probabilities (n_frames, {len(tokens)}), got "
                             f"shape {lp.shape}")
    return lp


def tokens_to_text(ids: Sequence[int], tokens: Sequence[str], *, blank: int = 0,
                   separator: str = "|") -> str:
    """Collapse a frame-wise token path: merge repeats, drop blanks, ``|`` -> space."""
    out, prev = [], None
    for i in ids:
        i = int(i)
        if i != prev and i != blank:
            out.append(tokens[i])
        prev = i
    return " ".join("".join(out).replace(separator, " ").split())


def text_to_ids(text: str, tokens: Sequence[str], *, separator: str = "|") -> list:
    """Token ids of ``text`` (words joined by ``separator``); unknown characters are an error."""
    index = {t: i for i, t in enumerate(tokens)}
    ids = []
    for k, w in enumerate(text.split()):
        if k:
            ids.append(index[separator])
        for c in w:
            if c not in index:
                raise ParameterError(f"character {c!r} of {text!r} is not an output token")
            ids.append(index[c])
    return ids


def greedy_decode(log_probs, tokens: Sequence[str], *, blank: int = 0,
                  separator: str = "|") -> str:
    """Best path decoding.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(n_frames, n_tokens)]
    tokens : sequence of str
        Output tokens (``tokens[blank]`` is the blank).

    Returns
    -------
    str
        Words separated by single spaces.
    """
    lp = _check(log_probs, tokens)
    return tokens_to_text(lp.argmax(axis=1), tokens, blank=blank, separator=separator)


@functools.lru_cache(maxsize=8)
def _decoder(tokens, lexicon, lm, beam_size, lm_weight, word_score, unk_score, sil_score,
             beam_threshold):
    try:
        from torchaudio.models.decoder import ctc_decoder
    except (ImportError, RuntimeError) as exc:  # pragma: no cover - dependency missing
        raise ParameterError(f"beam search needs flashlight-text ({exc}); pip install "
                             "flashlight-text") from None
    with _quiet_stderr():  # KenLM draws a progress bar on fd 2 while reading an ARPA file
        return ctc_decoder(lexicon=lexicon, tokens=list(tokens), lm=lm, nbest=1,
                           beam_size=beam_size, beam_threshold=beam_threshold,
                           lm_weight=lm_weight, word_score=word_score, unk_word="<unk>",
                           unk_score=unk_score, sil_score=sil_score, blank_token=tokens[0],
                           sil_token="|")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (C++ library chatter) for the duration of the block."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (embedded interpreters): nothing to silence
            yield
            return
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class BeamSearch:
    """CTC beam search with an optional lexicon and ARPA LM (flashlight, via torchaudio).

    Parameters
    ----------
    tokens : sequence of str
        Output tokens; ``tokens[0]`` the blank, ``|`` the word separator.
    lm : path or None
        ARPA n-gram LM (words); None: no LM.
    lexicon : path or None
        flashlight lexicon (``word<TAB>w o r d |``); None with an LM: built from
        the LM's vocabulary (:func:`audiodl.data.lm.lexicon_for`); None without
        an LM: lexicon-free search.
    beam_size : int
    lm_weight : float
        Weight of the LM log-probability (natural log).
    word_score : float
        Score added per word (insertion bonus).
    unk_score : float
        Score of a word outside the lexicon (-inf: never).
    beam_threshold : float
        Prune hypotheses this far below the best.
    """

    def __init__(self, tokens: Sequence[str], *, lm=None, lexicon=None, beam_size: int = 50,
                 lm_weight: float = 0.5, word_score: float = 0.0,
                 unk_score: float = float("-inf"), beam_threshold: float = 25.0):
        if beam_size < 1:
            raise ParameterError(f"beam_size must be >= 1, got {beam_size}")
        self.tokens = tuple(tokens)
        if "|" not in self.tokens:
            raise ParameterError("beam search needs the word separator token '|'")
        lm = os.fspath(lm) if lm else None
        if lm is not None and not os.path.exists(lm):
            raise ParameterError(f"{lm}: no such language model file")
        if lm is not None and lexicon is None:
            from ..data.lm import lexicon_for
            lexicon = lexicon_for(lm, tokens=self.tokens)
        self.lm, self.lexicon = lm, (os.fspath(lexicon) if lexicon else None)
        self.beam_size = int(beam_size)
        self._args = (self.tokens, self.lexicon, self.lm, self.beam_size, float(lm_weight),
                      float(word_score), float(unk_score), 0.0, float(beam_threshold))

    def __call__(self, log_probs) -> str:
        """Best transcript of ``log_probs [shape=(n_frames, n_tokens)]`` (words, spaces)."""
        import torch
        lp = _check(log_probs, self.tokens)
        if len(lp) == 0:
            return ""
        dec = _decoder(*self._args)
        em = torch.from_numpy(np.ascontiguousarray(lp))[None]
        hyp = dec(em, torch.tensor([len(lp)], dtype=torch.int32))[0][0]
        if self.lexicon is not None:
            return " ".join(w for w in hyp.words if w)
        # torchaudio already merged repeats and dropped blanks (and the edge separators)
        text = "".join(self.tokens[i] for i in hyp.tokens.tolist() if i != 0)
        return " ".join(text.replace("|", " ").split())


def beam_search(log_probs, tokens: Sequence[str], *, lm=None, lexicon=None,
                beam_size: int = 50, lm_weight: float = 0.5, word_score: float = 0.0) -> str:
    """One-shot :class:`BeamSearch` (decoders are cached, so repeated calls are cheap)."""
    return BeamSearch(tokens, lm=lm, lexicon=lexicon, beam_size=beam_size,
                      lm_weight=lm_weight, word_score=word_score)(log_probs)


def word_timestamps(log_probs, text: str, tokens: Sequence[str], *, fps: float,
                    separator: str = "|", blank: int = 0) -> tuple:
    """Word start and end times of ``text`` by CTC forced alignment.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(n_frames, n_tokens)]
    text : str
        The transcript to align (words spellable with ``tokens``).
    tokens : sequence of str
    fps : float [Hz]
        Frame rate of ``log_probs``; frame ``i`` covers ``[i / fps, (i + 1) / fps)``.

    Returns
    -------
    words : tuple of str
    times : np.ndarray [shape=(n_words, 2)], float64 [s]
        Start (first frame of the word's first token) and end (end of the
        frame of its last token) of each word.
    """
    import torch
    from torchaudio.functional import forced_align
    lp = _check(log_probs, tokens)
    words = tuple(text.split())
    if not words or not len(lp):
        return (), np.zeros((0, 2))
    ids = text_to_ids(text, tokens, separator=separator)
    # CTC needs len(lp) >= len(ids) + repeats; otherwise no alignment exists
    repeats = sum(a == b for a, b in zip(ids, ids[1:]))
    if len(lp) < len(ids) + repeats:
        raise ParameterError(f"{len(lp)} frames are too few to align {len(ids)} tokens")
    path, _ = forced_align(torch.from_numpy(np.ascontiguousarray(lp))[None],
                           torch.tensor([ids], dtype=torch.int32), blank=blank)
    path = path[0].numpy()
    # token k of ids occupies the k-th run of equal non-blank labels (CTC puts a
    # blank between repeated tokens, so runs never merge two tokens)
    spans, prev = [], blank
    for t, p in enumerate(path.tolist()):
        if p != blank and p == prev:
            spans[-1][1] = t
        elif p != blank:
            spans.append([t, t])
        prev = p
    # walk word by word over the token ids
    times = []
    j = 0
    for word in words:
        start_tok = j
        j += len(word)
        s, e = spans[start_tok][0], spans[j - 1][1]
        times.append((s / fps, (e + 1) / fps))
        j += 1  # the separator
    return words, np.asarray(times, dtype=np.float64)

