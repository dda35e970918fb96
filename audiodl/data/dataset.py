"""Torch dataset layer over manifests, shared by every task's training spec.

* :class:`FeatureCache`: front-end features on disk, keyed by (file content
  hash, :attr:`FrontendConfig.hash`, augmentation variant) — the one cache.
* :func:`frame_targets`: ``start end label`` segments -> frame activity matrix.
* :class:`FeatureSet`: the features + frame targets of a list of items, in
  memory (float16), loaded through the cache; targets come from a function of
  the item (segments by default; onsets, notes... for other tasks).
* :func:`normalization_stats`: training-set mean/std per band or per pixel —
  the one statistics function.
* :class:`ExcerptDataset`: fixed-length excerpts with one clip label each
  (file-level classification, classes balanced).
* :class:`SequenceDataset`: windows with frame targets (detection, onsets),
  optional context frames, power-domain mixing, or deterministic tiles
  covering every entry (validation).

Spectrogram augmentation is :class:`audiodl.data.augment.SpecAugment`.

Features are frame-major: ``(n_frames, n_bins)`` as :func:`audiodl.features.spectrogram`
returns them, or ``(n_frames, n_channels, n_bins)`` for multi-resolution
front ends (the front end's ``(n_channels, n_frames, n_bins)`` moved so that
frames come first). Times are in seconds.

Random draws depend only on ``(seed, epoch, index)``, never on call order, so
one process and several DDP processes (each drawing its share of indices)
see the same excerpts; the trainer calls ``set_epoch`` on training datasets.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..errors import ParameterError
from ..features.config import FrontendConfig

__all__ = ["file_hash", "default_cache_dir", "FeatureCache", "frame_targets",
           "segment_targets", "FeatureSet", "normalization_stats", "ExcerptDataset",
           "SequenceDataset", "item_segments"]

log = logging.getLogger(__name__)


def file_hash(path, *, chunk: int = 1 << 20) -> str:
    """sha1 of a file's content (first 16 hex digits)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``features/`` in the user cache (:func:`audiodl.data.paths.cache_root`)."""
    from .paths import cache_root
    return cache_root() / "features"


class FeatureCache:
    """Compute-once store of front-end features.

    Parameters
    ----------
    config : FrontendConfig
    root : path or None
        Cache folder (default :func:`default_cache_dir`); entries live in
        ``root/<config.hash>/<file hash>[.v<variant>].npy``.
    augment : callable or None
        ``augment(y, sr, rng) -> (y_aug, params)`` used for variants > 0
        (e.g. :func:`audiodl.data.augment.random_augment`).

    Notes
    -----
    Entries are written to a per-process temporary name and renamed, so
    several processes (DDP ranks) may fill the same cache at once.
    """

    def __init__(self, config: FrontendConfig, *, root=None, augment=None):
        self.config = config
        self.root = Path(root or default_cache_dir()) / config.hash
        self.augment = augment

    def path_for(self, path, *, variant: int = 0) -> Path:
        key = file_hash(path)
        return self.root / (f"{key}.npy" if variant == 0 else f"{key}.v{variant}.npy")

    def get(self, path, *, variant: int = 0) -> np.ndarray:
        """Features of ``path`` as the front end returns them, float32.

        ``(n_frames, n_bins)``, or ``(n_channels, n_frames, n_bins)`` for a
        multi-resolution front end. ``variant`` 0 is the clean audio; ``k > 0``
        applies ``augment`` with a generator seeded from the file hash and
        ``k`` (reproducible).
        """
        dest = self.path_for(path, variant=variant)
        if dest.exists():
            try:
                return np.load(dest, allow_pickle=False)
            except (OSError, ValueError):
                log.warning("cache entry %s unreadable; recomputing", dest)
        from ..io.audio import load

        spectrogram = _cache_frontend()
        y, sr = load(path, self.config.sr)
        if variant:
            if self.augment is None:
                raise ParameterError("FeatureCache: variant > 0 needs an augment function")
            seed = int(dest.stem.split(".")[0], 16) % (2 ** 32)
            y, _ = self.augment(y, sr, np.random.default_rng([seed, variant]))
        feats = spectrogram(np.ascontiguousarray(y, dtype=np.float32), self.config)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp{os.getpid()}-" + dest.name)
        np.save(tmp, feats)
        os.replace(tmp, dest)
        return feats

    def fill(self, paths, *, jobs: int = 1) -> int:
        """Compute the missing clean entries (variant 0) of ``paths`` in ``jobs`` processes.

        Returns the number of entries computed. With ``jobs == 1`` (or nothing
        to do) it runs in this process; otherwise in a spawned process pool,
        each worker writing its entries atomically (see :meth:`get`).
        """
        todo = [str(p) for p in dict.fromkeys(paths) if not self.path_for(p).exists()]
        if jobs <= 1 or len(todo) <= 1:
            for p in todo:
                self.get(p)
            return len(todo)
        import concurrent.futures
        import multiprocessing
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(min(jobs, len(todo)), mp_context=ctx) as ex:
            list(ex.map(_fill_one, [(self.config, str(self.root.parent), p) for p in todo],
                        chunksize=8))
        return len(todo)


