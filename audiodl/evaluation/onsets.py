"""Onset evaluation: mir_eval's F-measure with the two usual protocols.

* ``'mirex'``: ±50 ms window, annotations as given (mir_eval's default).
* ``'cpjku'``: ±25 ms window, annotations closer than 30 ms merged into their
  mean first (Böck et al.; madmom's ``OnsetEvaluation``).

Matching is :func:`mir_eval.util.match_events` (maximum bipartite matching
within the window), exactly what :func:`mir_eval.onset.f_measure` uses; this
module only adds input validation with helpful messages, the protocols, and
the two ways of summarising many files:

* ``sum``: true/false positives and false negatives pooled over all files,
  then precision, recall and F (every onset weighs the same; the Böck papers'
  figures);
* ``mean``: F (and P, R) per file, averaged over files (every file weighs the same).

Empty inputs follow mir_eval (:func:`mir_eval.onset.f_measure`): when the
reference or the estimate is empty, precision, recall and F are all 0 —
including a silent file with no detections (empty reference *and* empty
estimate). mir_eval also emits a warning then; this module does not (the
convention is documented here instead). Pooled (``sum``) scores apply the
same rule to the summed counts: a zero denominator gives 0.
"""

from __future__ import annotations

import logging
from typing import Iterable, Optional

import numpy as np

from ..errors import ParameterError

__all__ = ["PROTOCOLS", "validate", "merge_annotations", "evaluate", "evaluate_many",
           "summarize", "format_table"]

log = logging.getLogger(__name__)

#: name -> (window [s], merge annotations closer than [s])
PROTOCOLS = {
    "mirex": {"window": 0.05, "combine": 0.0},
    "cpjku": {"window": 0.025, "combine": 0.03},
}


def _as_times(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected an array of onset times in seconds, got "
                             f"{type(x).__name__}") from None
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ParameterError(f"{name}: expected a 1-D array of onset times in seconds, got "
                             f"shape {a.shape} (an activation matrix or intervals?)")
    return a


def validate(reference, estimated, *, duration: Optional[float] = None):
    """Check onset arrays and return them as sorted float64 arrays.

    Parameters
    ----------
    reference, estimated : array-like [shape=(n,)], float [seconds]
    duration : float or None [seconds]
        Length of the audio; times beyond it (plus 1 s) are an error.

    Returns
    -------
    reference, estimated : np.ndarray [shape=(n,)], float64, ascending

    Raises
    ------
    ParameterError
        Not 1-D, not finite, negative, or looking like frame indices
        (all integers and larger than any plausible time).
    """
    out = []
    for name, x in (("reference", reference), ("estimated", estimated)):
        a = _as_times(x, name)
        if a.size == 0:
            out.append(a)
            continue
        if not np.all(np.isfinite(a)):
            raise ParameterError(f"{name}: onset times must be finite (found NaN or inf)")
        if np.any(a < 0):
            raise ParameterError(f"{name}: onset times must be >= 0 seconds, found {a.min():g}")
        if a.size >= 2 and np.all(a == np.round(a)) and (
                a.max() > 1000 or (duration is not None and a.max() > duration + 1)):
            raise ParameterError(
                f"{name}: all {a.size} values are integers up to {a.max():g}: these look like "
                "frame indices, not seconds; divide by the frame rate (fps) first")
        if duration is not None and a.max() > duration + 1.0:
            raise ParameterError(
                f"{name}: onset at {a.max():.3f} s lies beyond the audio's {duration:.3f} s "
                "(samples instead of seconds, or the wrong file?)")
        if np.any(np.diff(a) < 0):
            log.debug("%s: onset times not sorted; sorting", name)
            a = np.sort(a)
        out.append(a)
    return out[0], out[1]


def merge_annotations(times, delta: float = 0.03) -> np.ndarray:
    """Merge annotated onsets closer than ``delta`` seconds into their mean (CPJKU protocol).

    Parameters
    ----------
    times : array-like [shape=(n,)], float [seconds], ascending
    delta : float [s]

    Returns
    -------
    np.ndarray [shape=(m,)], float64 [seconds]
    """
    from ..decoders.peaks import combine_events
    return combine_events(np.sort(_as_times(times, "reference")), delta, "mean")


def _prf(tp: int, n_ref: int, n_est: int):
    """Precision, recall, F from counts; 0 for an empty reference or estimate (mir_eval)."""
    import mir_eval

    if n_ref == 0 or n_est == 0:
        return 0.0, 0.0, 0.0
    p, r = tp / n_est, tp / n_ref
    return p, r, float(mir_eval.util.f_measure(p, r))


