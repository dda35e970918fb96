"""Text formats of task results that are not events or segments: transcripts and codes.

(Events and segments: :mod:`audiodl.io.annotations`; file labels:
:mod:`audiodl.io.labels`.)
"""

from __future__ import annotations

import json
from typing import Optional

from ..errors import ParameterError

__all__ = ["format_transcript", "format_codes", "TRANSCRIPT_FORMATS", "CODE_FORMATS"]

TRANSCRIPT_FORMATS = ("text", "json")
CODE_FORMATS = ("text", "json")


def format_transcript(result, fmt: str = "text", *, source: Optional[str] = None) -> str:
    """A :class:`~audiodl.types.Transcript` as ``text`` (one line) or ``json``.

    ``json``: ``{"source", "text", "words": [{"word", "start", "end"}]}`` with
    times in seconds (3 decimals) when the transcript has word times.
    """
    if fmt == "text":
        return result.text + "\n"
    if fmt == "json":
        words = []
        for k, w in enumerate(result.words):
            row = {"word": w}
            if result.word_times is not None:
                row.update(start=round(float(result.word_times[k, 0]), 3),
                           end=round(float(result.word_times[k, 1]), 3))
            words.append(row)
        return json.dumps({"source": source, "text": result.text, "words": words},
                          indent=2) + "\n"
    raise ParameterError(f"unknown transcript format {fmt!r}; known: {TRANSCRIPT_FORMATS}")


def format_codes(items, fmt: str = "text") -> str:
    """``[(source, Codes)]`` as ``text`` (``path<TAB>hex code`` lines) or ``json``."""
    if fmt == "text":
        return "".join(f"{s}\t{c.hex()}\n" for s, c in items)
    if fmt == "json":
        return json.dumps([dict(c.to_dict(), path=s) for s, c in items], indent=1) + "\n"
    raise ParameterError(f"unknown code format {fmt!r}; known: {CODE_FORMATS}")