def _fill_one(job) -> None:
    config, root, path = job
    FeatureCache(config, root=root).get(path)


def _cache_frontend():
    """The front end the cache computes with: numba kernels, or the float32 numpy
    front end when ``AUDIODL_FRONTEND=numpy`` (machines where numba's FFT
    extension is unavailable; the two agree to float32 rounding, tested)."""
    if os.environ.get("AUDIODL_FRONTEND") == "numpy":
        from ..features.numpy_frontend import spectrogram
        return spectrogram
    from ..features.frontend import spectrogram
    return spectrogram


def frame_targets(segments, *, n_frames: int, fps: float,
                  labels: Sequence[str] = ("music", "speech")) -> np.ndarray:
    """Frame activity matrix from labelled segments.

    Parameters
    ----------
    segments : iterable of (float, float, str) [seconds]
        Labels not in ``labels`` are ignored.
    n_frames : int
    fps : float
        Frame ``i`` is centred at ``i / fps`` seconds.
    labels : sequence of str

    Returns
    -------
    targets : np.ndarray [shape=(n_frames, len(labels))], float32 in {0, 1}
    """
    labels = list(labels)
    out = np.zeros((n_frames, len(labels)), dtype=np.float32)
    t = np.arange(n_frames) / float(fps)
    for start, end, lab in segments:
        if lab in labels:
            out[(t >= start) & (t < end), labels.index(lab)] = 1.0
    return out


def item_segments(item) -> list:
    """Segments of a manifest item: its ``segments`` annotation, else its clip labels.

    Returns
    -------
    list of (float, float, str) [seconds]
    """
    from .manifest import read_segments
    ann = item.get("annotations", {}) or {}
    if "segments" in ann:
        return read_segments(ann["segments"])
    if "segments" in item:  # inline
        return [tuple(s) for s in item["segments"]]
    return [(0.0, float(item["duration"]) + 1.0, lab) for lab in item.get("labels", [])]


def segment_targets(labels: Sequence[str] = ("music", "speech")) -> Callable:
    """Target function for :class:`FeatureSet`: frame activity of ``labels`` from segments."""
    labels = tuple(labels)

    def targets(item, n_frames, fps):
        return frame_targets(item_segments(item), n_frames=n_frames, fps=fps, labels=labels)
    return targets


