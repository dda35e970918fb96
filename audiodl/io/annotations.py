"""Annotation formats: MIREX event lists and .lab segments, Audacity labels, CSV, JSON, JAMS.

Readers validate and raise :class:`~audiodl.errors.ManifestError` naming the
file, the line and the reason. JAMS files are written as plain JSON following
the JAMS schema (``file_metadata`` + one annotation with a namespace), which
is enough for ``jams.load``; the ``jams`` package itself pulls in pandas and
is not a dependency.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Optional

import numpy as np

from ..errors import ManifestError
from ..types import Events, Segments

__all__ = ["read_events", "write_events", "format_events", "read_segments",
           "write_segments", "format_segments", "parse_segments", "parse_events",
           "SEGMENT_FORMATS", "EVENT_FORMATS"]

EVENT_FORMATS = ("text", "json", "csv", "jams")
SEGMENT_FORMATS = ("mirex", "audacity", "csv", "json", "jams")


# ------------------------------------------------------------------ events
def format_events(times, fmt: str = "text", *, namespace: str = "onset",
                  duration: Optional[float] = None, source: Optional[str] = None) -> str:
    """Render event times [s] as text (one per line, MIREX), JSON, CSV or JAMS."""
    times = np.asarray(times, dtype=float).ravel()
    if fmt == "text":
        return "".join(f"{t:.3f}\n" for t in times)
    if fmt == "csv":
        return "time\n" + "".join(f"{t:.3f}\n" for t in times)
    if fmt == "json":
        return json.dumps({"path": source, "times": [round(float(t), 5) for t in times]}) + "\n"
    if fmt == "jams":
        data = [{"time": float(t), "duration": 0.0, "value": None, "confidence": None}
                for t in times]
        return _jams(namespace, data, duration, source)
    raise ManifestError(f"unknown event format {fmt!r}; choose from {EVENT_FORMATS}")


def write_events(path, times, fmt: str = "text", **kw) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(format_events(times, fmt, **kw))


def parse_events(text: str, *, source: str = "<text>") -> np.ndarray:
    """Parse one-time-per-line text (first column; ``#`` comments, blank lines ignored)."""
    times = []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.lower() == "time":
            continue
        tok = s.replace(",", " ").split()[0]
        try:
            t = float(tok)
        except ValueError:
            raise ManifestError(f"{source}:{i}: not a time in seconds: {tok!r}") from None
        if not np.isfinite(t) or t < 0:
            raise ManifestError(f"{source}:{i}: invalid time {t}")
        times.append(t)
    return np.sort(np.array(times, dtype=float))


def read_events(path) -> np.ndarray:
    """Read a MIREX-style event file (e.g. ``.onsets``) -> sorted times [s]."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ManifestError(f"{path}: annotation file not found")
    with open(path, encoding="utf-8") as f:
        return parse_events(f.read(), source=path)


# ---------------------------------------------------------------- segments
def format_segments(segments: Segments, fmt: str = "mirex", *, namespace: str = "segment_open",
                    duration: Optional[float] = None, source: Optional[str] = None,
                    tool: str = "audiodl") -> str:
    """Render segments as MIREX .lab (``start\\tend\\tlabel``), Audacity labels, CSV, JSON or JAMS."""
    rows = [(float(s), float(e), str(lab)) for (s, e), lab in
            zip(segments.intervals, segments.labels)]
    if fmt in ("mirex", "audacity"):
        prec = 3 if fmt == "mirex" else 6
        return "".join(f"{s:.{prec}f}\t{e:.{prec}f}\t{lab}\n" for s, e, lab in rows)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["start", "end", "label"])
        for s, e, lab in rows:
            w.writerow([f"{s:.3f}", f"{e:.3f}", lab])
        return buf.getvalue()
    if fmt == "json":
        return json.dumps({"path": source, "segments": [
            {"start": round(s, 3), "end": round(e, 3), "label": lab} for s, e, lab in rows]},
            indent=2) + "\n"
    if fmt == "jams":
        data = [{"time": round(s, 3), "duration": round(e - s, 3), "value": lab,
                 "confidence": None} for s, e, lab in rows]
        if duration is None:
            duration = max((e for _, e, _ in rows), default=0.0)
        return _jams(namespace, data, duration, source, tool=tool)
    raise ManifestError(f"unknown segment format {fmt!r}; choose from {SEGMENT_FORMATS}")


def write_segments(path, segments: Segments, fmt: str = "mirex", **kw) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(format_segments(segments, fmt, **kw))


def parse_segments(text: str, *, source: str = "<text>") -> Segments:
    """Parse ``start end label`` lines (tab or space separated; MIREX .lab, Audacity, CSV)."""
    ivs, labels = [], []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.lower().startswith("start"):
            continue
        if s.startswith("\\"):  # Audacity spectral-selection line
            continue
        parts = s.split("\t") if "\t" in s else (s.split(",") if "," in s else s.split(None, 2))
        if len(parts) < 2:
            raise ManifestError(f"{source}:{i}: expected 'start end [label]', got {s!r}")
        try:
            a, b = float(parts[0]), float(parts[1])
        except ValueError:
            raise ManifestError(f"{source}:{i}: start/end are not numbers: {s!r}") from None
        if b < a:
            raise ManifestError(f"{source}:{i}: segment ends ({b}) before it starts ({a})")
        ivs.append((a, b))
        labels.append(parts[2].strip() if len(parts) > 2 else "")
    return Segments(np.array(ivs, dtype=float).reshape(-1, 2), tuple(labels))


def read_segments(path) -> Segments:
    """Read a MIREX .lab / Audacity label / CSV segment file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ManifestError(f"{path}: annotation file not found")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".jams") or text.lstrip().startswith("{"):
        try:
            d = json.loads(text)
            ann = d["annotations"][0]["data"]
            return Segments(np.array([[r["time"], r["time"] + r["duration"]] for r in ann],
                                     dtype=float).reshape(-1, 2),
                            tuple(str(r["value"]) for r in ann))
        except (KeyError, IndexError, json.JSONDecodeError) as exc:
            raise ManifestError(f"{path}: not a JAMS segment file ({exc})") from None
    return parse_segments(text, source=path)


def _jams(namespace, data, duration, source, *, tool: str = "audiodl") -> str:
    doc = {
        "file_metadata": {"title": os.path.basename(source) if source else "",
                          "artist": "", "release": "", "duration": duration,
                          "identifiers": {}, "jams_version": "0.3.4"},
        "annotations": [{
            "namespace": namespace, "data": data,
            "annotation_metadata": {"annotation_tools": tool, "corpus": "",
                                    "version": "", "annotator": {}, "data_source": "",
                                    "curator": {"name": "", "email": ""},
                                    "validation": "", "annotation_rules": ""},
            "sandbox": {}, "time": 0, "duration": duration}],
        "sandbox": {},
    }
    return json.dumps(doc, indent=2) + "\n"


def events_from(times) -> Events:
    return Events(np.asarray(times, dtype=float))
