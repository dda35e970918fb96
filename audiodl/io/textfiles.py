"""Reading untrusted text and JSON files with audiodl's own errors.

Every reader of a user-supplied text file (annotations, manifests, labels,
model cards, configs) goes through these two functions, so that any file,
however broken, ends in the caller's :class:`~audiodl.errors.AudiodlError`
subclass naming the file (and the line where there is one): missing file,
a folder, non-UTF-8 bytes, a file over the size bound, invalid or deeply
nested JSON.
"""

from __future__ import annotations

import json
import os

from ..errors import ManifestError

__all__ = ["read_text", "loads_json", "MAX_TEXT_BYTES", "MAX_JSON_DEPTH"]

#: text files larger than this are refused (annotations and cards are far smaller)
MAX_TEXT_BYTES = 256 * 2 ** 20
#: JSON nested deeper than this is refused before Python's recursion limit is reached
MAX_JSON_DEPTH = 200


def read_text(path, *, error=ManifestError, what: str = "file",
              max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of ``path`` or ``error(f"{path}: ...")``.

    Parameters
    ----------
    path : str or os.PathLike
    error : type
        The :class:`~audiodl.errors.AudiodlError` subclass to raise.
    what : str
        What the file should be, for messages (``"annotation file"``).
    max_bytes : int
        Size bound.
    """
    p = os.fspath(path)
    try:
        if os.path.isdir(p):
            raise error(f"{p}: is a directory, not a {what}")
        size = os.path.getsize(p)
        if size > max_bytes:
            raise error(f"{p}: {size} bytes is too large for a {what} (limit {max_bytes})")
        with open(p, "rb") as f:
            data = f.read(min(size, max_bytes) + 1)  # read(n) allocates n bytes up front
        if len(data) > max_bytes:  # grew since it was measured
            raise error(f"{p}: too large for a {what} (limit {max_bytes} bytes)")
    except FileNotFoundError:
        raise error(f"{p}: {what} not found") from None
    except OSError as exc:
        raise error(f"{p}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{p}:{line}: not a UTF-8 text file ({exc.reason} at byte "
                    f"{exc.start})") from None
    return text[1:] if text.startswith("\ufeff") else text


def _depth_ok(text: str, limit: int) -> bool:
    """Cheap upper bound of JSON nesting (brackets outside strings)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return False
        elif ch in "]}":
            depth -= 1
    return True


def loads_json(text: str, source, *, error=ManifestError, line=None,
               max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` whose every failure is ``error`` naming ``source`` (and the line).

    ``line``: the file line ``text`` comes from (JSON-lines files); else the
    decoder's line is named.
    """
    src = os.fspath(source)
    if not _depth_ok(text, max_depth):
        where = f"{src}:{line}" if line is not None else src
        raise error(f"{where}: JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{src}:{line if line is not None else exc.lineno}"
        raise error(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (RecursionError, ValueError, MemoryError) as exc:  # huge numbers, depth
        where = f"{src}:{line}" if line is not None else src
        raise error(f"{where}: not valid JSON ({type(exc).__name__})") from None