class FeatureSet:
    """Features and frame targets of manifest items, held in memory.

    Parameters
    ----------
    items : list of dict
        Manifest items (resolved paths).
    cache : FeatureCache
    targets : callable ``(item, n_frames, fps) -> np.ndarray [shape=(n_frames, k)]`` or None
        Frame targets of an item (default: :func:`segment_targets` of ``labels``).
    labels : sequence of str
        Names of the target columns (used by the default targets and
        :meth:`clip_label`).
    variants : sequence of int
        Which cache variants to load for every item (0 = clean).
    progress : callable or None
        Wraps the iterable of (item, variant) pairs (e.g. a tqdm).

    Attributes
    ----------
    feats : list of np.ndarray [shape=(n_frames, n_bins) or (n_frames, n_channels, n_bins)], float16
    targets : list of np.ndarray [shape=(n_frames, k)], float32
    items : list of dict (one per entry; variants repeat items)
    fps : float [Hz]
    """

    def __init__(self, items, cache: FeatureCache, *, targets: Optional[Callable] = None,
                 labels=("music", "speech"), variants=(0,), progress=None):
        self.labels = tuple(labels)
        self.fps = cache.config.fps
        target_fn = targets or segment_targets(self.labels)
        self.feats, self.targets, self.items = [], [], []
        it = [(item, v) for item in items for v in variants]
        if progress is not None:
            it = progress(it)
        for item, v in it:
            x = cache.get(item["audio"], variant=v)
            if x.ndim == 3:  # (channels, frames, bins) -> frame-major
                x = np.moveaxis(x, 1, 0)
            self.feats.append(np.ascontiguousarray(x, dtype=np.float16))
            t = np.asarray(target_fn(item, len(x), self.fps), dtype=np.float32)
            self.targets.append(t.reshape(len(x), -1))
            self.items.append(item)

    def __len__(self):
        return len(self.feats)

    def extend(self, other: "FeatureSet") -> None:
        """Append the entries of another set (same front end and targets)."""
        if other.fps != self.fps or (len(self) and len(other)
                                     and other.feats[0].shape[1:] != self.feats[0].shape[1:]):
            raise ParameterError("FeatureSet.extend: different front ends")
        self.feats += other.feats
        self.targets += other.targets
        self.items += other.items

    @property
    def n_bins(self) -> int:
        return self.feats[0].shape[-1]

    def clip_label(self, i) -> Optional[int]:
        """Index of the only class present in entry ``i``, or None (mixed/none)."""
        present = self.targets[i].max(axis=0) > 0
        return int(np.argmax(present)) if present.sum() == 1 else None


def normalization_stats(feats, *, per: str = "band", n_frames: int = 80,
                        max_frames: int = 2_000_000, seed: int = 0):
    """Training-set mean and std of features (the one statistics function).

    Parameters
    ----------
    feats : list of np.ndarray [shape=(n_frames_i, ...)]
        Frame-major features (:class:`FeatureSet` ``feats``).
    per : {'band', 'pixel'}
        ``band``: one value per band (and channel), shape ``feats[0].shape[1:]``,
        over all frames; ``pixel``: shape ``(n_frames, ...)`` over random
        excerpts of ``n_frames`` (as Lidy 2015; on stationary excerpts this
        equals the band stats tiled).
    n_frames : int
        Excerpt length for ``per='pixel'``.
    max_frames : int
        Subsample to at most this many frames (reproducibly).
    seed : int

    Returns
    -------
    mean, std : np.ndarray, float32
    """
    rng = np.random.default_rng(seed)
    total = sum(len(f) for f in feats)
    if not total:
        raise ParameterError("normalization_stats: no frames")
    keep = min(1.0, max_frames / total)
    if per == "band":
        s = s2 = 0.0
        n = 0
        for f in feats:
            x = np.asarray(f, dtype=np.float64)
            if keep < 1.0:
                x = x[rng.random(len(x)) < keep]
            s = s + x.sum(axis=0)
            s2 = s2 + (x * x).sum(axis=0)
            n += len(x)
        mean = s / max(n, 1)
        std = np.sqrt(np.maximum(s2 / max(n, 1) - mean ** 2, 0.0))
        return mean.astype(np.float32), std.astype(np.float32)
    if per == "pixel":
        ex = []
        n_ex = max(1, int(keep * total / n_frames))
        lengths = np.array([len(f) for f in feats])
        ok = np.nonzero(lengths >= n_frames)[0]
        if not len(ok):
            raise ParameterError(f"no item has {n_frames} frames for per-pixel statistics")
        for _ in range(min(n_ex, 50_000)):
            i = rng.choice(ok)
            s = rng.integers(0, lengths[i] - n_frames + 1)
            ex.append(np.asarray(feats[i][s:s + n_frames], dtype=np.float64))
        x = np.stack(ex)
        return x.mean(0).astype(np.float32), x.std(0).astype(np.float32)
    raise ParameterError(f"per must be 'band' or 'pixel', got {per!r}")


