"""JSON-lines dataset manifests.

A manifest is a UTF-8 text file with one JSON object per line, one line per
audio item. Every corpus audiodl writes or imports (synthetic, Debian
recordings, research corpora on disk) uses this one format, so training code
only ever reads manifests.

Required keys of an item:

``id`` : str
    Unique within the manifest.
``audio`` : str
    Audio file path, relative to the manifest's folder (absolute also allowed).
    A relative path must stay inside the manifest's folder: ``../../etc/passwd``
    is refused (:func:`read_manifest`); :func:`write_manifest` stores files
    outside the folder as absolute paths.
``duration`` : float [seconds]
``sr`` : int [Hz]
``split`` : str
    ``"train"``, ``"valid"``, ``"test"`` (or another name a corpus defines).

Common optional keys (a task uses those it needs):

``task`` : str
    ``"musicspeech"``, ``"onsets"``, ``"speech"``, ...
``labels`` : list of str
    Clip-level classes present anywhere in the item (e.g. ``["music"]``).
``text`` : str
    Exact transcript (lower case words, no punctuation).
``annotations`` : dict of str to path
    Annotation files by kind, paths relative like ``audio``:
    ``"segments"`` (``start<TAB>end<TAB>label`` .lab), ``"onsets"`` (one time
    per line), ``"sections"``, ``"vocals"``, ``"midi"`` ...
``stems`` : dict of str to path
    Separate sources of a mixture (paths relative like ``audio``).
``source`` : str
    Where the item comes from (engine, package, corpus); ``group`` : str, the
    unit that must not be split across train/test (a song, a source file).
``meta`` : dict
    Free-form generation parameters (seed, voice, program numbers, SNR ...).

:func:`read_manifest` resolves ``audio``, ``annotations`` and ``stems`` paths
to absolute paths; :func:`write_manifest` stores them relative to the
manifest's folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable

from audiodl.errors import ManifestError
from audiodl.io import annotations as _annotations

__all__ = [
    "REQUIRED_KEYS",
    "read_manifest",
    "write_manifest",
    "validate_item",
    "read_segments",
    "write_segments",
    "read_times",
    "write_times",
]

REQUIRED_KEYS = ("id", "audio", "duration", "sr", "split")
PATH_DICT_KEYS = ("annotations", "stems")


def _fail(path, line, reason):
    where = f"{os.fspath(path)}:{line}" if line is not None else os.fspath(path)
    raise ManifestError(f"{where}: {reason}")


def validate_item(item, *, path="<manifest>", line=None):
    """Check one manifest item and raise :class:`ManifestError` if malformed.

    Parameters
    ----------
    item : dict
        The decoded JSON object.
    path : str or os.PathLike
        Manifest file named in the error message.
    line : int or None
        1-based line number named in the error message.
    """
    if not isinstance(item, dict):
        _fail(path, line, f"expected a JSON object, got {type(item).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in item]
    if missing:
        _fail(path, line, f"missing required key(s) {missing} (item id={item.get('id')!r})")
    if not isinstance(item["id"], str) or not item["id"]:
        _fail(path, line, f"'id' must be a non-empty string, got {item['id']!r}")
    if not isinstance(item["audio"], str) or not item["audio"]:
        _fail(path, line, f"'audio' must be a non-empty path string, got {item['audio']!r}")
    dur = item["duration"]
    if isinstance(dur, bool) or not isinstance(dur, (int, float)) or not math.isfinite(dur) or dur < 0:
        _fail(path, line, f"'duration' must be a finite number of seconds >= 0, got {dur!r}")
    sr = item["sr"]
    if isinstance(sr, bool) or not isinstance(sr, int) or sr <= 0:
        _fail(path, line, f"'sr' must be a positive integer (Hz), got {sr!r}")
    if not isinstance(item["split"], str) or not item["split"]:
        _fail(path, line, f"'split' must be a non-empty string, got {item['split']!r}")
    for key in PATH_DICT_KEYS:
        if key in item:
            val = item[key]
            if not isinstance(val, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in val.items()
            ):
                _fail(path, line, f"'{key}' must map names to path strings, got {val!r}")
    if "labels" in item:
        lab = item["labels"]
        if not isinstance(lab, list) or not all(isinstance(x, str) for x in lab):
            _fail(path, line, f"'labels' must be a list of strings, got {lab!r}")
    if "text" in item and not isinstance(item["text"], str):
        _fail(path, line, f"'text' must be a string, got {item['text']!r}")


def _inside(root: Path, rel: str) -> bool:
    """Whether relative path ``rel`` stays inside ``root`` (lexically: no ``..`` escape)."""
    norm = os.path.normpath(os.path.join(os.fspath(root), rel))
    return norm == os.fspath(root) or norm.startswith(os.path.join(os.fspath(root), ""))


def _resolve(root: Path, p: str, *, where=None) -> str:
    if "\0" in p:
        _fail(*(where or ("<manifest>", None)), f"path {p!r} contains a NUL byte")
    q = Path(p)
    if q.is_absolute():
        return os.fspath(q)
    if not _inside(root, p):
        _fail(*(where or ("<manifest>", None)),
              f"relative path {p!r} leaves the manifest's folder (use an absolute path "
              "for files elsewhere)")
    return os.fspath(root / q)


def _relativize(root: Path, p) -> str:
    p = os.fspath(p)
    q = Path(p)
    if not q.is_absolute():
        return q.as_posix()
    try:
        rel = Path(os.path.relpath(q, root)).as_posix()
    except ValueError:  # other drive on Windows
        return q.as_posix()
    return rel if _inside(root, rel) else q.as_posix()


def read_manifest(path, *, resolve=True, check_files=False):
    """Read a JSONL manifest.

    Parameters
    ----------
    path : str or os.PathLike
        Manifest file.
    resolve : bool
        Turn ``audio``, ``annotations`` and ``stems`` paths into absolute
        paths (relative ones are relative to the manifest's folder).
    check_files : bool
        Also check that every referenced file exists.

    Returns
    -------
    items : list of dict
        One dict per non-empty line, in file order.

    Raises
    ------
    ManifestError
        Naming the file, the line and the reason: not JSON, a missing or
        ill-typed required key, a duplicate id, a missing file.
    """
    from audiodl.io.textfiles import loads_json, read_text
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{os.fspath(path)}: manifest file does not exist")
    root = path.parent.resolve()
    items = []
    seen = {}
    text = read_text(path, error=ManifestError, what="manifest")
    for lineno, raw in enumerate(text.split("\n"), start=1):
        raw = raw.strip()
        if not raw:
            continue
        item = loads_json(raw, path, error=ManifestError, line=lineno)
        validate_item(item, path=path, line=lineno)
        if item["id"] in seen:
            _fail(path, lineno, f"duplicate id {item['id']!r} (first on line {seen[item['id']]})")
        seen[item["id"]] = lineno
        if resolve or check_files:
            resolved = dict(item)
            where = (path, lineno)
            resolved["audio"] = _resolve(root, item["audio"], where=where)
            for key in PATH_DICT_KEYS:
                if key in item:
                    resolved[key] = {k: _resolve(root, v, where=where)
                                     for k, v in item[key].items()}
            if check_files:
                files = [resolved["audio"]]
                for key in PATH_DICT_KEYS:
                    files.extend(resolved.get(key, {}).values())
                for f in files:
                    if not os.path.exists(f):
                        _fail(path, lineno, f"referenced file does not exist: {f}")
            if resolve:
                item = resolved
        items.append(item)
    return items


def write_manifest(path, items: Iterable[dict]):
    """Write items to a JSONL manifest (atomically: temp file + rename).

    Paths in ``audio``, ``annotations`` and ``stems`` are stored relative to
    the manifest's folder. Items are validated first.

    Parameters
    ----------
    path : str or os.PathLike
        Output manifest file; its folder is created.
    items : iterable of dict
        Manifest items (see the module docstring).

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.parent.resolve()
    lines = []
    seen = set()
    for n, item in enumerate(items, start=1):
        item = dict(item)
        if "audio" in item:
            item["audio"] = _relativize(root, item["audio"])
        for key in PATH_DICT_KEYS:
            if key in item and isinstance(item[key], dict):
                item[key] = {k: _relativize(root, v) for k, v in item[key].items()}
        validate_item(item, path=path, line=n)
        if item["id"] in seen:
            _fail(path, n, f"duplicate id {item['id']!r}")
        seen.add(item["id"])
        lines.append(json.dumps(item, ensure_ascii=False, sort_keys=False))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    os.replace(tmp, path)
    return path


def write_segments(path, segments):
    """Write ``start<TAB>end<TAB>label`` lines (times in seconds, 6 decimals).

    The Audacity label format of :func:`audiodl.io.annotations.write_segments`.

    Parameters
    ----------
    path : str or os.PathLike
    segments : iterable of (float, float, str) or Segments
        Start and end in seconds, label.
    """
    _annotations.write_segments(path, segments, "audacity")


def read_segments(path):
    """Read a ``start end label`` file (tabs or spaces; also CSV, JSON, JAMS).

    Uses :func:`audiodl.io.annotations.read_segments` and returns its rows as
    plain tuples.

    Returns
    -------
    segments : list of (float, float, str)
        Start and end in seconds, label (``""`` when a line has none), in file order.

    Raises
    ------
    ManifestError
        For a missing file, a malformed line or ``end < start`` (file and line named).
    """
    seg = _annotations.read_segments(path)
    return [(float(s), float(e), lab) for (s, e), lab in zip(seg.intervals, seg.labels)]


def write_times(path, times):
    """Write one time in seconds per line (6 decimals).

    The MIREX event format of :func:`audiodl.io.annotations.write_events`.

    Parameters
    ----------
    path : str or os.PathLike
    times : iterable of float [seconds]
    """
    _annotations.write_events(path, [float(t) for t in times], "text", decimals=6)


def read_times(path):
    """Read one time (first column) per line, seconds; returns a sorted list.

    Uses :func:`audiodl.io.annotations.read_events`.

    Returns
    -------
    times : list of float [seconds], ascending

    Raises
    ------
    ManifestError
        For a missing file, or a line whose first field is not a time >= 0
        (file and line named).
    """
    return _annotations.read_events(path).tolist()
