"""Similarity retrieval scores: MAP, precision@k, top-1, recall of exact nearest neighbours.

* :func:`retrieval_scores` — leave-one-out retrieval of a set of tracks by a
  similarity matrix: each track queries all others; the other tracks of its
  group (versions of the same composition) are relevant. Average precision
  per query via :func:`sklearn.metrics.average_precision_score`; the summary
  is the **mean over queries** (queries without a relevant item are skipped
  and counted).
* :func:`knn_recall` — recall of the exact measure's k nearest neighbours
  among an approximate search's top k (Schlüter 2013's speed/accuracy curve),
  mean over queries.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["retrieval_scores", "knn_recall"]


def retrieval_scores(similarity, groups: Sequence, *, k: int = 10) -> dict:
    """Leave-one-out MAP, precision@k and top-1 accuracy.

    Parameters
    ----------
    similarity : np.ndarray [shape=(n, n)]
        Higher is more similar (use negated distances); the diagonal is ignored.
    groups : sequence of hashable [len n]
        Group of each item.
    k : int
        Cut-off of precision@k (the number of relevant items found among the
        top k, divided by ``min(k, n_relevant)``: R-precision-like at small groups).

    Returns
    -------
    dict
        ``map``, ``precision_at_k``, ``top1`` (means over queries with at least
        one relevant item), ``k``, ``n_queries``, ``n_skipped``.
    """
    from sklearn.metrics import average_precision_score
    s = np.asarray(similarity, dtype=np.float64)
    g = np.asarray([str(x) for x in groups])
    n = len(g)
    if s.shape != (n, n):
        raise ParameterError(f"similarity must be ({n}, {n}) for {n} groups, got {s.shape}")
    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    aps, precs, top1, skipped = [], [], [], 0
    for i in range(n):
        others = np.arange(n) != i
        rel = (g[others] == g[i]).astype(int)
        if rel.sum() == 0:
            skipped += 1
            continue
        score = s[i, others]
        aps.append(average_precision_score(rel, score))
        order = np.argsort(-score, kind="stable")
        precs.append(rel[order[:k]].sum() / min(k, rel.sum()))
        top1.append(float(rel[order[0]]))
    if not aps:
        raise ParameterError("no query has a relevant item (every group has one member)")
    return {"map": float(np.mean(aps)), "precision_at_k": float(np.mean(precs)),
            "top1": float(np.mean(top1)), "k": int(k), "n_queries": len(aps),
            "n_skipped": skipped}


def knn_recall(exact_ids, approx_ids) -> float:
    """Mean fraction of each query's exact k nearest neighbours found by a search.

    Parameters
    ----------
    exact_ids : np.ndarray [shape=(n_queries, k)], int
        The exact measure's k nearest neighbours.
    approx_ids : np.ndarray [shape=(n_queries, k')], int
        The ids a search returned (``-1`` = none); usually ``k' == k``.

    Returns
    -------
    float in [0, 1]
    """
    e = np.asarray(exact_ids)
    a = np.asarray(approx_ids)
    if e.ndim != 2 or a.ndim != 2 or len(e) != len(a):
        raise ParameterError(f"expected (n_queries, k) id arrays of equal length, got "
                             f"{e.shape} and {a.shape}")
    hits = [len(np.intersect1d(e[i], a[i][a[i] >= 0])) / e.shape[1] for i in range(len(e))]
    return float(np.mean(hits))
