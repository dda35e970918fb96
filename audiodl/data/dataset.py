"""Torch dataset layer over manifests for frame-level audio tasks.

* :class:`FeatureCache`: front-end features on disk, keyed by (file content
  hash, :attr:`FrontendConfig.hash`, augmentation variant).
* :func:`frame_targets`: ``start end label`` segments -> frame activity matrix.
* :class:`FeatureSet`: the features + targets of a list of items, in memory
  (float16), loaded through the cache.
* :func:`normalization_stats`: training-set mean/std per band or per pixel.
* :class:`SpecAugment`: spectrogram-domain augmentation (gain, EQ tilt/curve,
  band shift, noise floor, power-domain mixing of two excerpts).
* :class:`ExcerptDataset` (file-level classification, fixed-length
  excerpts, one label) and :class:`SequenceDataset` (frame targets for
  detection).

Features are ``(n_frames, n_bins)`` log spectrograms as
:func:`audiodl.features.spectrogram` returns them; times are in seconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..errors import ParameterError
from ..features.config import FrontendConfig

__all__ = ["file_hash", "default_cache_dir", "FeatureCache", "frame_targets", "FeatureSet",
           "normalization_stats", "SpecAugment", "ExcerptDataset", "SequenceDataset"]

log = logging.getLogger(__name__)


def file_hash(path, *, chunk: int = 1 << 20) -> str:
    """sha1 of a file's content (first 16 hex digits)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$AUDIODL_CACHE`` or ``~/.cache/audiodl``, plus ``/features``."""
    root = os.environ.get("AUDIODL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "audiodl")
    return Path(root) / "features"


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
    """

    def __init__(self, config: FrontendConfig, *, root=None, augment=None):
        self.config = config
        self.root = Path(root or default_cache_dir()) / config.hash
        self.augment = augment

    def path_for(self, path, *, variant: int = 0) -> Path:
        key = file_hash(path)
        return self.root / (f"{key}.npy" if variant == 0 else f"{key}.v{variant}.npy")

    def get(self, path, *, variant: int = 0) -> np.ndarray:
        """Features of ``path`` [shape=(n_frames, n_bins)], float32.

        ``variant`` 0 is the clean audio; ``k > 0`` applies ``augment`` with a
        generator seeded from the file hash and ``k`` (reproducible).
        """
        dest = self.path_for(path, variant=variant)
        if dest.exists():
            try:
                return np.load(dest, allow_pickle=False)
            except (OSError, ValueError):
                log.warning("cache entry %s unreadable; recomputing", dest)
        from ..features.frontend import spectrogram
        from ..io.audio import load

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
    out = np.zeros((n_frames, len(labels)), dtype=np.float32)
    t = np.arange(n_frames) / float(fps)
    for start, end, lab in segments:
        if lab in labels:
            out[(t >= start) & (t < end), labels.index(lab)] = 1.0
    return out


def _item_segments(item):
    """Segments of a manifest item: its ``segments`` annotation, else clip labels."""
    from .manifest import read_segments
    ann = item.get("annotations", {}) or {}
    if "segments" in ann:
        return read_segments(ann["segments"])
    if "segments" in item:  # inline
        return [tuple(s) for s in item["segments"]]
    return [(0.0, float(item["duration"]) + 1.0, lab) for lab in item.get("labels", [])]


class FeatureSet:
    """Features and frame targets of manifest items, held in memory.

    Parameters
    ----------
    items : list of dict
        Manifest items (resolved paths) with ``segments`` annotations or
        clip-level ``labels``.
    cache : FeatureCache
    labels : sequence of str
    variants : sequence of int
        Which cache variants to load for every item (0 = clean).

    Attributes
    ----------
    feats : list of np.ndarray [shape=(n_frames, n_bins)], float16
    targets : list of np.ndarray [shape=(n_frames, n_labels)], float32
    items : list of dict (one per entry; variants repeat items)
    """

    def __init__(self, items, cache: FeatureCache, *, labels=("music", "speech"),
                 variants=(0,), progress=None):
        self.labels = tuple(labels)
        self.fps = cache.config.fps
        self.feats, self.targets, self.items = [], [], []
        it = [(item, v) for item in items for v in variants]
        if progress is not None:
            it = progress(it)
        for item, v in it:
            x = cache.get(item["audio"], variant=v)
            self.feats.append(x.astype(np.float16))
            self.targets.append(frame_targets(_item_segments(item), n_frames=len(x),
                                              fps=self.fps, labels=self.labels))
            self.items.append(item)

    def __len__(self):
        return len(self.feats)

    @property
    def n_bins(self) -> int:
        return self.feats[0].shape[1]

    def clip_label(self, i) -> Optional[int]:
        """Index of the only class present in entry ``i``, or None (mixed/none)."""
        present = self.targets[i].max(axis=0) > 0
        return int(np.argmax(present)) if present.sum() == 1 else None


def normalization_stats(feats, *, per: str = "band", n_frames: int = 80,
                        max_frames: int = 2_000_000, seed: int = 0):
    """Training-set mean and std of features.

    Parameters
    ----------
    feats : list of np.ndarray [shape=(n_frames_i, n_bins)]
    per : {'band', 'pixel'}
        ``band``: shape ``(n_bins,)`` over all frames; ``pixel``: shape
        ``(n_frames, n_bins)`` over excerpts of ``n_frames`` (as Lidy 2015;
        on stationary excerpts this equals the band stats tiled).
    max_frames : int
        Subsample to at most this many frames (reproducibly).

    Returns
    -------
    mean, std : np.ndarray, float32
    """
    rng = np.random.default_rng(seed)
    total = sum(len(f) for f in feats)
    keep = min(1.0, max_frames / max(total, 1))
    if per == "band":
        acc = [np.asarray(f, dtype=np.float64)[rng.random(len(f)) < keep] for f in feats]
        x = np.concatenate(acc)
        return x.mean(0).astype(np.float32), x.std(0).astype(np.float32)
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


class SpecAugment:
    """Random augmentation of log10 power spectrogram excerpts.

    All changes act on ``x [shape=(n_frames, n_bins)]`` in log10 power units
    (1.0 = 10 dB).

    Parameters
    ----------
    gain : float [log10 units]
        Uniform random gain in ``[-gain, gain]``.
    eq : float [log10 units]
        Amplitude of a smooth random curve across bands (random EQ).
    shift : int [bands]
        Random shift of the band axis in ``[-shift, shift]`` (edge-padded),
        a crude pitch shift.
    noise_prob : float
        Probability of adding a random coloured noise floor (power domain).
    noise_snr : (float, float) [dB]
        Range of the noise level below the excerpt's mean power.
    lowpass_prob : float
        Probability of a steep low-pass: the bands above a random cut-off
        (between 40 % and 90 % of the bands) fall to the excerpt's floor, so
        band-limited recordings (telephone, 16 kHz speech, codecs) are seen
        in both classes.
    """

    def __init__(self, *, gain: float = 1.0, eq: float = 0.5, shift: int = 2,
                 noise_prob: float = 0.3, noise_snr=(5.0, 40.0), lowpass_prob: float = 0.3):
        self.gain, self.eq, self.shift = gain, eq, shift
        self.noise_prob, self.noise_snr = noise_prob, noise_snr
        self.lowpass_prob = lowpass_prob

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        n_bins = x.shape[1]
        if self.shift:
            s = int(rng.integers(-self.shift, self.shift + 1))
            if s > 0:
                x = np.concatenate([np.repeat(x[:, :1], s, axis=1), x[:, :-s]], axis=1)
            elif s < 0:
                x = np.concatenate([x[:, -s:], np.repeat(x[:, -1:], -s, axis=1)], axis=1)
        if self.lowpass_prob and rng.random() < self.lowpass_prob:
            cut = int(rng.integers(int(0.4 * n_bins), int(0.9 * n_bins)))
            floor = np.float32(np.percentile(x, 1))
            ramp = np.minimum(np.arange(n_bins - cut, dtype=np.float32), 4.0) / 4.0
            x = x.copy()
            x[:, cut:] = x[:, cut:] * (1 - ramp) + (floor - 1.0) * ramp
        if self.eq:
            knots = rng.uniform(-self.eq, self.eq, size=4)
            curve = np.interp(np.linspace(0, 3, n_bins), np.arange(4), knots)
            x = x + curve.astype(np.float32)[None, :]
        if self.gain:
            x = x + np.float32(rng.uniform(-self.gain, self.gain))
        if self.noise_prob and rng.random() < self.noise_prob:
            level = np.log10(np.mean(10.0 ** x.astype(np.float64)) + 1e-12)
            level -= rng.uniform(*self.noise_snr) / 10.0
            tilt = rng.uniform(-1.0, 0.5) * np.linspace(0, 1, n_bins)
            noise = level + tilt + np.log10(rng.exponential(1.0, size=x.shape) + 1e-6) * 0.5
            x = np.logaddexp(x * np.log(10), noise * np.log(10)) / np.log(10)
        return x.astype(np.float32)


def mix_power(a: np.ndarray, b: np.ndarray, gain_b: float) -> np.ndarray:
    """Power-domain sum of two log10 spectrograms, ``b`` scaled by ``gain_b`` (log10 units)."""
    ln10 = np.log(10)
    return (np.logaddexp(a * ln10, (b + gain_b) * ln10) / ln10).astype(np.float32)


class _SeededDraws(Dataset):
    """Per-item random generators: fixed per epoch (validation) or fresh per call (training).

    Subclasses set ``self.seed``, ``self.epoch = -1`` and ``self._draws = 0``.
    """

    def set_epoch(self, epoch: int) -> None:
        """Fixed draws for an epoch (e.g. a validation set); ``-1`` = fresh draws per call."""
        self.epoch = epoch

    def _rng(self, k):
        if self.epoch >= 0:
            return np.random.default_rng([self.seed, self.epoch, k])
        self._draws += 1  # training: new excerpts every epoch, reproducible call order
        return np.random.default_rng([self.seed, 1 << 20, self._draws, k])


class ExcerptDataset(_SeededDraws):
    """Fixed-length excerpts with one label each (file-level classification).

    Every epoch draws ``n_per_epoch`` excerpts: an entry of a class chosen
    uniformly (classes balanced), then a random excerpt fully inside it.
    Only single-class entries are used.

    Parameters
    ----------
    data : FeatureSet
    n_frames : int
    n_per_epoch : int
    augment : SpecAugment or None
    seed : int
    target_index : int
        Label column whose presence is the positive class (``speech`` = 1).

    Items are ``(x [shape=(n_frames, n_bins)] float32, y float32 scalar)``.
    """

    def __init__(self, data: FeatureSet, *, n_frames: int = 80, n_per_epoch: int = 20000,
                 augment: Optional[SpecAugment] = None, seed: int = 0, target_index: int = 1):
        self.data, self.n_frames, self.n = data, n_frames, n_per_epoch
        self.augment, self.seed, self.target_index = augment, seed, target_index
        self.epoch, self._draws = -1, 0
        by_class = {}
        for i in range(len(data)):
            c = data.clip_label(i)
            if c is not None and len(data.feats[i]) >= n_frames:
                by_class.setdefault(c, []).append(i)
        if len(by_class) < 2:
            raise ParameterError("ExcerptDataset needs single-class entries of both classes")
        self.by_class = [np.array(by_class[c]) for c in sorted(by_class)]
        self.classes = sorted(by_class)
        # weight entries by length so long files are not undersampled
        self.weights = [np.array([len(data.feats[i]) for i in idx], dtype=np.float64)
                        for idx in self.by_class]
        self.weights = [w / w.sum() for w in self.weights]

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        rng = self._rng(k)
        c = int(rng.integers(len(self.classes)))
        i = int(rng.choice(self.by_class[c], p=self.weights[c]))
        f = self.data.feats[i]
        s = int(rng.integers(0, len(f) - self.n_frames + 1))
        x = np.asarray(f[s:s + self.n_frames], dtype=np.float32)
        if self.augment is not None:
            x = self.augment(x, rng)
        y = np.float32(self.classes[c] == self.target_index)
        return x, y


class SequenceDataset(_SeededDraws):
    """Random windows with frame targets (detection), optionally mixed.

    Parameters
    ----------
    data : FeatureSet
    n_frames : int
        Window length in input frames.
    time_stride : int
        Targets are max-pooled by this factor to the model's output rate.
    n_per_epoch : int
    augment : SpecAugment or None
    mix_prob : float
        Probability of adding (power domain) a window of another entry with
        its targets OR-ed in, at a random relative gain in ``mix_gain``
        [log10 units] — creates overlapping music+speech with exact labels.
    mix_gain : (float, float)
    seed : int
    weights : sequence of float or None
        Sampling weight of every entry (default: its length).

    Items are ``(x [shape=(n_frames, n_bins)] float32, y [shape=(ceil(n_frames /
    time_stride), n_labels)] float32)``.
    """

    def __init__(self, data: FeatureSet, *, n_frames: int = 860, time_stride: int = 2,
                 n_per_epoch: int = 2000, augment: Optional[SpecAugment] = None,
                 mix_prob: float = 0.3, mix_gain=(-1.5, 0.5), seed: int = 0, weights=None):
        self.data, self.n_frames, self.stride = data, n_frames, time_stride
        self.n, self.augment, self.seed = n_per_epoch, augment, seed
        self.mix_prob, self.mix_gain = mix_prob, mix_gain
        self.epoch, self._draws = -1, 0
        lengths = np.array([len(f) for f in data.feats], dtype=np.float64)
        w = lengths if weights is None else np.asarray(weights, dtype=np.float64)
        self.p = w / w.sum()
        self.short = np.nonzero(lengths < n_frames)[0]
        if not len(self.short):
            self.short = np.arange(len(lengths))

    def __len__(self):
        return self.n

    def _window(self, rng):
        i = int(rng.choice(len(self.data), p=self.p))
        f, t = self.data.feats[i], self.data.targets[i]
        n = self.n_frames
        if len(f) >= n:
            s = int(rng.integers(0, len(f) - n + 1))
            return np.asarray(f[s:s + n], dtype=np.float32), t[s:s + n].copy()
        # short entry (an utterance): fill the window with a stream of short
        # entries separated by random pauses at the entry's noise floor
        x = np.full((n, f.shape[1]), np.float32(np.percentile(f, 1)), dtype=np.float32)
        y = np.zeros((n, t.shape[1]), dtype=np.float32)
        pos = int(rng.integers(0, max(1, min(n // 4, int(self.data.fps)))))
        while pos < n:
            m = min(len(f), n - pos)
            x[pos:pos + m] = f[:m]
            y[pos:pos + m] = t[:m]
            pos += m + int(rng.uniform(0.05, 1.5) * self.data.fps)
            j = int(rng.choice(self.short))
            f, t = self.data.feats[j], self.data.targets[j]
        return x, y

    def __getitem__(self, k):
        rng = self._rng(k)
        x, y = self._window(rng)
        if self.mix_prob and rng.random() < self.mix_prob:
            x2, y2 = self._window(rng)
            x = mix_power(x, x2, float(rng.uniform(*self.mix_gain)))
            y = np.maximum(y, y2)
        if self.augment is not None:
            x = self.augment(x, rng)
        m = -(-len(y) // self.stride)
        pad = m * self.stride - len(y)
        if pad:
            y = np.concatenate([y, np.repeat(y[-1:], pad, axis=0)])
        y = y.reshape(m, self.stride, -1).mean(axis=1)
        return x, y.astype(np.float32)
