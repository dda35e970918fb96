"""Singing-voice detection scores: frame-wise, as in Schlüter & Grill (ISMIR 2015).

Reference and estimate are segments in seconds; both are sampled on a regular
grid (default 70 points per second, the rate of the published protocol) with
:func:`audiodl.evaluation.musicspeech.segments_to_frames`, and a grid point is
"singing" when a ``singing`` segment covers it. Jamendo-style ``.lab`` rows
(``sing`` / ``nosing``) are accepted as references: ``sing`` counts as
singing, ``nosing`` (and any other label) as its absence.

* :func:`frame_counts` — true/false positive/negative counts of one file
  (summable over files);
* :func:`scores_from_counts` — error, accuracy, precision, recall,
  specificity, F1 and false-positive rate from counts;
* :func:`evaluate` — both for one file; :func:`aggregate` — over files,
  **summing** counts before computing scores (micro average), as the
  published figures do; per-file error means are added as ``mean_error``;
* :func:`join_gaps` — a label convention: ``singing`` segments separated by
  gaps of at most ``max_gap`` seconds joined into one (phrase-level labels
  like Jamendo's from note-level ones); ``evaluate(..., join_gap=S)`` applies
  it to the reference.

Times are in seconds everywhere.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ParameterError
from ..types import Segments

__all__ = ["LABEL", "RESOLUTION", "as_reference", "join_gaps", "frame_counts",
           "scores_from_counts", "evaluate", "aggregate"]

LABEL = "singing"
#: grid step [s]: 70 frames per second (the svd_schlueter front end)
RESOLUTION = 1.0 / 70.0
_POSITIVE = ("singing", "sing")


def as_reference(segments) -> Segments:
    """``singing`` segments of ``segments`` (``sing`` renamed; other labels dropped).

    Parameters
    ----------
    segments : Segments or iterable of (start, end, label) [seconds]
    """
    if isinstance(segments, Segments):
        seg = segments
    else:
        try:
            rows = [(float(a), float(b), str(lab)) for a, b, lab in segments]
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"expected Segments or (start, end, label) rows in seconds "
                                 f"({exc})") from None
        seg = Segments(intervals=np.array([r[:2] for r in rows]).reshape(-1, 2),
                       labels=tuple(r[2] for r in rows))
    keep = [i for i, lab in enumerate(seg.labels) if lab in _POSITIVE]
    return Segments(intervals=seg.intervals[keep], labels=(LABEL,) * len(keep))


def join_gaps(segments, max_gap: float) -> Segments:
    """``singing`` segments with the gaps of at most ``max_gap`` seconds between them closed.

    A label convention, not a decoder: the synthetic corpora mark every rest
    longer than 0.1 s between sung notes as ``nosing``, while Jamendo's
    annotations mark sung phrases. ``join_gaps(ref, 0.5)`` turns the former
    into phrase-level labels; gaps before the first and after the last
    segment are left alone.

    Parameters
    ----------
    segments : Segments or iterable of (start, end, label) [seconds]
        ``sing`` is read as ``singing``; other labels are dropped.
    max_gap : float [seconds]
        ``0`` returns the segments unchanged (merged where they touch or overlap).

    Returns
    -------
    Segments
        Sorted, non-overlapping, every label ``singing``.
    """
    if not max_gap >= 0:
        raise ParameterError(f"max_gap must be >= 0 seconds, got {max_gap}")
    iv = as_reference(segments).intervals
    if not len(iv):
        return Segments(intervals=np.zeros((0, 2)), labels=())
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    out = [list(iv[0])]
    for a, b in iv[1:]:
        if a - out[-1][1] <= max_gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return Segments(intervals=np.array(out, dtype=np.float64), labels=(LABEL,) * len(out))


def frame_counts(reference, estimate, *, duration: float,
                 resolution: float = RESOLUTION) -> dict:
    """Frame counts ``tp``, ``fp``, ``fn``, ``tn`` of one file.

    Parameters
    ----------
    reference, estimate : Segments or iterable of (start, end, label) [seconds]
    duration : float [seconds]
        Length of the audio (the grid covers ``[0, duration)``).
    resolution : float [seconds]
        Grid step.

    Raises
    ------
    ParameterError
        Negative or reversed times, or times far past ``duration`` (frames
        or samples given instead of seconds).
    """
    from .musicspeech import segments_to_frames
    if not duration > 0 or not resolution > 0:
        raise ParameterError(f"duration and resolution must be > 0 seconds, got {duration}, "
                             f"{resolution}")
    ref, est = as_reference(reference), as_reference(estimate)
    for name, seg in (("reference", ref), ("estimate", est)):
        iv = seg.intervals
        if len(iv) and np.any(iv < 0):
            raise ParameterError(f"{name}: negative times")
        if len(iv) and iv.max() > duration * 1.5 + 1.0:
            raise ParameterError(f"{name}: a segment ends at {iv.max():g} s but the file lasts "
                                 f"{duration:g} s — did you pass frames or samples instead of "
                                 "seconds?")
    r = segments_to_frames(ref, duration=duration, classes=(LABEL,), resolution=resolution)[:, 0]
    e = segments_to_frames(est, duration=duration, classes=(LABEL,), resolution=resolution)[:, 0]
    return {"tp": int(np.sum(r & e)), "fp": int(np.sum(~r & e)), "fn": int(np.sum(r & ~e)),
            "tn": int(np.sum(~r & ~e))}


def scores_from_counts(counts: dict) -> dict:
    """Scores from frame counts.

    Returns
    -------
    dict
        ``error`` ((fp + fn) / n), ``accuracy``, ``precision``, ``recall``,
        ``specificity`` (tn / (tn + fp)), ``f1``, ``false_positive_rate``
        (fp / (fp + tn), = 1 - specificity), ``n_frames``, ``singing_fraction``.
        A ratio whose denominator is zero is 1.0 when nothing was missed or
        falsely found, else 0.0 (so a file without singing and no detections
        scores precision = recall = 1).
    """
    tp, fp, fn, tn = (int(counts[k]) for k in ("tp", "fp", "fn", "tn"))
    n = tp + fp + fn + tn
    if n == 0:
        raise ParameterError("no frames to score")
    p = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    r = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    spec = tn / (tn + fp) if tn + fp else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"error": (fp + fn) / n, "accuracy": (tp + tn) / n, "precision": p, "recall": r,
            "specificity": spec, "f1": f, "false_positive_rate": 1.0 - spec, "n_frames": n,
            "singing_fraction": (tp + fn) / n}


def evaluate(reference, estimate, *, duration: float, resolution: float = RESOLUTION,
             join_gap: float = 0.0) -> dict:
    """Frame-wise scores of one file (see :func:`scores_from_counts`) plus its counts.

    ``join_gap`` [s] > 0 closes the reference's gaps of at most that length
    (:func:`join_gaps`) before scoring.
    """
    if join_gap:
        reference = join_gaps(reference, join_gap)
    counts = frame_counts(reference, estimate, duration=duration, resolution=resolution)
    return dict(scores_from_counts(counts), **counts)


def aggregate(results: Sequence[dict]) -> dict:
    """Scores over files from :func:`evaluate` results: counts summed (micro average).

    Also ``mean_error`` (the mean of per-file errors) and ``n_files``.
    """
    results = list(results)
    if not results:
        raise ParameterError("aggregate: no results")
    counts = {k: sum(int(r[k]) for r in results) for k in ("tp", "fp", "fn", "tn")}
    out = dict(scores_from_counts(counts), **counts)
    out["mean_error"] = float(np.mean([r["error"] for r in results]))
    out["n_files"] = len(results)
    return out
