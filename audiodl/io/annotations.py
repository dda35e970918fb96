"""Annotation formats: the one place events and segments are read and written.

Events (instantaneous times: onsets, beats, boundaries) and segments
(labelled intervals) share one JAMS writer and one set of readers:

=========  =====================================================  ===========
format     events                                                 segments
=========  =====================================================  ===========
text       MIREX: one time per line (``%.3f`` by default)          --
mirex      --                                                     ``start<TAB>end<TAB>label`` (``%.3f``)
audacity   --                                                     Audacity labels (``%.6f``)
csv        ``time`` header, one time per line                      ``start,end,label`` header + rows
json       ``{"source", <key>: [...], "duration", ...}``           ``{"path", "segments": [...]}``
jams       one annotation (namespace ``onset``, ...)               one annotation (``segment_open``, ...)
=========  =====================================================  ===========

Times are in seconds everywhere. Readers validate and raise
:class:`~audiodl.errors.ManifestError` naming the file, the line and the
reason. JAMS files are written as plain JSON following the JAMS 0.3 schema
(``file_metadata`` + one annotation with a namespace), which ``jams.load``
reads; the ``jams`` package itself pulls in pandas and is not a dependency.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from typing import Optional

import numpy as np

from ..errors import ManifestError, ParameterError
from ..types import Segments

__all__ = ["EVENT_FORMATS", "SEGMENT_FORMATS", "format_events", "write_events", "parse_events",
           "read_events", "format_segments", "write_segments", "parse_segments",
           "read_segments", "format_jams"]

EVENT_FORMATS = ("text", "csv", "json", "jams")
SEGMENT_FORMATS = ("mirex", "audacity", "csv", "json", "jams")
JAMS_VERSION = "0.3.4"


# -------------------------------------------------------------------- JAMS
def format_jams(namespace: str, data: list, *, duration: Optional[float],
                source: Optional[str] = None, tool: str = "audiodl",
                sandbox: Optional[dict] = None) -> str:
    """Render one JAMS annotation (the single JAMS writer for events and segments).

    Parameters
    ----------
    namespace : str
        JAMS namespace, e.g. ``'onset'``, ``'beat'``, ``'segment_open'``.
    data : list of dict
        Observations with keys ``time`` [s], ``duration`` [s], ``value``,
        ``confidence``.
    duration : float or None [seconds]
        Audio duration (``file_metadata.duration`` and the annotation's duration).
    source : str or None
        Audio file; its base name becomes ``file_metadata.title``.
    tool : str
        ``annotation_metadata.annotation_tools``, e.g. ``"audiodl 0.1.0 (cnn)"``.
    sandbox : dict or None
        Free-form annotation ``sandbox`` (e.g. decoder parameters); must be
        JSON-serialisable.

    Returns
    -------
    str
        The JSON document (2-space indent) ending with a newline.
    """
    from .. import __version__

    doc = {
        "file_metadata": {"title": os.path.basename(os.fspath(source)) if source else "",
                          "artist": "", "release": "", "duration": duration,
                          "identifiers": {}, "jams_version": JAMS_VERSION},
        "annotations": [{
            "namespace": namespace, "data": data,
            "annotation_metadata": {"annotation_tools": tool, "corpus": "",
                                    "version": __version__, "annotator": {},
                                    "data_source": "program",
                                    "curator": {"name": "", "email": ""},
                                    "validation": "", "annotation_rules": ""},
            "sandbox": dict(sandbox or {}), "time": 0.0, "duration": duration}],
        "sandbox": {},
    }
    return json.dumps(doc, indent=2) + "\n"


def _jams_annotation(doc, namespace: Optional[str], source: str) -> list:
    """Observations of the first annotation (with ``namespace`` if given) as a list of dicts."""
    anns = doc.get("annotations") if isinstance(doc, dict) else None
    if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
        raise ManifestError(f"{source}: not a JAMS file (expected an object whose "
                            "'annotations' is a list of objects)")
    if namespace is not None:
        found = [a for a in anns if a.get("namespace") == namespace]
        if not found:
            have = sorted({str(a.get("namespace")) for a in anns})
            raise ManifestError(f"{source}: no JAMS annotation with namespace "
                                f"{namespace!r} (found {have})")
        anns = found
    if not anns or "data" not in anns[0]:
        raise ManifestError(f"{source}: not a JAMS file (no annotation with 'data')")
    data = anns[0]["data"]
    if isinstance(data, dict):  # JAMS 0.2 column layout: {"time": [...], "duration": [...]}
        if not all(isinstance(v, list) for v in data.values()):
            raise ManifestError(f"{source}: JAMS column data must be lists")
        keys = list(data)
        data = [dict(zip(keys, row)) for row in zip(*(data[k] for k in keys))]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ManifestError(f"{source}: JAMS 'data' must be a list of observations "
                            "({time, duration, value, confidence})")
    return data


def _load_json(text: str, source: str):
    from .textfiles import loads_json
    return loads_json(text, source, error=ManifestError)


# ------------------------------------------------------------------ events
def format_events(times, fmt: str = "text", *, confidence=None,
                  duration: Optional[float] = None, source: Optional[str] = None,
                  namespace: str = "onset", key: str = "times", tool: str = "audiodl",
                  sandbox: Optional[dict] = None, extra: Optional[dict] = None,
                  decimals: int = 3) -> str:
    """Render event times as MIREX text, CSV, JSON or JAMS.

    Parameters
    ----------
    times : array-like [shape=(n,)], float [seconds]
        Written in the given order.
    fmt : {'text', 'csv', 'json', 'jams'}
        ``text``: one time per line (MIREX); ``csv``: a ``time`` header line, then
        the same; ``json``: ``{"source", <key>, ["confidence"], "duration", **extra}``
        (1-space indent, times rounded to 6 decimals); ``jams``: one annotation
        in ``namespace`` whose observations have ``duration`` 0, ``value`` None.
    confidence : array-like [shape=(n,)], float, or None
        Per-event confidence (JAMS ``confidence``; JSON ``confidence`` list when given).
    duration : float or None [seconds]
        Audio duration (JSON ``duration``, JAMS ``file_metadata``); JAMS falls
        back to the last event time.
    source : str or None
        Audio file the events belong to.
    namespace : str
        JAMS namespace (``'onset'``, ``'beat'``, ``'segment_open'`` ...).
    key : str
        JSON field holding the times (``'times'``; ``'onsets'`` for onset output).
    tool : str
        JAMS ``annotation_tools`` (e.g. ``"audiodl 0.1.0 (cnn)"``).
    sandbox : dict or None
        JAMS annotation ``sandbox`` (e.g. ``{"params": {...}}``).
    extra : dict or None
        Further top-level JSON fields (e.g. ``method``, ``fps``, ``params``).
    decimals : int
        Digits after the decimal point in ``text`` and ``csv`` (3: milliseconds).

    Returns
    -------
    str
        Ends with a newline (the empty string for no events in ``text``).

    Raises
    ------
    ParameterError
        Unknown format, a ``confidence`` of the wrong length, or ``extra``
        overwriting one of the fixed JSON fields.
    """
    times = np.asarray(times, dtype=np.float64).ravel()
    conf = None
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64).ravel()
        if len(conf) != len(times):
            raise ParameterError(f"confidence has {len(conf)} values for {len(times)} events")
    if fmt == "text":
        return "".join(f"{t:.{decimals}f}\n" for t in times)
    if fmt == "csv":
        return "time\n" + "".join(f"{t:.{decimals}f}\n" for t in times)
    if fmt == "json":
        doc = {"source": source, key: [round(float(t), 6) for t in times]}
        if conf is not None:
            doc["confidence"] = [float(c) for c in conf]
        doc["duration"] = None if duration is None else float(duration)
        clash = sorted(set(extra or {}) & set(doc))
        if clash:
            raise ParameterError(f"extra JSON fields {clash} would overwrite fixed fields")
        doc.update(extra or {})
        return json.dumps(doc, indent=1) + "\n"
    if fmt == "jams":
        cs = [None] * len(times) if conf is None else [float(c) for c in conf]
        data = [{"time": float(t), "duration": 0.0, "value": None, "confidence": c}
                for t, c in zip(times, cs)]
        if duration is None:
            duration = float(times.max()) if len(times) else 0.0
        return format_jams(namespace, data, duration=float(duration), source=source,
                           tool=tool, sandbox=sandbox)
    raise ParameterError(f"unknown event format {fmt!r}; choose from {EVENT_FORMATS}")


def write_events(path, times, fmt: str = "text", *, confidence=None,
                 duration: Optional[float] = None, source: Optional[str] = None,
                 namespace: str = "onset", key: str = "times", tool: str = "audiodl",
                 sandbox: Optional[dict] = None, extra: Optional[dict] = None,
                 decimals: int = 3) -> None:
    """Write :func:`format_events` output to ``path`` (UTF-8); same parameters."""
    text = format_events(times, fmt, confidence=confidence, duration=duration, source=source,
                         namespace=namespace, key=key, tool=tool, sandbox=sandbox,
                         extra=extra, decimals=decimals)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _number(x) -> float:
    """A JSON number as float (not a bool, string or null)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"expected a number, got {x!r}"[:120])
    return float(x)


