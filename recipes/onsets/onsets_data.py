"""Data side of the onset recipe: manifest -> folds, cached features, training excerpts.

Works on any JSONL manifest whose items carry ``annotations.onsets`` (one time
in seconds per line): the synthetic corpus of ``audiodl synth onsets`` or a
real corpus such as the Böck set imported by its loader. Folds come from an
item's ``fold`` (top level or ``meta.fold``) or a ``fold<k>`` split (the
Böck loader, ``audiodl data load boeck``) when present, otherwise from a
hash of its ``group`` (or ``id``), so a song never straddles two folds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

log = logging.getLogger("recipes.onsets")


def read_items(manifest):
    from audiodl.data.manifest import read_manifest, read_times
    items = []
    for it in read_manifest(manifest):
        ann = it.get("annotations", {})
        if "onsets" not in ann:
            continue
        it = dict(it)
        it["onsets"] = np.asarray(read_times(ann["onsets"]), dtype=np.float64)
        items.append(it)
    if not items:
        raise SystemExit(f"{manifest}: no items with onset annotations")
    return items


def _fold_of(item, k):
    f = item.get("fold", item.get("meta", {}).get("fold"))
    if f is None and str(item["split"]).startswith("fold"):  # Böck loader: split "fold<k>"
        f = str(item["split"])[4:]
    if f is not None:
        return int(f) % k
    key = str(item.get("group") or item["id"]).encode()
    return int(hashlib.sha1(key).hexdigest(), 16) % k


def make_folds(items, k):
    """Assign folds.

    Returns
    -------
    dict with ``mode`` (``holdout``: a ``test`` split exists and is held out,
    every other item gets a fold used for validation; ``crossval``: no test
    split, folds rotate as test sets as in the Böck protocol), ``folds``
    (id -> fold) and ``test`` (ids of the held-out test split).
    """
    test = [it["id"] for it in items if it["split"] == "test"]
    mode = "holdout" if test else "crossval"
    folds = {it["id"]: _fold_of(it, k) for it in items if it["split"] != "test"}
    return {"mode": mode, "k": k, "folds": folds, "test": test}


def fold_roles(folds: dict, fold: int):
    """(train ids, valid ids, test ids or None) for model ``fold``."""
    k, f = folds["k"], folds["folds"]
    if folds["mode"] == "holdout":
        valid = [i for i, v in f.items() if v == fold]
        train = [i for i, v in f.items() if v != fold]
        return train, valid, folds["test"]
    valid_fold = (fold + 1) % k
    test = [i for i, v in f.items() if v == fold]
    valid = [i for i, v in f.items() if v == valid_fold]
    train = [i for i, v in f.items() if v not in (fold, valid_fold)]
    return train, valid, test


def feature_path(work, item_id):
    return Path(work) / "features" / f"{item_id}.npy"


def cache_features(items, work, *, config):
    """Compute the multi-resolution log-mel features once (float16 .npy per item)."""
    from audiodl.features import spectrogram
    from audiodl.io.audio import load
    d = Path(work) / "features"
    d.mkdir(parents=True, exist_ok=True)
    stamp = d / "frontend.json"
    if stamp.exists() and json.loads(stamp.read_text()) != config.to_dict():
        raise SystemExit(f"{d} holds features of another front end; remove it first")
    stamp.write_text(json.dumps(config.to_dict()))
    n_new = 0
    for it in items:
        p = feature_path(work, it["id"])
        if p.exists():
            continue
        y, _ = load(it["audio"], config.sr)
        try:
            feats = spectrogram(y, config)
        except Exception as exc:  # the numba kernel is optional: the numpy twin is exact
            log.warning("numba front end failed (%s); using the numpy reference", exc)
            feats = spectrogram(y, config, backend="numpy")
        feats = feats.astype(np.float16)
        tmp = p.with_suffix(".tmp.npy")
        np.save(tmp, feats)
        os.replace(tmp, p)
        n_new += 1
    return n_new


def load_features(work, item_id):
    return np.load(feature_path(work, item_id)).astype(np.float32)


def targets_for(onsets, n_frames, fps, *, fuzzy=0.25):
    """Frame targets and weights: 1 at round(t * fps), neighbours 1 with weight ``fuzzy``."""
    y = np.zeros(n_frames, np.float32)
    w = np.ones(n_frames, np.float32)
    idx = np.round(np.asarray(onsets) * fps).astype(int)
    idx = idx[(idx >= 0) & (idx < n_frames)]
    for d in (-1, 1):
        j = idx + d
        j = j[(j >= 0) & (j < n_frames)]
        y[j] = 1.0
        w[j] = fuzzy
    y[idx] = 1.0
    w[idx] = 1.0
    return y, w


def norm_stats(feats_list):
    """Per (channel, band) mean and std over all frames."""
    s = sum(f.sum(axis=1, dtype=np.float64) for f in feats_list)
    s2 = sum((f.astype(np.float64) ** 2).sum(axis=1) for f in feats_list)
    n = sum(f.shape[1] for f in feats_list)
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean ** 2, 1e-10))
    return mean.astype(np.float32), std.astype(np.float32)


class ExcerptDataset(Dataset):
    """Random training excerpts (``excerpt`` output frames + context) with augmentation.

    Index ``i`` always gives the same excerpt (seeded from ``seed`` and ``i``);
    the trainer draws a different random subset of indices every epoch.

    Augmentation on the log-mel features (natural log of magnitudes):
    gain (+- ``gain_db``: an additive offset), a random spectral tilt and
    smooth EQ curve (+- ``eq_db``), and a shift by up to ``shift_bands``
    bands (a coarse pitch shift).
    """

    def __init__(self, feats, targets, *, excerpt, context, seed, size=1_000_000,
                 gain_db=10.0, eq_db=6.0, shift_bands=2, augment=True):
        self._torch = torch
        self.feats, self.targets = feats, targets
        lengths = np.array([f.shape[1] for f in feats])
        self.p = lengths / lengths.sum()
        self.excerpt, self.context, self.seed, self.size = excerpt, context, seed, size
        self.gain, self.eq, self.shift = gain_db, eq_db, shift_bands
        self.augment = augment

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        torch = self._torch
        rng = np.random.default_rng([self.seed, int(i)])
        k = int(rng.choice(len(self.feats), p=self.p))
        f, (y, w) = self.feats[k], self.targets[k]
        h = self.context // 2
        n = f.shape[1]
        start = int(rng.integers(0, max(1, n - self.excerpt + 1)))
        stop = min(n, start + self.excerpt)
        lo, hi = start - h, stop + h
        x = f[:, max(0, lo):min(n, hi)]
        if lo < 0 or hi > n:  # repeat edge frames as inference does
            x = np.concatenate([np.repeat(x[:, :1], max(0, -lo), axis=1), x,
                                np.repeat(x[:, -1:], max(0, hi - n), axis=1)], axis=1)
        yy, ww = y[start:stop], w[start:stop]
        if stop - start < self.excerpt:  # short file: pad with zero-weight frames
            pad = self.excerpt - (stop - start)
            x = np.concatenate([x, np.repeat(x[:, -1:], pad, axis=1)], axis=1)
            yy = np.concatenate([yy, np.zeros(pad, np.float32)])
            ww = np.concatenate([ww, np.zeros(pad, np.float32)])
        x = np.array(x, dtype=np.float32)
        if self.augment:
            n_bands = x.shape[2]
            x += np.float32(rng.uniform(-1, 1) * self.gain / 20 * np.log(10))
            if self.eq:
                bands = np.linspace(-1, 1, n_bands)
                curve = rng.uniform(-1, 1) * bands
                knots = rng.uniform(-1, 1, 6)
                curve += np.interp(bands, np.linspace(-1, 1, 6), knots)
                x += (curve * 0.5 * self.eq / 20 * np.log(10)).astype(np.float32)[None, None, :]
            if self.shift:
                s = int(rng.integers(-self.shift, self.shift + 1))
                if s > 0:
                    x = np.concatenate([np.repeat(x[:, :, :1], s, axis=2), x[:, :, :-s]], axis=2)
                elif s < 0:
                    x = np.concatenate([x[:, :, -s:], np.repeat(x[:, :, -1:], -s, axis=2)],
                                       axis=2)
        return (torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(yy.copy()),
                torch.from_numpy(ww.copy()))


class StreamDataset(Dataset):
    """Whole validation files cut into consecutive chunks (in order, no augmentation).

    ``stream_onsets`` are the onset times on the concatenated stream, so a
    metric can rebuild the activation function from the ordered outputs.
    """

    def __init__(self, feats, onsets, *, chunk, context, fps):
        self._torch = torch
        self.chunks, times, offset = [], [], 0
        h = context // 2
        self.lengths = []
        for f, on in zip(feats, onsets):
            n = f.shape[1]
            padded = np.concatenate([np.repeat(f[:, :1], h, axis=1), f,
                                     np.repeat(f[:, -1:], h, axis=1)], axis=1)
            n_chunks = -(-n // chunk)
            y, w = targets_for(on, n_chunks * chunk, fps)
            w[n:] = 0
            padded = np.concatenate([padded, np.repeat(padded[:, -1:], n_chunks * chunk - n,
                                                       axis=1)], axis=1)
            for c in range(n_chunks):
                s = c * chunk
                self.chunks.append((padded[:, s:s + chunk + 2 * h], y[s:s + chunk],
                                    w[s:s + chunk]))
            times.append(np.asarray(on) + offset / fps)
            self.lengths.append((offset, n))
            offset += n_chunks * chunk
        self.stream_onsets = np.concatenate(times) if times else np.zeros(0)
        self.fps = fps

    def __len__(self):
        return len(self.chunks)

    def __getitem__(self, i):
        t = self._torch
        x, y, w = self.chunks[i]
        return t.from_numpy(np.ascontiguousarray(x)), t.from_numpy(y), t.from_numpy(w)
