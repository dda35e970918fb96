"""Section labels of a segmentation: which segments repeat (``A``, ``B`` ...).

Segments are compared by their time-aligned frames and their mean frames
(:func:`segment_distances`) and merged by average-linkage clustering
(:func:`cluster_labels`); :func:`label_segments` does both.
:func:`split_repeats` adds the boundary inside a segment that starts or ends
with a copy of another one (A A found as one segment); :func:`split_halves`
the middle of a segment about twice the song's usual length whose halves
match (A A where A occurs nowhere else alone). Used by every
structure method (:mod:`audiodl.tasks.structure_baselines`).
"""

from __future__ import annotations

import string

import numpy as np

__all__ = ["label_segments", "segment_distances", "cluster_labels", "section_names", "unit_rows",
           "split_repeats", "split_halves"]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Z-score every dimension over the file, then scale each frame to unit length."""
    x = np.asarray(x, dtype=np.float64)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)


def section_names(n: int) -> list:
    """``A, B, ..., Z, AA, AB, ...``: the first ``n`` section names."""
    out, letters = [], string.ascii_uppercase
    for i in range(n):
        name, k = "", i
        while True:
            name = letters[k % 26] + name
            k = k // 26 - 1
            if k < 0:
                break
        out.append(name)
    return out


def label_segments(bounds: np.ndarray, feats: np.ndarray, fps: float, *,
                   threshold: float, n_points: int = 24) -> list:
    """Labels (``A``, ``B`` ...) of the segments between frame boundaries.

    Two segments are compared by the mean cosine similarity of their
    time-aligned frames (both resampled to ``n_points``) averaged with the
    cosine of their mean frames, so that repeats match whether a section is
    homogeneous or evolves (:func:`segment_distances`); average-linkage
    agglomerative clustering (:func:`cluster_labels`) merges segments closer
    than ``threshold`` (1 - similarity).

    Parameters
    ----------
    bounds : np.ndarray [shape=(n_segments + 1,)], int [frames], ascending, first 0
    feats : np.ndarray [shape=(n_frames, d)]
    fps : float [Hz]
    threshold : float in [0, 2]

    Returns
    -------
    list of str [len n_segments], names in order of first appearance
    """
    n_seg = len(bounds) - 1
    if n_seg <= 1 or feats.shape[1] == 0:
        return ["A"] * max(n_seg, 0)
    return cluster_labels(segment_distances(bounds, feats, n_points=n_points), threshold)


def segment_distances(bounds: np.ndarray, feats: np.ndarray, *, n_points: int = 24):
    """``(n_segments, n_segments)`` distances in [0, 2] (see :func:`label_segments`)."""
    n_seg = len(bounds) - 1
    x = unit_rows(feats)
    seqs = np.empty((n_seg, n_points * x.shape[1]), np.float32)
    means = np.empty((n_seg, x.shape[1]), np.float32)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        b = max(b, a + 1)
        idx = np.linspace(a, b - 1, n_points).round().astype(int).clip(0, len(x) - 1)
        seqs[i] = x[idx].reshape(-1)
        m = x[a:b].mean(axis=0)
        means[i] = m / (np.linalg.norm(m) + 1e-9)
    del x
    # one (n_seg, n_seg) float32 matrix, updated in place: aligned-frame cosine, + mean cosine
    dist = seqs @ seqs.T
    dist /= n_points
    dist += means @ means.T
    dist *= -0.5
    dist += 1.0
    np.clip(dist, 0.0, 2.0, out=dist)
    np.fill_diagonal(dist, 0.0)
    return dist


def cluster_labels(dist: np.ndarray, threshold: float) -> list:
    """Names (``A``, ``B`` ... by first appearance) of average-linkage clusters of ``dist``."""
    # average-linkage agglomerative clustering, merging while the distance is below the
    # threshold: scipy's linkage + fcluster (what sklearn's AgglomerativeClustering runs
    # for a precomputed matrix without connectivity; equal labels, tested), without
    # sklearn's ~1 s import
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    z = linkage(squareform(dist, checks=False), method="average")
    labels = fcluster(z, t=np.nextafter(max(threshold, 1e-9), -np.inf), criterion="distance")
    names, mapping = section_names(len(dist)), {}
    return [mapping.setdefault(c, names[len(mapping)]) for c in labels]


def split_repeats(times: np.ndarray, feats: np.ndarray, fps: float, *, threshold: float,
                  min_segment: float, max_passes: int = 8) -> np.ndarray:
    """Add the inner boundaries of segments that hold a copy of another segment.

    A section repeated back to back without a cue (A A, the same
    arrangement) often leaves no peak in a boundary curve, while the same
    section elsewhere in the song (A A B A) is found as a segment of its
    own. Each segment ``[a, e)`` of at least ``2 * min_segment`` is compared
    with every other segment ``j`` of length ``L`` (``min_segment <= L <=
    e - a - min_segment``): the mean cosine similarity of the time-aligned
    frames of ``j`` and of ``[a, a + L)`` (the segment starts with a copy
    of ``j``: candidate boundary ``a + L``), and of ``j`` and ``[e - L,
    e)`` (it ends with one: ``e - L``). The best candidate at or above
    ``threshold`` is added. Passes over all segments repeat until none is
    split (A A A: two passes).

    Parameters
    ----------
    times : np.ndarray [shape=(k,)] [s]
        Boundaries, ascending, inside ``(0, duration)``.
    feats : np.ndarray [shape=(n, d)]
        Frames at ``fps`` (z-scored over the file and scaled to unit length here).
    fps : float [Hz]
    threshold : float in (0, 1]
    min_segment : float [s]
    max_passes : int

    Returns
    -------
    np.ndarray [shape=(k',)], k' >= k [s], ascending
    """
    if threshold <= 0:
        return np.asarray(times, dtype=np.float64)

    def propose(segs, x, msf):
        lens = np.array([e - a for a, e in segs])
        new = []
        for i, (a, e) in enumerate(segs):
            if e - a < 2 * msf:
                continue
            cand = [j for j in range(len(segs)) if j != i and msf <= lens[j] <= e - a - msf]
            if not cand:
                continue
            g = x[a:e] @ x.T  # (e - a, n): frame similarities of this segment to the song
            best, where = threshold, None
            for j in cand:
                s2, L = segs[j][0], int(lens[j])
                k = np.arange(L)
                for off in (0, e - a - L):  # copy at the start, copy at the end
                    v = float(g[off + k, s2 + k].mean())
                    if v >= best:
                        best, where = v, a + (L if off == 0 else off)
            if where is not None:
                new.append(where)
        return new
    return _add_boundaries(times, feats, fps, min_segment, max_passes, propose)


def _add_boundaries(times, feats, fps, min_segment, max_passes, propose) -> np.ndarray:
    """Passes of ``propose(segments, unit_frames, min_frames) -> new frame boundaries`` over
    the segments between ``times`` (and the file ends) until it proposes none."""
    times = np.asarray(times, dtype=np.float64)
    n = len(feats)
    if n == 0 or feats.shape[1] == 0:
        return times
    x = unit_rows(feats).astype(np.float32)
    msf = max(1, int(round(min_segment * fps)))
    bounds = sorted({0, n} | {int(min(max(round(t * fps), 0), n)) for t in times})
    added = []
    for _ in range(int(max_passes)):
        new = propose(list(zip(bounds[:-1], bounds[1:])), x, msf)
        if not new:
            break
        added += new
        bounds = sorted(set(bounds) | set(new))
    if not added:
        return times
    return np.sort(np.concatenate([times, np.asarray(added, np.float64) / fps]))


def split_halves(times: np.ndarray, feats: np.ndarray, fps: float, *, ratio: float,
                 threshold: float, min_segment: float, max_passes: int = 2) -> np.ndarray:
    """Split in half the segments that are long for the song and whose halves match.

    A section played twice back to back without a cue, in a song where it
    never occurs alone (A A B B A A), leaves neither a peak nor a shorter
    copy for :func:`split_repeats` to find. What is left is length: such a
    segment is about twice as long as the song's other sections. A segment
    of at least ``ratio`` times the median segment length of the song (and
    at least ``2 * min_segment``) whose two halves match (mean cosine
    similarity of their time-aligned frames at or above ``threshold``) is
    split in the middle. A section whose material repeats inside it (a
    4-bar progression in an 8-bar verse) also has matching halves, so the
    length test is what separates the two: tune ``ratio`` on validation
    songs. Passes repeat (on the new median) until none is split.

    Parameters
    ----------
    times : np.ndarray [shape=(k,)] [s]
        Boundaries, ascending, inside ``(0, duration)``.
    feats : np.ndarray [shape=(n, d)]
        Frames at ``fps``.
    fps : float [Hz]
    ratio : float
        Length relative to the median segment; 0 (or less): off.
    threshold : float in (0, 1]
    min_segment : float [s]
    max_passes : int

    Returns
    -------
    np.ndarray [shape=(k',)], k' >= k [s], ascending
    """
    if ratio <= 0 or threshold <= 0:
        return np.asarray(times, dtype=np.float64)

    def propose(segs, x, msf):
        if len(segs) < 2:
            return []
        typical = float(np.median([e - a for a, e in segs]))
        new = []
        for a, e in segs:
            length = e - a
            if length < 2 * msf or length < ratio * typical:
                continue
            h = length // 2
            if float(np.einsum("ij,ij->i", x[a:a + h], x[a + h:a + 2 * h]).mean()) >= threshold:
                new.append(a + h)
        return new
    return _add_boundaries(times, feats, fps, min_segment, max_passes, propose)
