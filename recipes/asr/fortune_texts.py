#!/usr/bin/env python
"""Sentences of the Debian ``fortune`` databases for ``audiodl synth speech --texts``.

    python recipes/asr/fortune_texts.py [DIR] > fortune_texts.txt
    python recipes/asr/fortune_texts.py --all [DIR] > fortune_all.txt

Reads ``fortunes``, ``literature`` and ``riddles`` from DIR (default: the
fortunes-min location), or with ``--all`` every database there except
``ascii-art`` (Debian package ``fortunes``: 43 databases, about 20,700
sentences and 19,400 distinct words), drops attributions, splits entries into sentences,
sanitises them like the TTS grammar (:func:`audiodl.data.synth.text.sanitize`),
and keeps normalised sentences of 3-18 words of letters and apostrophes only
(no digits: their spoken form would be ambiguous). Sorted, one per line.
"""

import re
import sys
from pathlib import Path

from audiodl.data.synth.text import normalize_transcript, sanitize


MIN_DATABASES = ("fortunes", "literature", "riddles")


def databases(directory):
    """Every fortune database in ``directory`` (files without a suffix), but ascii-art."""
    return sorted(p.name for p in Path(directory).iterdir()
                  if p.is_file() and "." not in p.name and p.name != "ascii-art")


def sentences(directory, names=MIN_DATABASES):
    out = set()
    for name in names:
        text = (Path(directory) / name).read_text(encoding="utf-8", errors="ignore")
        for entry in text.split("\n%\n"):
            entry = re.sub(r"\s+", " ", entry)
            entry = re.sub(r"--.*$", "", entry)  # attributions
            for s in re.split(r"(?<=[.!?])\s+", entry):
                s = sanitize(s)
                if re.search(r"\d", s):
                    continue
                n = normalize_transcript(s)
                if 3 <= len(n.split()) <= 18 and all(c.isalpha() or c in " '" for c in n):
                    out.add(n)
    return sorted(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    every = "--all" in args
    args = [a for a in args if a != "--all"]
    d = args[0] if args else "/usr/share/games/fortunes"
    print("\n".join(sentences(d, databases(d) if every else MIN_DATABASES)))
