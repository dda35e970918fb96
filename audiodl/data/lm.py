"""Word n-gram language models in ARPA format, built from the project's own text.

No maintained ARPA *builder* installs here: the ``kenlm`` package on PyPI is
an sdist of the query library only (``lmplz``, the estimator, is a separate
C++ binary that is not in it), so this module holds a small, documented
estimator:

* :func:`build_arpa` — interpolated **Kneser-Ney** (Kneser & Ney 1995; Chen &
  Goodman 1998, eq. 26) with one absolute discount ``D`` per order, written
  in backoff form. For a seen n-gram ``h w`` the stored probability is the
  interpolated one,
  ``p(w|h) = max(c(h w) - D, 0) / c(h) + gamma(h) p_lower(w|h')`` with
  ``gamma(h) = D N1+(h .) / c(h)``, and the backoff weight of ``h`` is
  ``gamma(h)``; this is exactly normalised (the unseen mass left by the seen
  words equals ``gamma(h)`` times the lower-order mass of the unseen words).
  Lower orders use continuation counts ``N1+(. h w)`` (the number of distinct
  words seen before ``h w``), the highest order raw counts. The unigram level
  interpolates with the uniform distribution over the vocabulary (plus
  ``<unk>``), so every word has a non-zero probability. Sentences are padded
  with ``<s>`` and ``</s>``. This is the model SRILM writes with
  ``-interpolate -kndiscount`` (with a single discount per order instead of
  three).
* :func:`synth_text` — sentences of the template grammar of
  :mod:`audiodl.data.synth.text` (the text the TTS corpus speaks), normalised
  as manifest transcripts.
* :func:`default_lm` — the LM of the shipped ASR model: a trigram over
  20,000 grammar sentences (seed 0) plus its lexicon, built once into the
  user cache (deterministic; a few seconds).

The ARPA files load in KenLM and in torchaudio's ``ctc_decoder``
(flashlight-text).
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Optional, Sequence

from ..errors import ParameterError

__all__ = ["build_arpa", "write_lexicon", "arpa_vocabulary", "synth_text", "default_lm",
           "DEFAULT_LM_NAME"]

#: name of the project LM in cards (``decoder.offline.lm``)
DEFAULT_LM_NAME = "synth-text-3gram"
BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def _ngrams(sentences, order):
    counts = [Counter() for _ in range(order)]  # counts[k]: (k+1)-grams
    for s in sentences:
        words = [BOS, *s.split(), EOS]
        for k in range(order):
            n = k + 1
            for i in range(len(words) - n + 1):
                g = tuple(words[i:i + n])
                if n == 1 and g == (BOS,):
                    continue
                counts[k][g] += 1
    return counts


def build_arpa(sentences: Iterable[str], path, *, order: int = 3,
               discount: float = 0.75) -> Path:
    """Estimate an interpolated Kneser-Ney n-gram model and write it as ARPA.

    Parameters
    ----------
    sentences : iterable of str
        One sentence per item, words separated by spaces (already normalised).
    path : path
        The ``.arpa`` file to write (atomically).
    order : int
        1 to 5 (3: trigram).
    discount : float
        Absolute discount ``D`` in (0, 1) of every order.

    Returns
    -------
    Path
    """
    if not 1 <= order <= 5 or not 0.0 < discount < 1.0:
        raise ParameterError(f"order must be 1-5 and discount in (0, 1), got {order}, "
                             f"{discount}")
    sentences = [s for s in (" ".join(str(x).split()) for x in sentences) if s]
    if not sentences:
        raise ParameterError(f"{path}: no sentences to build a language model from")
    raw = _ngrams(sentences, order)
    # counts used at each level: raw for the top order, continuation counts below
    used = [Counter() for _ in range(order)]
    used[order - 1] = raw[order - 1]
    for k in range(order - 1):
        cont = Counter()
        for g in raw[k + 1]:
            cont[g[1:]] += 1
        for g in raw[k]:  # n-grams starting with <s> have no left context: raw counts
            used[k][g] = cont[g] if g[0] != BOS and cont[g] else raw[k][g]
    vocab = sorted({g[0] for g in raw[0]} | {UNK})
    probs = [dict() for _ in range(order)]
    bows = [dict() for _ in range(order)]
    # unigrams: discounted continuation counts interpolated with uniform
    tot = sum(used[0].values())
    n_types = len(used[0])
    gamma0 = discount * n_types / tot
    for w in vocab:
        p = max(used[0].get((w,), 0) - discount, 0.0) / tot + gamma0 / len(vocab)
        probs[0][(w,)] = p
    probs[0][(BOS,)] = 0.0  # never predicted; written as -99
    for k in range(1, order):
        ctx_tot, ctx_types = defaultdict(float), defaultdict(int)
        for g, c in used[k].items():
            ctx_tot[g[:-1]] += c
            ctx_types[g[:-1]] += 1
        gammas = {h: discount * ctx_types[h] / ctx_tot[h] for h in ctx_tot}
        for g, c in used[k].items():
            h = g[:-1]
            lower = _prob(probs, bows, g[1:])
            probs[k][g] = max(c - discount, 0.0) / ctx_tot[h] + gammas[h] * lower
        bows[k - 1] = gammas
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        for k in range(order):
            f.write(f"ngram {k + 1}={len(probs[k])}\n")
        for k in range(order):
            f.write(f"\n\\{k + 1}-grams:\n")
            for g in sorted(probs[k]):
                p = probs[k][g]
                lp = -99.0 if p <= 0 else math.log10(p)
                line = f"{lp:.6f}\t{' '.join(g)}"
                if k < order - 1 and g in bows[k]:
                    line += f"\t{math.log10(bows[k][g]):.6f}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
    os.replace(tmp, path)
    return path


def _prob(probs, bows, g):
    """Backoff probability of n-gram ``g`` from the levels estimated so far."""
    k = len(g) - 1
    if g in probs[k]:
        return probs[k][g]
    if k == 0:
        return probs[0][(UNK,)]
    return bows[k - 1].get(g[:-1], 1.0) * _prob(probs, bows, g[1:])


def arpa_vocabulary(path) -> list:
    """Words of the unigram section of an ARPA file (without ``<s>``, ``</s>``, ``<unk>``)."""
    words, in_uni = [], False
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("\\1-grams:"):
                    in_uni = True
                    continue
                if in_uni:
                    if line.startswith("\\"):
                        break
                    parts = line.split()
                    if len(parts) >= 2 and parts[1] not in (BOS, EOS, UNK):
                        words.append(parts[1])
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read the language model ({exc})") from None
    if not words:
        raise ParameterError(f"{path}: no unigrams found; is this an ARPA language model?")
    return words


def write_lexicon(words: Sequence[str], path, *, tokens: Sequence[str],
                  separator: str = "|") -> Path:
    """A flashlight lexicon: ``word<TAB>w o r d |`` per word spellable with ``tokens``.

    Words containing characters outside ``tokens`` are left out.
    """
    ok = set(tokens)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for w in sorted(set(words)):
            if w and set(w) <= ok:
                f.write(f"{w}\t{' '.join(w)} {separator}\n")
                n += 1
    if not n:
        raise ParameterError(f"{path}: no word of the vocabulary is spellable with the tokens")
    os.replace(tmp, path)
    return path


def synth_text(n_sentences: int, *, seed: int = 0) -> list:
    """``n_sentences`` normalised sentences of the TTS text grammar (deterministic)."""
    import numpy as np

    from .synth.text import normalize_transcript, sentence
    rng = np.random.default_rng(seed)
    return [normalize_transcript(sentence(rng)) for _ in range(n_sentences)]


def default_lm(*, tokens: Sequence[str], directory=None, n_sentences: int = 20000,
               seed: int = 12345) -> tuple:
    """The project LM (``synth-text-3gram``) and its lexicon, built once and cached.

    Parameters
    ----------
    tokens : sequence of str
        Output tokens of the acoustic model (for the lexicon spelling).
    directory : path or None
        Where to keep the files (default ``<cache>/lm``).
    n_sentences, seed : int
        Grammar sentences the model is estimated from (seed 12345: not the
        seeds of the speech corpora).

    Returns
    -------
    (Path, Path)
        ARPA file and lexicon file.
    """
    from .paths import cache_root
    d = Path(directory) if directory else cache_root() / "lm"
    stem = f"{DEFAULT_LM_NAME}-n{n_sentences}-s{seed}"
    arpa, lex = d / f"{stem}.arpa", d / f"{stem}.lexicon.txt"
    if not arpa.exists():
        build_arpa(synth_text(n_sentences, seed=seed), arpa, order=3)
    if not lex.exists():
        write_lexicon(arpa_vocabulary(arpa), lex, tokens=tokens)
    return arpa, lex


def lexicon_for(arpa, *, tokens: Sequence[str], directory: Optional[os.PathLike] = None) -> Path:
    """The lexicon of an ARPA file's vocabulary (written next to it, or into ``directory``)."""
    arpa = Path(arpa)
    d = Path(directory) if directory else arpa.parent
    lex = d / (arpa.stem + ".lexicon.txt")
    if not lex.exists() or lex.stat().st_mtime < arpa.stat().st_mtime:
        write_lexicon(arpa_vocabulary(arpa), lex, tokens=tokens)
    return lex