class _SeededDraws(Dataset):
    """Item ``k`` of epoch ``e`` draws from ``default_rng([seed, e, k])``.

    Subclasses set ``self.seed`` and ``self.epoch = 0``. The trainer calls
    :meth:`set_epoch` on training data every epoch (new excerpts each
    epoch); validation sets keep epoch 0 (the same excerpts every time).
    """

    def set_epoch(self, epoch: int) -> None:
        """Draw the excerpts of ``epoch``."""
        self.epoch = int(epoch)

    def _rng(self, k):
        return np.random.default_rng([self.seed, self.epoch, int(k)])


class ExcerptDataset(_SeededDraws):
    """Fixed-length excerpts with one label each (file-level classification).

    Every epoch draws ``n_per_epoch`` excerpts: a class chosen uniformly
    (classes balanced), an entry of that class (weighted by its number of
    excerpt positions, i.e. its length), then a random excerpt inside it.
    Single-class entries give every position; with ``mixed=True`` entries
    holding several classes also give the positions whose frames all carry
    exactly that one class.

    Parameters
    ----------
    data : FeatureSet
    n_frames : int
    n_per_epoch : int
    augment : SpecAugment or None
    seed : int
    target_index : int
        Label column whose presence is the positive class (``speech`` = 1).
    mixed : bool
        Also draw pure excerpts from entries with several classes.

    Items are ``(x [shape=(n_frames, n_bins)] float32, y float32 scalar)``.
    """

    def __init__(self, data: FeatureSet, *, n_frames: int = 80, n_per_epoch: int = 20000,
                 augment=None, seed: int = 0, target_index: int = 1, mixed: bool = False):
        self.data, self.n_frames, self.n = data, n_frames, n_per_epoch
        self.augment, self.seed, self.target_index = augment, seed, target_index
        self.epoch = 0
        by_class = {}  # class -> list of (entry, allowed starts or None = all)
        for i in range(len(data)):
            n = len(data.feats[i]) - n_frames + 1
            if n < 1:
                continue
            c = data.clip_label(i)
            if c is not None:
                by_class.setdefault(c, []).append((i, None, n))
            elif mixed:
                t = data.targets[i] > 0
                only = t & (t.sum(axis=1, keepdims=True) == 1)  # frames of exactly one class
                cs = np.concatenate([np.zeros((1, t.shape[1]), int), np.cumsum(only, axis=0)])
                for c in range(t.shape[1]):
                    starts = np.nonzero(cs[n_frames:, c] - cs[:-n_frames, c] == n_frames)[0]
                    if len(starts):
                        by_class.setdefault(c, []).append((i, starts, len(starts)))
        if len(by_class) < 2:
            raise ParameterError("ExcerptDataset needs excerpts of both classes: single-class "
                                 f"entries at least {n_frames} frames long"
                                 + ("" if mixed else " (or mixed=True)"))
        self.classes = sorted(by_class)
        self.by_class = [by_class[c] for c in self.classes]
        self.weights = [np.array([k for _, _, k in e], dtype=np.float64) for e in self.by_class]
        self.weights = [w / w.sum() for w in self.weights]

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        rng = self._rng(k)
        c = int(rng.integers(len(self.classes)))
        i, starts, n = self.by_class[c][int(rng.choice(len(self.by_class[c]),
                                                        p=self.weights[c]))]
        s = int(rng.integers(0, n)) if starts is None else int(starts[rng.integers(0, n)])
        x = np.asarray(self.data.feats[i][s:s + self.n_frames], dtype=np.float32)
        if self.augment is not None:
            x = self.augment(x, rng)
        y = np.float32(self.classes[c] == self.target_index)
        return x, y


def _edge_window(f, start, stop):
    """Frames ``start:stop`` of ``f``, repeating the first/last frame outside it."""
    n = len(f)
    x = np.asarray(f[max(0, start):min(n, stop)], dtype=np.float32)
    if start < 0 or stop > n:
        x = np.concatenate([np.repeat(x[:1], max(0, -start), axis=0), x,
                            np.repeat(x[-1:], max(0, stop - n), axis=0)], axis=0)
    return x


