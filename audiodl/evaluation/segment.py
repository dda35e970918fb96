"""Music structure scores: mir_eval's segment metrics with input checks.

* boundary hit rate (:func:`mir_eval.segment.detection`) at 0.5 s and 3 s,
  with ``trim`` stated in the key: ``trim`` drops the first and last
  boundary of both annotations (the start and end of the file, which every
  estimate gets right for free), so ``F@0.5`` (trim) is the stricter figure;
* label agreement: pairwise frame clustering F (:func:`mir_eval.segment.pairwise`)
  and normalised conditional entropies (:func:`mir_eval.segment.nce`: over-
  and under-segmentation scores, and their F).

Both annotations are :class:`~audiodl.types.Segments` (or ``(n, 2)``
intervals with labels) in seconds that cover the file without gaps; the
estimate is adjusted to the reference's span
(:func:`mir_eval.util.adjust_intervals`) before the label metrics, as
mir_eval's own ``evaluate`` does.

Summaries over many files (:func:`summarize`) are means over files (every
song weighs the same), as in MIREX.
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from ..errors import ParameterError
from ..types import Segments

__all__ = ["WINDOWS", "validate", "evaluate", "summarize", "format_table"]

#: boundary hit-rate windows [s]
WINDOWS = (0.5, 3.0)


def _as_segments(x, name: str) -> Segments:
    if isinstance(x, Segments):
        seg = x
    else:
        try:
            iv, labels = x
        except (TypeError, ValueError):
            raise ParameterError(f"{name}: expected Segments or (intervals, labels), got "
                                 f"{type(x).__name__}") from None
        seg = Segments(intervals=np.asarray(iv, dtype=np.float64), labels=tuple(labels))
    return seg


def validate(reference, estimate):
    """Check two segmentations and return them as ``(ref_iv, ref_lab, est_iv, est_lab)``.

    Raises
    ------
    ParameterError
        Empty annotations, negative times, overlapping or unsorted intervals,
        or times that look like frame indices.
    """
    out = []
    for name, x in (("reference", reference), ("estimate", estimate)):
        seg = _as_segments(x, name)
        iv = seg.intervals
        if not len(iv):
            raise ParameterError(f"{name}: no segments")
        if np.any(iv < 0) or not np.all(np.isfinite(iv)):
            raise ParameterError(f"{name}: segment times must be finite and >= 0 seconds")
        if np.any(np.diff(iv[:, 0]) < 0) or np.any(iv[1:, 0] < iv[:-1, 1] - 1e-6):
            raise ParameterError(f"{name}: segments must be sorted and must not overlap")
        if iv[-1, 1] > 36000:
            raise ParameterError(f"{name}: a segment ends after 10 hours ({iv[-1, 1]:.0f}); "
                                 "did you pass frames instead of seconds?")
        out += [iv, list(seg.labels)]
    return tuple(out)


def evaluate(reference, estimate, *, trim: bool = True,
             windows: Iterable[float] = WINDOWS) -> dict:
    """Boundary and label scores of one file.

    Parameters
    ----------
    reference, estimate : Segments or (intervals [shape=(n, 2)] [seconds], labels)
    trim : bool
        Drop the first and last boundaries before the hit rate (see the module notes).
    windows : iterable of float [s]
        Hit-rate tolerances.

    Returns
    -------
    dict
        ``hr{w}_p``, ``hr{w}_r``, ``hr{w}_f`` per window (key ``hr0.5_f``,
        ``hr3_f``), ``pairwise_p/r/f``, ``nce_over``, ``nce_under``, ``nce_f``,
        ``n_ref``/``n_est`` (segments), and ``trim``.
    """
    import warnings

    ref_iv, ref_lab, est_iv, est_lab = validate(reference, estimate)
    with warnings.catch_warnings():  # a one-segment estimate has no boundaries after trim:
        warnings.filterwarnings("ignore", "Estimated intervals are empty")  # scores 0
        warnings.filterwarnings("ignore", "Reference intervals are empty")
        return _scores(ref_iv, ref_lab, est_iv, est_lab, trim=trim, windows=windows)


def _scores(ref_iv, ref_lab, est_iv, est_lab, *, trim, windows) -> dict:
    import mir_eval

    res = {"trim": bool(trim), "n_ref": len(ref_iv), "n_est": len(est_iv)}
    for w in windows:
        p, r, f = mir_eval.segment.detection(ref_iv, est_iv, window=float(w), trim=trim)
        key = f"hr{float(w):g}"
        res.update({f"{key}_p": float(p), f"{key}_r": float(r), f"{key}_f": float(f)})
    est_iv_a, est_lab_a = mir_eval.util.adjust_intervals(
        est_iv, est_lab, t_min=float(ref_iv[0, 0]), t_max=float(ref_iv[-1, 1]))
    p, r, f = mir_eval.segment.pairwise(ref_iv, ref_lab, est_iv_a, est_lab_a)
    res.update({"pairwise_p": float(p), "pairwise_r": float(r), "pairwise_f": float(f)})
    o, u, f = mir_eval.segment.nce(ref_iv, ref_lab, est_iv_a, est_lab_a)
    res.update({"nce_over": float(o), "nce_under": float(u), "nce_f": float(f)})
    return res


def summarize(results: Iterable[dict]) -> dict:
    """Mean (over files) of every numeric score, with ``n_files`` and ``trim``."""
    results = list(results)
    if not results:
        raise ParameterError("summarize: no results")
    keys = [k for k, v in results[0].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    out = {k: float(np.mean([r[k] for r in results])) for k in keys}
    out["n_files"] = len(results)
    trims = {r.get("trim") for r in results}
    out["trim"] = trims.pop() if len(trims) == 1 else None
    return out


def format_table(rows: dict, *, keys: Optional[list] = None) -> str:
    """Markdown table of ``{name: summary}`` (default columns: HR F, pairwise F, NCE F)."""
    keys = keys or ["hr0.5_f", "hr3_f", "pairwise_f", "nce_f"]
    lines = ["| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{s[k]:.3f}" for k in keys) + " |")
    return "\n".join(lines) + "\n"
