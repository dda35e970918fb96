"""Replace a marked block of bench/README.md: one writer for every bench script.

Scripts run as ``python bench/NAME.py`` (so this folder is on ``sys.path``) and
call :func:`write_block` with their own begin/end markers.
"""

from __future__ import annotations

import os

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")


def write_block(begin: str, end: str, body: str, path: str = README) -> None:
    """Put ``begin``, ``body`` and ``end`` in place of the marked block of ``path``
    (appended when the markers are missing)."""
    doc = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    block = f"{begin}\n{body}\n{end}"
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        doc = head + block + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)
