"""Random English sentences for TTS, and text sanitizing.

Sentences come from a small template grammar over word lists; numbers are
spelled out, so the transcript is exactly what a voice says.
"""

from __future__ import annotations

import re

__all__ = ["sanitize", "normalize_transcript", "sentence", "number_words"]

_NAMES = "anna ben carla david emma frank grace henry iris jack kate leo maria nora oscar paul rose sam tina victor".split()
_NOUNS = ("house car river garden window letter table morning city train doctor teacher window kitchen "
          "computer phone meeting report market village mountain forest bridge island story picture "
          "message answer question problem idea friend family student office station hotel ticket").split()
_ADJS = ("small large old new quiet busy bright dark warm cold early late simple difficult happy "
         "strange beautiful important green blue red long short heavy").split()
_VERBS_T = ("found opened closed painted visited called wrote read bought sold carried cleaned "
            "moved watched fixed checked ordered").split()
_VERBS_I = ("arrived left waited slept laughed answered stopped started listened returned").split()
_ADVS = "quickly slowly quietly early later again yesterday today carefully finally".split()
_PLACES = ("in the kitchen|at the station|near the river|on the table|in the morning|after lunch|"
           "before dinner|at the office|in the garden|across the street|by the window").split("|")
_QWORDS = "where when why how".split()
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    """Spell a number 0-9999 in English words (str)."""
    n = int(n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def sentence(rng):
    """One random sentence, with its punctuation (for prosody).

    Parameters
    ----------
    rng : np.random.Generator

    Returns
    -------
    text : str
        Sanitized; pass it through :func:`normalize_transcript` for the transcript.
    """
    k = int(rng.integers(8))
    name, name2 = _pick(rng, _NAMES), _pick(rng, _NAMES)
    noun, noun2, adj = _pick(rng, _NOUNS), _pick(rng, _NOUNS), _pick(rng, _ADJS)
    if k == 0:
        s = f"{name} {_pick(rng, _VERBS_T)} the {adj} {noun} {_pick(rng, _PLACES)}."
    elif k == 1:
        s = f"{_pick(rng, _QWORDS)} did {name} leave the {noun}?"
    elif k == 2:
        s = f"the {noun} {_pick(rng, _VERBS_I)} {_pick(rng, _ADVS)}, and {name2} {_pick(rng, _VERBS_I)} too."
    elif k == 3:
        s = f"please call {name} at {number_words(rng.integers(1, 13))} {number_words(rng.integers(10, 60))}."
    elif k == 4:
        s = f"there are {number_words(rng.integers(2, 200))} {noun}s {_pick(rng, _PLACES)}."
    elif k == 5:
        s = f"{name} said that the {noun} was {adj}, but {name2} did not agree."
    elif k == 6:
        s = f"after the {noun}, we {_pick(rng, _VERBS_T)} a {adj} {noun2} and {_pick(rng, _VERBS_I)}."
    else:
        s = f"the {adj} {noun} is {_pick(rng, _PLACES)}, next to the {noun2}."
    return sanitize(s[0].upper() + s[1:])


_ALLOWED = re.compile(r"[^A-Za-z' ,.?!-]+")


def sanitize(text):
    """Make text safe for every TTS engine.

    Keeps ASCII letters, apostrophes, spaces and ``, . ? ! -``; other
    characters (which crash festival or are read out by espeak) become
    spaces; whitespace is collapsed.
    """
    text = _ALLOWED.sub(" ", text)
    text = re.sub(r"\s*-\s*", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = text.lstrip(",.?!' ")
    return text


def normalize_transcript(text):
    """Lower-case words without punctuation (the transcript stored in manifests)."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z' ]+", " ", text)
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))
