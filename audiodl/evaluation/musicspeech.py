"""Music/speech evaluation: MIREX 2015 (file level) and MIREX 2018 (time resolved).

* :func:`file_accuracy` — clip classification: accuracy and confusion counts.
* :func:`frame_counts` / :func:`frame_scores` — per class, 10 ms grid:
  precision, recall, F-measure and accuracy of the class's activity
  (MIREX 2018 frame level). Classes may overlap; each is scored on its own.
* :func:`event_scores` — per class, segment (event) level: onset-only and
  onset+offset matching within a tolerance, via
  :func:`mir_eval.transcription.match_note_onsets` /
  :func:`mir_eval.transcription.match_notes` with constant pitches (maximum
  bipartite matching; an onset+offset match needs the offset within
  ``max(offset_min_tolerance, offset_ratio * reference duration)``, the
  sed_eval/DCASE rule). No sed_eval dependency.
* :func:`evaluate` — both for one file; :func:`aggregate` — over files,
  **summing** counts (frames, events) over all files before computing
  scores (micro average), and also the **mean** of per-file F-measures.

Times are in seconds everywhere.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from ..errors import ParameterError
from ..types import Segments

__all__ = ["CLASSES", "validate", "file_accuracy", "segments_to_frames", "frame_counts",
           "frame_scores", "event_counts", "event_scores", "evaluate", "aggregate"]

CLASSES = ("music", "speech")
RESOLUTION = 0.01  # seconds, the MIREX 2018 frame grid


def _as_segments(x, name) -> Segments:
    if isinstance(x, Segments):
        return x
    try:
        rows = list(x)
        iv = np.array([[float(r[0]), float(r[1])] for r in rows]).reshape(-1, 2)
        return Segments(intervals=iv, labels=tuple(str(r[2]) for r in rows))
    except (TypeError, ValueError, IndexError) as exc:
        raise ParameterError(f"{name}: expected Segments or (start, end, label) rows ({exc})") \
            from None


def validate(ref, est, *, duration: float | None = None,
             classes: Sequence[str] = CLASSES):
    """Check reference and estimated segments; return both as :class:`Segments`.

    Raises :class:`ParameterError` with a hint for the usual mistakes: negative
    or reversed intervals, labels outside ``classes``, times that look like
    frames or samples (far beyond ``duration``).
    """
    ref, est = _as_segments(ref, "reference"), _as_segments(est, "estimate")
    for name, seg in (("reference", ref), ("estimate", est)):
        iv = seg.intervals
        if len(iv) and np.any(iv < 0):
            raise ParameterError(f"{name}: negative times")
        bad = sorted(set(seg.labels) - set(classes))
        if bad:
            raise ParameterError(f"{name}: unknown labels {bad}; expected {list(classes)}")
        if duration is not None and len(iv) and iv.max() > duration * 1.5 + 1.0:
            raise ParameterError(
                f"{name}: a segment ends at {iv.max():g} but the file lasts {duration:g} s — "
                "did you pass frames or samples instead of seconds?")
    if not len(ref):
        warnings.warn("reference has no segments", stacklevel=2)
    return ref, est


def file_accuracy(reference: Sequence[str], estimated: Sequence[str]) -> dict:
    """Clip-level accuracy (MIREX 2015 music/speech classification).

    Parameters
    ----------
    reference, estimated : sequence of str
        One label per file, same order.

    Returns
    -------
    dict
        ``accuracy`` (correct / files), ``n_files``, ``n_correct``,
        ``confusion`` {ref label: {est label: count}}, and ``accuracy_<label>``
        (per-class recall).
    """
    reference, estimated = list(reference), list(estimated)
    if len(reference) != len(estimated):
        raise ParameterError(f"{len(reference)} reference labels but {len(estimated)} estimates")
    if not reference:
        raise ParameterError("no files to score")
    conf = {}
    for r, e in zip(reference, estimated):
        conf.setdefault(r, {}).setdefault(e, 0)
        conf[r][e] += 1
    n_ok = sum(r == e for r, e in zip(reference, estimated))
    out = {"accuracy": n_ok / len(reference), "n_files": len(reference), "n_correct": n_ok,
           "confusion": conf}
    for r, row in conf.items():
        out[f"accuracy_{r}"] = row.get(r, 0) / sum(row.values())
    return out


def segments_to_frames(segments, *, duration: float, classes: Sequence[str] = CLASSES,
                       resolution: float = RESOLUTION) -> np.ndarray:
    """Activity of each class on a regular grid.

    Grid point ``k`` is the time ``k * resolution`` (``k < ceil(duration /
    resolution)``); it is active when some segment of the class has
    ``start <= t < end``.

    Returns
    -------
    np.ndarray [shape=(n_points, n_classes)], bool
    """
    seg = _as_segments(segments, "segments")
    n = int(np.ceil(round(duration / resolution, 6)))
    t = np.arange(n) * resolution
    out = np.zeros((n, len(classes)), dtype=bool)
    for (s, e), lab in zip(seg.intervals, seg.labels):
        if lab in classes:
            out[(t >= s - 1e-9) & (t < e - 1e-9), classes.index(lab)] = True
    return out


def frame_counts(ref, est, *, duration: float, classes: Sequence[str] = CLASSES,
                 resolution: float = RESOLUTION) -> dict:
    """True/false positive/negative frame counts per class (summable over files)."""
    ref, est = validate(ref, est, duration=duration, classes=classes)
    r = segments_to_frames(ref, duration=duration, classes=classes, resolution=resolution)
    e = segments_to_frames(est, duration=duration, classes=classes, resolution=resolution)
    out = {}
    for c, name in enumerate(classes):
        out[name] = {"tp": int(np.sum(r[:, c] & e[:, c])), "fp": int(np.sum(~r[:, c] & e[:, c])),
                     "fn": int(np.sum(r[:, c] & ~e[:, c])),
                     "tn": int(np.sum(~r[:, c] & ~e[:, c]))}
    return out


def _prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    r = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _scores_from_frame_counts(counts: dict) -> dict:
    out, accs = {}, []
    for name, c in counts.items():
        p, r, f = _prf(c["tp"], c["fp"], c["fn"])
        n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
        acc = (c["tp"] + c["tn"]) / n if n else 1.0
        out.update({f"{name}_precision": p, f"{name}_recall": r, f"{name}_f": f,
                    f"{name}_accuracy": acc})
        accs.append(acc)
    out["accuracy"] = float(np.mean(accs)) if accs else 1.0
    return out


def frame_scores(ref, est, *, duration: float, classes: Sequence[str] = CLASSES,
                 resolution: float = RESOLUTION) -> dict:
    """MIREX 2018 frame-level scores of one file.

    Returns
    -------
    dict
        ``<class>_precision``, ``<class>_recall``, ``<class>_f``,
        ``<class>_accuracy`` for every class and ``accuracy`` (mean of the
        per-class accuracies).
    """
    return _scores_from_frame_counts(frame_counts(ref, est, duration=duration, classes=classes,
                                                  resolution=resolution))


def event_counts(ref, est, *, classes: Sequence[str] = CLASSES, onset_tolerance: float = 0.5,
                 offset_ratio: float = 0.2, offset_min_tolerance: float = 0.5) -> dict:
    """Matched events per class: ``n_ref``, ``n_est``, ``onset_hits``, ``onoff_hits``."""
    from mir_eval.transcription import match_note_onsets, match_notes

    ref, est = validate(ref, est, classes=classes)
    out = {}
    for name in classes:
        r, e = ref.of(name), est.of(name)
        hits_on = hits_onoff = 0
        if len(r) and len(e):
            rp, ep = np.full(len(r), 440.0), np.full(len(e), 440.0)
            hits_on = len(match_note_onsets(r, e, onset_tolerance=onset_tolerance, strict=False))
            hits_onoff = len(match_notes(r, rp, e, ep, onset_tolerance=onset_tolerance,
                                         pitch_tolerance=50.0, offset_ratio=offset_ratio,
                                         offset_min_tolerance=offset_min_tolerance,
                                         strict=False))
        out[name] = {"n_ref": len(r), "n_est": len(e), "onset_hits": hits_on,
                     "onoff_hits": hits_onoff}
    return out


def _scores_from_event_counts(counts: dict) -> dict:
    out = {}
    for name, c in counts.items():
        for kind in ("onset", "onoff"):
            h = c[f"{kind}_hits"]
            p, r, f = _prf(h, c["n_est"] - h, c["n_ref"] - h)
            out.update({f"{name}_{kind}_precision": p, f"{name}_{kind}_recall": r,
                        f"{name}_{kind}_f": f})
    return out


def event_scores(ref, est, *, classes: Sequence[str] = CLASSES, onset_tolerance: float = 0.5,
                 offset_ratio: float = 0.2, offset_min_tolerance: float = 0.5) -> dict:
    """Event-level (segment) scores of one file.

    Parameters
    ----------
    onset_tolerance : float [seconds]
        Maximum onset distance of a match.
    offset_ratio, offset_min_tolerance : float, float [seconds]
        For onset+offset matches the offset must lie within
        ``max(offset_min_tolerance, offset_ratio * reference duration)``.

    Returns
    -------
    dict
        ``<class>_onset_{precision,recall,f}`` and ``<class>_onoff_{precision,recall,f}``.
    """
    return _scores_from_event_counts(event_counts(
        ref, est, classes=classes, onset_tolerance=onset_tolerance, offset_ratio=offset_ratio,
        offset_min_tolerance=offset_min_tolerance))


def evaluate(ref, est, *, duration: float, classes: Sequence[str] = CLASSES,
             resolution: float = RESOLUTION, onset_tolerance: float = 0.5,
             offset_ratio: float = 0.2, offset_min_tolerance: float = 0.5) -> dict:
    """Frame- and event-level scores of one file (see :func:`frame_scores`, :func:`event_scores`).

    The returned dict also holds the raw ``counts`` so files can be summed by
    :func:`aggregate`.
    """
    fc = frame_counts(ref, est, duration=duration, classes=classes, resolution=resolution)
    ec = event_counts(ref, est, classes=classes, onset_tolerance=onset_tolerance,
                      offset_ratio=offset_ratio, offset_min_tolerance=offset_min_tolerance)
    out = _scores_from_frame_counts(fc)
    out.update(_scores_from_event_counts(ec))
    out["counts"] = {"frames": fc, "events": ec}
    return out


def aggregate(results: Sequence[dict]) -> dict:
    """Combine per-file :func:`evaluate` results.

    Scores are computed from frame and event counts **summed over all files**
    (every frame and every event weighs the same: the MIREX convention).
    ``mean_<class>_f`` adds the unweighted **mean over files** of the
    per-file frame F-measure, and ``n_files`` the number of files.
    """
    if not results:
        raise ParameterError("aggregate: no results")
    frames, events = {}, {}
    for res in results:
        for name, c in res["counts"]["frames"].items():
            acc = frames.setdefault(name, dict.fromkeys(c, 0))
            for k, v in c.items():
                acc[k] += v
        for name, c in res["counts"]["events"].items():
            acc = events.setdefault(name, dict.fromkeys(c, 0))
            for k, v in c.items():
                acc[k] += v
    out = _scores_from_frame_counts(frames)
    out.update(_scores_from_event_counts(events))
    for name in frames:
        out[f"mean_{name}_f"] = float(np.mean([r[f"{name}_f"] for r in results]))
    out["n_files"] = len(results)
    return out
