"""File-level labels as a table: text (TSV), CSV or JSON.

One row per file: ``source, label, probabilities``. Used by file
classification (``audiodl classify``).
"""

from __future__ import annotations

import csv
import io
import json

from ..errors import ManifestError, ParameterError

__all__ = ["format_labels", "parse_labels", "read_labels", "LABEL_FORMATS"]

LABEL_FORMATS = ("text", "csv", "json")


def format_labels(rows, fmt: str = "text") -> str:
    """Render ``[(source, label, {class: probability})]``.

    ``text``: ``source<TAB>label<TAB>probability of label`` (4 decimals) per line;
    ``csv``: header ``path,label,probability,p_<class>...`` (6 decimals);
    ``json``: a list of ``{"path", "label", "probability", "probabilities"}``.
    """
    rows = list(rows)
    if fmt == "text":
        return "".join(f"{s}\t{lab}\t{p[lab]:.4f}\n" for s, lab, p in rows)
    if fmt == "csv":
        classes = list(rows[0][2]) if rows else []
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "label", "probability", *[f"p_{c}" for c in classes]])
        for s, lab, p in rows:
            w.writerow([s, lab, f"{p[lab]:.6f}", *[f"{p[c]:.6f}" for c in classes]])
        return buf.getvalue()
    if fmt == "json":
        return json.dumps([{"path": s, "label": lab, "probability": round(p[lab], 6),
                            "probabilities": {k: round(v, 6) for k, v in p.items()}}
                           for s, lab, p in rows], indent=2) + "\n"
    raise ParameterError(f"unknown label format {fmt!r}; known: {LABEL_FORMATS}")


def parse_labels(text: str, fmt: str = "text", *, source: str = "<text>") -> list:
    """Inverse of :func:`format_labels`: ``[(source, label, probability)]``.

    Raises
    ------
    ManifestError
        Naming ``source`` (and the line): malformed rows, missing columns,
        a probability that is not a number in [0, 1].
    """
    if fmt not in LABEL_FORMATS:
        raise ParameterError(f"unknown label format {fmt!r}; known: {LABEL_FORMATS}")
    out = []
    if fmt == "json":
        from .textfiles import loads_json
        doc = loads_json(text, source, error=ManifestError)
        if not isinstance(doc, list):
            raise ManifestError(f"{source}: expected a JSON list of {{path, label, "
                                f"probability}}, got {type(doc).__name__}")
        rows = [(f"{source}: row {i}", r) for i, r in enumerate(doc)]
    elif fmt == "csv":
        try:
            rows = [(f"{source}:{i}", r) for i, r in enumerate(
                csv.DictReader(io.StringIO(text)), start=2)]
        except csv.Error as exc:
            raise ManifestError(f"{source}: not a CSV label table ({exc})") from None
    else:
        rows = []
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.startswith("#"):
                parts = line.rsplit("\t", 2)
                if len(parts) != 3:
                    raise ManifestError(f"{source}:{i}: expected 'path<TAB>label<TAB>"
                                        f"probability', got {line[:80]!r}")
                rows.append((f"{source}:{i}", dict(zip(("path", "label", "probability"),
                                                       parts))))
    for where, r in rows:
        if not isinstance(r, dict) or not all(k in r for k in ("path", "label", "probability")):
            raise ManifestError(f"{where}: expected path, label and probability")
        try:
            p = float(r["probability"])
        except (TypeError, ValueError, OverflowError):
            raise ManifestError(f"{where}: probability {r['probability']!r} is not a "
                                "number") from None
        if not 0.0 <= p <= 1.0:
            raise ManifestError(f"{where}: probability {p} outside [0, 1]")
        if not isinstance(r["path"], str) or not isinstance(r["label"], str):
            raise ManifestError(f"{where}: path and label must be strings")
        out.append((r["path"], r["label"], p))
    return out


def read_labels(path, fmt=None) -> list:
    """Read a label table file (format from the extension: ``.json``, ``.csv``, else text)."""
    import os

    from .textfiles import read_text
    text = read_text(path, error=ManifestError, what="label file")
    if fmt is None:
        ext = os.path.splitext(os.fspath(path))[1].lower()
        fmt = {".json": "json", ".csv": "csv"}.get(ext, "text")
    return parse_labels(text, fmt, source=os.fspath(path))
