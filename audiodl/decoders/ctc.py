"""CTC decoding: greedy, lexicon + n-gram LM beam search, and word timestamps.

Emissions are CTC log-probabilities ``log_probs [shape=(n_frames, n_tokens)]``
at ``fps`` frames per second; token 0 is the blank and ``separator`` (``|``)
separates words (the flashlight convention).

* :func:`greedy_decode` — best token per frame, repeats merged, blanks dropped.
* :class:`BeamSearch` — flashlight-text's CTC beam search (the engine behind
  torchaudio's :func:`~torchaudio.models.decoder.ctc_decoder`, built here the
  same way but called directly on numpy arrays, so it needs no torch) with a
  lexicon and an ARPA n-gram LM (KenLM), or lexicon-free without LM.
* :func:`path_word_times` — start and end of every word of a decoded
  transcript from the frame path the decoder chose (greedy: the best token
  per frame; beam search: flashlight's best path, which for a given word
  sequence is its best-scoring, i.e. Viterbi, CTC alignment). No torch.
* :func:`word_timestamps` — CTC forced alignment of any transcript
  (:func:`torchaudio.functional.forced_align`; imports torch).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from typing import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["greedy_decode", "tokens_to_text", "text_to_ids", "BeamSearch", "beam_search", "split_points",
           "word_timestamps", "path_word_times"]


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


class _FlashlightCTC:
    """flashlight-text's CTC decoder, constructed as torchaudio's ``ctc_decoder`` does
    (same options, trie and word dictionary), called on numpy float32 emissions."""

    def __init__(self, tokens, lexicon, lm, beam_size, lm_weight, word_score, unk_score,
                 sil_score, beam_threshold):
        try:
            from flashlight.lib.text.decoder import (CriterionType, LexiconDecoder,
                                                     LexiconDecoderOptions, LexiconFreeDecoder,
                                                     LexiconFreeDecoderOptions, SmearingMode,
                                                     Trie, ZeroLM)
            from flashlight.lib.text.dictionary import Dictionary, create_word_dict, load_words
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise ParameterError(f"beam search needs flashlight-text ({exc}); pip install "
                                 "flashlight-text") from None
        tokens_dict = Dictionary(list(tokens))
        self.tokens_dict = tokens_dict
        self.blank = tokens_dict.get_index(tokens[0])
        silence = tokens_dict.get_index("|")
        lex = load_words(lexicon) if lexicon else None
        n_tok = tokens_dict.index_size()
        if lex:
            opts = LexiconDecoderOptions(
                beam_size=beam_size, beam_size_token=n_tok, beam_threshold=beam_threshold,
                lm_weight=lm_weight, word_score=word_score, unk_score=unk_score,
                sil_score=sil_score, log_add=False, criterion_type=CriterionType.CTC)
            word_dict = create_word_dict(lex)
        else:
            opts = LexiconFreeDecoderOptions(
                beam_size=beam_size, beam_size_token=n_tok, beam_threshold=beam_threshold,
                lm_weight=lm_weight, sil_score=sil_score, log_add=False,
                criterion_type=CriterionType.CTC)
            word_dict = None
            if lm:
                d = {tokens_dict.get_entry(i): [[tokens_dict.get_entry(i)]]
                     for i in range(n_tok)}
                d["<unk>"] = [["<unk>"]]
                word_dict = create_word_dict(d)
        if lm:
            try:
                from flashlight.lib.text.decoder.kenlm import KenLM
            except ImportError:
                from flashlight.lib.text.decoder import KenLM
            with _quiet_stderr():  # KenLM draws a progress bar on fd 2 while reading ARPA
                self.lm = KenLM(lm, word_dict)
        else:
            self.lm = ZeroLM()
        self.word_dict = word_dict
        if lex:
            trie = Trie(n_tok, silence)
            start = self.lm.start(False)
            for word, spellings in lex.items():
                w = word_dict.get_index(word)
                _, score = self.lm.score(start, w)
                for sp in spellings:
                    trie.insert([tokens_dict.get_index(t) for t in sp], w, score)
            trie.smear(SmearingMode.MAX)
            self.decoder = LexiconDecoder(opts, trie, self.lm, silence, self.blank,
                                          word_dict.get_index("<unk>"), [], False)
        else:
            self.decoder = LexiconFreeDecoder(opts, self.lm, silence, self.blank, [])
        self.lexicon = bool(lex)
        self._lock = threading.Lock()  # one decoder object: one decode at a time

    def __call__(self, lp: np.ndarray):
        """Best hypothesis of ``lp [shape=(n_frames, n_tokens)]``: (words or None, path)."""
        em = np.ascontiguousarray(lp, dtype=np.float32)
        with self._lock:
            best = self.decoder.decode(em.ctypes.data, em.shape[0], em.shape[1])[0]
        path = np.asarray(best.tokens, dtype=np.int64)
        words = [self.word_dict.get_entry(x) for x in best.words if x >= 0] \
            if self.lexicon else None
        return words, path


@functools.lru_cache(maxsize=8)
def _decoder(tokens, lexicon, lm, beam_size, lm_weight, word_score, unk_score, sil_score,
             beam_threshold):
    return _FlashlightCTC(tokens, lexicon, lm, beam_size, lm_weight, word_score, unk_score,
                          sil_score, beam_threshold)


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
    max_frames : int
        Longest piece decoded at once (see :func:`split_points`): bounds memory on
        long inputs (2000 frames = 60 s at the shipped model's 33.3 fps).
    """

    def __init__(self, tokens: Sequence[str], *, lm=None, lexicon=None, beam_size: int = 50,
                 lm_weight: float = 0.5, word_score: float = 0.0,
                 unk_score: float = float("-inf"), beam_threshold: float = 25.0,
                 max_frames: int = 2000):
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
        self.max_frames = int(max_frames)
        self._args = (self.tokens, self.lexicon, self.lm, self.beam_size, float(lm_weight),
                      float(word_score), float(unk_score), 0.0, float(beam_threshold))

    def __call__(self, log_probs) -> str:
        """Best transcript of ``log_probs [shape=(n_frames, n_tokens)]`` (words, spaces)."""
        return self.decode(log_probs)[0]

    def decode(self, log_probs) -> tuple:
        """Best transcript and the frame path it was read from.

        Returns
        -------
        text : str
        path : np.ndarray [shape=(n_frames,)], int
            Token per frame (the hypothesis' CTC alignment), for :func:`path_word_times`.
        """
        lp = _check(log_probs, self.tokens)
        if len(lp) == 0:
            return "", np.zeros(0, np.int64)
        texts, paths = [], []
        pauses = (0, self.tokens.index("|"))
        for a, b in split_points(lp, self.max_frames, pauses):
            text, path = self._decode_piece(lp[a:b])
            texts.append(text)
            paths.append(path)
        return " ".join(t for t in texts if t), np.concatenate(paths)

    def _decode_piece(self, lp) -> tuple:
        words, path = _decoder(*self._args)(lp)
        # flashlight's path has one extra (silence) step before and after the frames
        path = path[1:len(lp) + 1] if len(path) == len(lp) + 2 else path[:len(lp)]
        if words is not None:
            return " ".join(w for w in words if w), path
        return tokens_to_text(path, self.tokens), path