def evaluate(reference, estimated, *, protocol: Optional[str] = None,
             window: Optional[float] = None, combine: Optional[float] = None,
             duration: Optional[float] = None) -> dict:
    """Score one file's estimated onsets against its reference.

    Parameters
    ----------
    reference, estimated : array-like [shape=(n,)], float [seconds]
    protocol : {'mirex', 'cpjku'} or None
        Sets ``window`` and ``combine`` (default ``'mirex'``); explicit values override.
    window : float [s]
        Half-width of the matching window.
    combine : float [s]
        Merge reference onsets closer than this first (0: no merging).
    duration : float or None [s]
        For validation only.

    Returns
    -------
    dict with ``f_measure``, ``precision``, ``recall`` (floats) and ``tp``,
    ``fp``, ``fn``, ``n_ref``, ``n_est`` (ints), plus ``window`` and ``combine``.
    Identical to :func:`mir_eval.onset.f_measure` (maximum matching within
    ``window``); an empty reference or estimate scores 0 for precision, recall
    and F, as in mir_eval (see the module docstring).
    """
    import mir_eval

    proto = PROTOCOLS[_protocol_name(protocol)]
    window = proto["window"] if window is None else float(window)
    combine = proto["combine"] if combine is None else float(combine)
    if not window > 0:
        raise ParameterError(f"window must be > 0 seconds, got {window}")
    ref, est = validate(reference, estimated, duration=duration)
    if combine > 0:
        ref = merge_annotations(ref, combine)
    tp = len(mir_eval.util.match_events(ref, est, window)) if len(ref) and len(est) else 0
    p, r, f = _prf(tp, len(ref), len(est))
    return {"f_measure": f, "precision": p, "recall": r, "tp": tp, "fp": len(est) - tp,
            "fn": len(ref) - tp, "n_ref": len(ref), "n_est": len(est), "window": window,
            "combine": combine}


def _protocol_name(protocol):
    name = "mirex" if protocol is None else str(protocol).lower()
    if name not in PROTOCOLS:
        raise ParameterError(f"unknown onset protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    return name


def summarize(scores: Iterable[dict]) -> dict:
    """Summarise per-file results of :func:`evaluate`.

    Returns
    -------
    dict with ``sum`` (pooled counts: ``f_measure``, ``precision``, ``recall``,
    ``tp``, ``fp``, ``fn``, ``n_ref``, ``n_est``), ``mean`` (per-file
    ``f_measure``, ``precision``, ``recall`` averaged over files) and ``n_files``.
    Zero pooled denominators give 0 (the mir_eval convention).
    """
    scores = list(scores)
    if not scores:
        raise ParameterError("no files to summarise")
    tp = sum(s["tp"] for s in scores)
    fp = sum(s["fp"] for s in scores)
    fn = sum(s["fn"] for s in scores)
    p, r, f = _prf(tp, tp + fn, tp + fp)
    mean = {k: float(np.mean([s[k] for s in scores]))
            for k in ("f_measure", "precision", "recall")}
    return {"sum": {"f_measure": f, "precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn,
                    "n_ref": tp + fn, "n_est": tp + fp},
            "mean": mean, "n_files": len(scores)}


def evaluate_many(pairs, *, protocols=("cpjku", "mirex")) -> dict:
    """Score many files under several protocols.

    Parameters
    ----------
    pairs : iterable of (reference, estimated) or dict name -> (reference, estimated)
        Times in seconds.
    protocols : sequence of str

    Returns
    -------
    dict protocol -> :func:`summarize` output, plus ``files``: protocol -> list of
    per-file results (with ``name`` when ``pairs`` is a dict).
    """
    items = list(pairs.items()) if isinstance(pairs, dict) else list(enumerate(pairs))
    out = {"files": {}}
    for proto in protocols:
        per = []
        for name, (ref, est) in items:
            s = evaluate(ref, est, protocol=proto)
            s["name"] = str(name)
            per.append(s)
        out[proto] = summarize(per)
        out["files"][proto] = per
    return out


def format_table(rows: dict, *, protocols=("cpjku", "mirex")) -> str:
    """Markdown table of several systems' :func:`evaluate_many` results.

    Parameters
    ----------
    rows : dict system name -> evaluate_many output
    """
    head = ["system"]
    for proto in protocols:
        w = PROTOCOLS[proto]["window"] * 1000
        head += [f"F sum ±{w:g} ms", "P", "R", f"F mean ±{w:g} ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, res in rows.items():
        cells = [name]
        for proto in protocols:
            s = res[proto]
            cells += [f"{s['sum']['f_measure']:.3f}", f"{s['sum']['precision']:.3f}",
                      f"{s['sum']['recall']:.3f}", f"{s['mean']['f_measure']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