def _check_time(t: float, where: str) -> float:
    if not np.isfinite(t) or t < 0:
        raise ManifestError(f"{where}: invalid time {t} (must be finite and >= 0 seconds)")
    return t


def parse_events(text: str, fmt: str = "text", *, source: str = "<text>",
                 key: Optional[str] = None, namespace: Optional[str] = None) -> np.ndarray:
    """Parse event times written by :func:`format_events` (or by hand, or by other tools).

    Parameters
    ----------
    text : str
    fmt : {'text', 'csv', 'json', 'jams'}
        ``text`` and ``csv`` read the first column of every line (space, tab
        or comma separated; ``#`` comments, blank lines and a ``time`` header
        are skipped), so MIREX onset/beat files with extra columns work too.
    source : str
        File name used in error messages.
    key : str or None
        JSON field holding the times; ``None`` takes ``times``, else ``onsets``.
    namespace : str or None
        JAMS: read the first annotation in this namespace (``None``: the first one).

    Returns
    -------
    np.ndarray [shape=(n,)], float64 [seconds], ascending

    Raises
    ------
    ManifestError
        Naming ``source`` (and the line): not a number, negative or non-finite
        time, malformed JSON/JAMS.
    """
    if fmt in ("text", "csv"):
        times = []
        for i, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("#") or s.lower() == "time" or s.lower().startswith("time,"):
                continue
            toks = s.replace(",", " ").split()
            if not toks:
                raise ManifestError(f"{source}:{i}: expected a time in seconds, got {s!r}")
            tok = toks[0]
            try:
                t = float(tok)
            except ValueError:
                raise ManifestError(f"{source}:{i}: not a time in seconds: {tok!r}") from None
            times.append(_check_time(t, f"{source}:{i}"))
    elif fmt == "json":
        doc = _load_json(text, source)
        keys = (key,) if key is not None else ("times", "onsets")
        found = [k for k in keys if isinstance(doc, dict) and k in doc]
        if not found:
            have = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
            raise ManifestError(f"{source}: no event list under {' or '.join(keys)!s} "
                                f"(found {have})")
        try:
            if isinstance(doc[found[0]], (str, dict)):
                raise TypeError
            times = [_number(t) for t in doc[found[0]]]
        except (TypeError, ValueError, OverflowError):
            raise ManifestError(f"{source}: {found[0]!r} must be a list of times in "
                                "seconds") from None
        times = [_check_time(t, f"{source}: {found[0]}[{i}]") for i, t in enumerate(times)]
    elif fmt == "jams":
        data = _jams_annotation(_load_json(text, source), namespace, source)
        try:
            times = [_number(r["time"]) for r in data]
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ManifestError(f"{source}: JAMS observation without a numeric time "
                                f"({exc})") from None
        times = [_check_time(t, f"{source}: observation {i}") for i, t in enumerate(times)]
    else:
        raise ParameterError(f"unknown event format {fmt!r}; choose from {EVENT_FORMATS}")
    return np.sort(np.array(times, dtype=np.float64))