def split_points(log_probs, max_frames: int, pause_tokens=(0,)) -> list:
    """``(start, stop)`` frame ranges of at most ``max_frames``, cut inside pauses.

    The beam search keeps its hypotheses for every frame, so its memory grows with
    the input's length; long inputs are decoded piece by piece. Each cut is placed
    in the middle of the longest run of frames whose best token is one of
    ``pause_tokens`` (the blank, ``tokens[0]``, then the word separator) within the
    second half of the window, preferring runs that hold a separator: between words,
    not between the letters of one; only
    a window without any such frame is cut hard at ``max_frames``. The LM context
    starts afresh at each cut.
    """
    n = len(log_probs)
    max_frames = max(2, int(max_frames))
    if n <= max_frames:
        return [(0, n)]
    best = np.asarray(log_probs).argmax(axis=1)
    blank = np.isin(best, np.asarray(pause_tokens))
    separator = np.isin(best, np.asarray(pause_tokens[1:]))
    pieces, start = [], 0
    while n - start > max_frames:
        lo, hi = start + max_frames // 2, start + max_frames
        seg = blank[lo:hi]
        cut = hi
        if seg.any():
            # runs of blanks in [lo, hi): the middle of the longest one
            edges = np.flatnonzero(np.diff(np.concatenate(([0], seg.astype(np.int8), [0]))))
            runs = edges.reshape(-1, 2)
            # runs holding a word separator first (a pause between words), then length
            has_sep = np.array([separator[lo + r0:lo + r1].any() for r0, r1 in runs])
            r0, r1 = runs[np.argmax(has_sep * max_frames + runs[:, 1] - runs[:, 0])]
            cut = lo + (r0 + r1) // 2
            cut = max(cut, start + 1)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, n))
    return pieces


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



def path_word_times(path, text: str, tokens: Sequence[str], *, fps: float,
                    separator: str = "|", blank: int = 0):
    """Word start and end times [s] of ``text`` read off the frame path it was decoded from.

    Parameters
    ----------
    path : sequence of int [shape=(n_frames,)]
        Token per frame (greedy: the argmax; beam search: :meth:`BeamSearch.decode`).
    text : str
        The transcript decoded from ``path``.
    fps : float [Hz]

    Returns
    -------
    np.ndarray [shape=(n_words, 2)] or None
        Start (first frame of the word's first token) and end (end of the last
        frame of its last token) of each word, as :func:`word_timestamps`;
        None when the path does not spell the words of ``text`` in order.
    """
    words = text.split()
    runs, prev = [], blank  # (token, first frame, last frame) of each token run
    for t, p in enumerate(np.asarray(path).tolist()):
        if p != blank and p == prev:
            runs[-1][2] = t
        elif p != blank:
            runs.append([p, t, t])
        prev = p
    sep = tokens.index(separator) if separator in tokens else -1
    spelled, spans, cur = [], [], None
    for tok, a, b in runs:
        if tok == sep:
            cur = None
            continue
        if cur is None:
            spelled.append("")
            spans.append([a, b])
            cur = len(spelled) - 1
        spelled[cur] += tokens[tok]
        spans[cur][1] = b
    # the words in order; a lexicon decoder's path may also spell a partial word it
    # did not emit (e.g. at the end), which is skipped
    times, j = [], 0
    for w in words:
        while j < len(spelled) and spelled[j] != w:
            j += 1
        if j == len(spelled):
            return None
        a, b = spans[j]
        times.append((a / fps, (b + 1) / fps))
        j += 1
    return np.asarray(times, dtype=np.float64)