class SequenceDataset(_SeededDraws):
    """Windows with frame targets (detection, onsets), the one sequence dataset.

    Training (``tiles=False``): every epoch draws ``n_per_epoch`` windows of
    ``n_frames`` frames from entries weighted by ``weights`` (default: their
    length); entries shorter than a window (utterances) are strung together
    with random pauses at the entry's floor (targets 0 there). Validation
    (``tiles=True``): consecutive windows covering every entry in order, the
    last one of each entry padded with its last frame and zero targets;
    :attr:`tiles` says which entry and frames each item holds.

    Parameters
    ----------
    data : FeatureSet
    n_frames : int
        Window length in (output-aligned) input frames.
    context : int
        Extra input frames on each side of a window (edge frames repeated at
        the ends of an entry), for models with valid convolutions; targets
        cover only the ``n_frames`` centre frames.
    time_stride : int
        Targets are averaged over this many frames (the model's output rate).
    n_per_epoch : int
        Windows per epoch (``tiles=False``).
    augment : SpecAugment or None
    mix_prob : float
        Probability of adding (power domain) a window of another entry with
        its targets OR-ed in (element-wise maximum), at a random relative
        gain in ``mix_gain_db`` — overlapping music+speech with exact labels.
    mix_gain_db : (float, float) [dB]
    unit_db : float [dB]
        Decibels per feature unit (for mixing; 10 for log10 power).
    seed : int
    weights : sequence of float or None
        Sampling weight of every entry (default: its length).
    tiles : bool
    loop_prob : float
        Probability that a training window drawn from a short entry without
        any target (a sound effect, an engine loop) is filled by repeating
        that entry periodically instead of stringing it with other entries:
        back to back (half of the time) or with the same pause of 0.05-1 s
        after every repetition, so recorded loops and short noises also
        appear as the steady periodic textures (engines, machines) that a
        single repetition does not show.
    start_prob : float
        Probability that a training window drawn from an entry at least a window
        long begins at the entry's first frame (its left context the repeated edge
        frame, as the runner pads at inference), so a file's first frames, whose
        analysis windows reach before the first sample, are seen in training as
        often as needed. 0 (default) draws nothing extra.

    Items are ``(x [shape=(n_frames + 2 * context, ...)] float32,
    y [shape=(ceil(n_frames / time_stride), k)] float32)``.
    """

    def __init__(self, data: FeatureSet, *, n_frames: int = 860, context: int = 0,
                 time_stride: int = 1, n_per_epoch: int = 2000, augment=None,
                 mix_prob: float = 0.0, mix_gain_db=(-15.0, 5.0), unit_db: float = 10.0,
                 seed: int = 0, weights=None, tiles: bool = False, loop_prob: float = 0.0,
                 start_prob: float = 0.0):
        if n_frames < 1 or context < 0 or time_stride < 1 or not len(data):
            raise ParameterError("SequenceDataset: n_frames >= 1, context >= 0, "
                                 "time_stride >= 1 and a non-empty FeatureSet needed")
        self.data, self.n_frames, self.context, self.stride = data, n_frames, context, time_stride
        self.n, self.augment, self.seed = n_per_epoch, augment, seed
        self.mix_prob, self.mix_gain_db, self.unit_db = mix_prob, tuple(mix_gain_db), unit_db
        self.epoch = 0
        lengths = np.array([len(f) for f in data.feats], dtype=np.float64)
        w = lengths if weights is None else np.asarray(weights, dtype=np.float64)
        self.p = w / w.sum()
        self.short = np.nonzero(lengths < n_frames)[0]
        if not 0.0 <= loop_prob <= 1.0:
            raise ParameterError(f"SequenceDataset: loop_prob must lie in [0, 1], got {loop_prob}")
        self.loop_prob = float(loop_prob)
        if not 0.0 <= start_prob <= 1.0:
            raise ParameterError(f"SequenceDataset: start_prob must lie in [0, 1], got {start_prob}")
        self.start_prob = float(start_prob)
        #: short entries without targets (repeated periodically with ``loop_prob``)
        self.loopable = np.zeros(len(lengths), dtype=bool)
        if self.loop_prob:
            for i in self.short:
                self.loopable[i] = not np.any(data.targets[i])
        if not len(self.short):
            self.short = np.arange(len(lengths))
        #: (entry, first frame, frames holding data) of every item when ``tiles``
        self.tiles = []
        if tiles:
            for i, n in enumerate(lengths.astype(int)):
                for s in range(0, max(n, 1), n_frames):
                    self.tiles.append((i, s, min(n_frames, n - s)))

    def __len__(self):
        return len(self.tiles) if self.tiles else self.n

    def _cut(self, i, s):
        f, t = self.data.feats[i], self.data.targets[i]
        n, h = self.n_frames, self.context
        x = _edge_window(f, s - h, s + n + h)
        y = t[s:s + n]
        if len(y) < n:
            y = np.concatenate([y, np.zeros((n - len(y), t.shape[1]), np.float32)])
        return x, y.copy()

    def _window(self, rng):
        i = int(rng.choice(len(self.data), p=self.p))
        f, t = self.data.feats[i], self.data.targets[i]
        n = self.n_frames
        if len(f) >= n:
            if self.start_prob and rng.random() < self.start_prob:
                return self._cut(i, 0)
            return self._cut(i, int(rng.integers(0, len(f) - n + 1)))
        if self.loopable[i] and rng.random() < self.loop_prob:
            return self._loop(f, t, rng)
        # short entry (an utterance): fill the window with a stream of short
        # entries separated by random pauses at the entry's noise floor
        h = self.context
        x = np.full((n + 2 * h,) + f.shape[1:], np.float32(np.percentile(f, 1)),
                    dtype=np.float32)
        y = np.zeros((n, t.shape[1]), dtype=np.float32)
        pos = int(rng.integers(0, max(1, min(n // 4, int(self.data.fps)))))
        while pos < n:
            m = min(len(f), n - pos)
            x[h + pos:h + pos + m] = f[:m]
            y[pos:pos + m] = t[:m]
            pos += m + int(rng.uniform(0.05, 1.5) * self.data.fps)
            j = int(rng.choice(self.short))
            f, t = self.data.feats[j], self.data.targets[j]
        return x, y

    def _loop(self, f, t, rng):
        """A window filled by repeating one short entry with a fixed period."""
        n, h = self.n_frames, self.context
        gap = 0 if rng.random() < 0.5 else int(rng.uniform(0.05, 1.0) * self.data.fps)
        cycle = np.asarray(f, dtype=np.float32)
        if gap:
            pause = np.full((gap,) + cycle.shape[1:], np.float32(np.percentile(f, 1)),
                            dtype=np.float32)
            cycle = np.concatenate([cycle, pause])
        total = n + 2 * h
        off = int(rng.integers(0, len(cycle)))
        reps = -(-(off + total) // len(cycle))
        x = np.concatenate([cycle] * reps)[off:off + total]
        # targets of an entry without targets: zeros throughout
        return x, np.zeros((n, t.shape[1]), dtype=np.float32)

    def __getitem__(self, k):
        if self.tiles:
            i, s, _ = self.tiles[k]
            x, y = self._cut(i, s)
            rng = self._rng(k)
        else:
            rng = self._rng(k)
            x, y = self._window(rng)
            if self.mix_prob and rng.random() < self.mix_prob:
                from .augment import mix_power
                x2, y2 = self._window(rng)
                gain = float(rng.uniform(*self.mix_gain_db)) / self.unit_db
                x = mix_power(x, x2, gain, unit_db=self.unit_db)
                y = np.maximum(y, y2)
        if self.augment is not None:
            x = self.augment(x, rng)
        m = -(-len(y) // self.stride)
        pad = m * self.stride - len(y)
        if pad:
            y = np.concatenate([y, np.repeat(y[-1:], pad, axis=0)])
        y = y.reshape(m, self.stride, -1).mean(axis=1)
        return np.ascontiguousarray(x, dtype=np.float32), y.astype(np.float32)
