"""File-level labels as a table: text (TSV), CSV or JSON.

One row per file: ``source, label, probabilities``. Used by file
classification (``audiodl classify``).
"""

from __future__ import annotations

import csv
import io
import json

from ..errors import ParameterError

__all__ = ["format_labels", "parse_labels", "LABEL_FORMATS"]

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


def parse_labels(text: str, fmt: str = "text") -> list:
    """Inverse of :func:`format_labels`: ``[(source, label, probability)]``."""
    if fmt == "json":
        return [(r["path"], r["label"], float(r["probability"])) for r in json.loads(text)]
    if fmt == "csv":
        rd = csv.DictReader(io.StringIO(text))
        return [(r["path"], r["label"], float(r["probability"])) for r in rd]
    if fmt == "text":
        out = []
        for line in text.splitlines():
            if line.strip() and not line.startswith("#"):
                s, lab, p = line.rsplit("\t", 2)
                out.append((s, lab, float(p)))
        return out
    raise ParameterError(f"unknown label format {fmt!r}; known: {LABEL_FORMATS}")