def _json_kind(text: str) -> str:
    """``'jams'`` for a JSON object with ``annotations``, else ``'json'``."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return "json"  # the reader reports the error with its line
    return "jams" if isinstance(doc, dict) and "annotations" in doc else "json"


def _format_from_path(path: str, text: str) -> Optional[str]:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".jams":
        return "jams"
    if ext == ".json" or text.lstrip().startswith("{"):
        return _json_kind(text)
    return None


def _read_text(path) -> tuple[str, str]:
    from .textfiles import read_text
    path = os.fspath(path)
    return path, read_text(path, error=ManifestError, what="annotation file")


def read_events(path, fmt: Optional[str] = None, *, key: Optional[str] = None,
                namespace: Optional[str] = None) -> np.ndarray:
    """Read an event file (MIREX ``.onsets``/``.beats`` text, CSV, JSON or JAMS).

    Parameters
    ----------
    path : str or os.PathLike
    fmt : {'text', 'csv', 'json', 'jams'} or None
        ``None``: JAMS for ``.jams``, JSON/JAMS for ``.json`` or text starting
        with ``{``, else text.
    key, namespace : str or None
        See :func:`parse_events`.

    Returns
    -------
    np.ndarray [shape=(n,)], float64 [seconds], ascending

    Raises
    ------
    ManifestError
        Missing or unreadable file, or a malformed line (file and line named).
    """
    path, text = _read_text(path)
    fmt = fmt or _format_from_path(path, text) or "text"
    return parse_events(text, fmt, source=path, key=key, namespace=namespace)


# ---------------------------------------------------------------- segments
def _as_segments(segments) -> Segments:
    if isinstance(segments, Segments):
        return segments
    try:
        rows = [(float(s), float(e), str(lab)) for s, e, lab in segments]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"expected Segments or (start, end, label) rows ({exc})") from None
    return Segments(np.array([r[:2] for r in rows], dtype=np.float64).reshape(-1, 2),
                    tuple(r[2] for r in rows))


def format_segments(segments, fmt: str = "mirex", *, duration: Optional[float] = None,
                    source: Optional[str] = None, namespace: str = "segment_open",
                    tool: str = "audiodl", sandbox: Optional[dict] = None) -> str:
    """Render labelled segments as MIREX .lab, Audacity labels, CSV, JSON or JAMS.

    Parameters
    ----------
    segments : Segments or iterable of (start, end, label)
        Times in seconds.
    fmt : {'mirex', 'audacity', 'csv', 'json', 'jams'}
        ``mirex``: ``start<TAB>end<TAB>label`` with 3 decimals; ``audacity``:
        the same with 6 decimals; ``csv``: ``start,end,label`` header + rows
        (3 decimals); ``json``: ``{"path", "segments": [{start, end, label}]}``;
        ``jams``: observations ``time``, ``duration``, ``value`` = label.
    duration : float or None [seconds]
        Audio duration (JAMS); default: the last segment end.
    source : str or None
        Audio file (JSON ``path``, JAMS title).
    namespace : str
        JAMS namespace.
    tool : str
        JAMS ``annotation_tools``.
    sandbox : dict or None
        JAMS annotation ``sandbox``.

    Returns
    -------
    str
    """
    seg = _as_segments(segments)
    rows = [(float(s), float(e), str(lab)) for (s, e), lab in zip(seg.intervals, seg.labels)]
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
        return format_jams(namespace, data, duration=float(duration), source=source,
                           tool=tool, sandbox=sandbox)
    raise ParameterError(f"unknown segment format {fmt!r}; choose from {SEGMENT_FORMATS}")


def write_segments(path, segments, fmt: str = "mirex", *, duration: Optional[float] = None,
                   source: Optional[str] = None, namespace: str = "segment_open",
                   tool: str = "audiodl", sandbox: Optional[dict] = None) -> None:
    """Write :func:`format_segments` output to ``path`` (UTF-8); same parameters."""
    text = format_segments(segments, fmt, duration=duration, source=source,
                           namespace=namespace, tool=tool, sandbox=sandbox)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# start, end and the rest of the line, separated by whitespace or a comma
_ROW = re.compile(r"^\s*([^\s,]+)\s*(?:,\s*|\s+)([^\s,]+)(?:\s*,\s*|\s+)?(.*)$")


def _split_row(s: str):
    if "\t" in s:
        parts = [p.strip() for p in s.split("\t", 2)]
        return parts if len(parts) == 3 else parts + [""]
    m = _ROW.match(s)
    if m is None:
        return None
    a, b, label = m.group(1), m.group(2), m.group(3).strip()
    if label.startswith('"'):  # quoted CSV field
        label = next(csv.reader([label]))[0]
    return [a, b, label]


def parse_segments(text: str, fmt: Optional[str] = None, *, source: str = "<text>",
                   namespace: Optional[str] = None) -> Segments:
    """Parse labelled segments (MIREX .lab, Audacity labels, CSV, JSON or JAMS).

    Parameters
    ----------
    text : str
    fmt : {'mirex', 'audacity', 'csv', 'json', 'jams'} or None
        The three text formats are read alike: ``start end [label]`` per
        line, tab, space or comma separated (the label may contain spaces;
        after a tab, everything up to the end of the line). Blank lines,
        ``#`` comments, a ``start`` header and Audacity's ``\\`` frequency
        lines are skipped; a missing label reads as ``""``. ``None``: JSON or
        JAMS when the text starts with ``{``, else text.
    source : str
        File name used in error messages.
    namespace : str or None
        JAMS: read the first annotation in this namespace (``None``: the first one).

    Returns
    -------
    Segments
        In file order.

    Raises
    ------
    ManifestError
        Naming ``source`` and the line: fewer than two fields, non-numeric
        times, or a segment that ends before it starts.
    """
    if fmt is None:
        fmt = _json_kind(text) if text.lstrip().startswith("{") else "mirex"
    if fmt == "json":
        doc = _load_json(text, source)
        try:
            if not isinstance(doc["segments"], list):
                raise TypeError("'segments' is not a list")
            rows = [(_number(r["start"]), _number(r["end"]), str(r["label"]))
                    for r in doc["segments"]]
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ManifestError(f"{source}: not a JSON segment file (expected "
                                f"segments: [{{start, end, label}}], {exc})") from None
        return _checked_segments(rows, source)
    if fmt == "jams":
        data = _jams_annotation(_load_json(text, source), namespace, source)
        try:
            rows = [(_number(r["time"]), _number(r["time"]) + _number(r["duration"]),
                     "" if r.get("value") is None else str(r["value"])) for r in data]
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ManifestError(f"{source}: JAMS observation without numeric time/duration "
                                f"({exc})") from None
        return _checked_segments(rows, source)
    if fmt not in ("mirex", "audacity", "csv"):
        raise ParameterError(f"unknown segment format {fmt!r}; choose from {SEGMENT_FORMATS}")
    rows, lines = [], []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.lower().startswith("start") or s.startswith("\\"):
            continue
        parts = _split_row(s)
        if parts is None or not parts[1]:
            raise ManifestError(f"{source}:{i}: expected 'start end [label]', got {s!r}")
        try:
            a, b = float(parts[0]), float(parts[1])
        except ValueError:
            raise ManifestError(f"{source}:{i}: start/end are not numbers: {s!r}") from None
        rows.append((a, b, parts[2]))
        lines.append(i)
    return _checked_segments(rows, source, lines)


def _checked_segments(rows, source, lines=None) -> Segments:
    for n, (a, b, _) in enumerate(rows):
        where = f"{source}:{lines[n]}" if lines else f"{source}: segment {n}"
        if not (np.isfinite(a) and np.isfinite(b)) or a < 0:
            raise ManifestError(f"{where}: times must be finite and >= 0 seconds, got {a}, {b}")
        if b < a:
            raise ManifestError(f"{where}: segment ends before it starts (start {a} > end {b})")
    return Segments(np.array([r[:2] for r in rows], dtype=np.float64).reshape(-1, 2),
                    tuple(r[2] for r in rows))


def read_segments(path, fmt: Optional[str] = None, *,
                  namespace: Optional[str] = None) -> Segments:
    """Read a segment file (MIREX .lab, Audacity labels, CSV, JSON or JAMS).

    Parameters
    ----------
    path : str or os.PathLike
    fmt : {'mirex', 'audacity', 'csv', 'json', 'jams'} or None
        ``None``: from the extension (``.jams``, ``.json``) or the content
        (text starting with ``{``), else the text formats.
    namespace : str or None
        See :func:`parse_segments`.

    Returns
    -------
    Segments

    Raises
    ------
    ManifestError
        Missing or unreadable file, or a malformed line (file and line named).
    """
    path, text = _read_text(path)
    fmt = fmt or _format_from_path(path, text)
    return parse_segments(text, fmt, source=path, namespace=namespace)
