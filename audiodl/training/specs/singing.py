"""Training spec of singing-voice detection (Schlüter & Grill, ISMIR 2015).

``audiodl train singing --config FILE`` trains :class:`~audiodl.models.singing.SchlueterSVD`
(``svd_schlueter``) on the ``svd_schlueter`` front end (22.05 kHz, 70 fps,
80 yaafe-style mel bands 27.5-8000 Hz, log magnitude), standardised per band
with training-set statistics.

Data: JSONL manifests (relative to the data root, or absolute), e.g. those of
``audiodl synth singing``. Every item of ``manifests`` trains and every item
of ``valid_manifests`` validates (the synthetic corpora are generated
separately, so their own 90/5/5 ``split`` field is ignored unless
``train_splits`` / ``valid_splits`` select splits, as for Jamendo). Targets come from the item's
``annotations.vocals`` ``.lab`` file (``sing``/``nosing``, Jamendo's format),
else from ``segments`` labelled ``singing``; items without either count as
no singing. ``join_gap`` (seconds, default 0) closes the gaps of at most that
length between sung segments when the labels are read
(:func:`audiodl.evaluation.singing.join_gaps`): phrase-level labels, as
Jamendo's, from the synthetic corpora's note-level ones; the card records it
(``training.data.label_join_gap``) and the recipe scores with it. Vocal items whose ``meta.voice`` is in ``exclude_voices`` are
dropped from training *and* validation: the held-out engine/voice for the
generalisation test.

Training examples are windows of ``window`` output frames with the network's
57 context frames on each side; the fully convolutional network computes all
``window`` excerpt outputs of a window at once (each equals the excerpt CNN on
the 115 frames around its frame). Augmentation, as in the paper, acts on the
log-mel spectrogram:

* ``pitch_shift`` — frequency axis scaled by a random factor in ``1 ± pitch_shift``
  (interpolated over the bands' centre frequencies);
* ``time_stretch`` — time axis scaled by a random factor in ``1 ± time_stretch``
  (targets follow);
* ``filter_db`` — a random smooth frequency filter of ``± filter_db`` dB;
* ``loudness_db`` — a random gain of ``± loudness_db`` dB.

The last two use :class:`audiodl.data.augment.SpecAugment`; pitch shift and
time stretch are :class:`StretchShiftWindows` here (the shared augmentation
has only whole-band shifts and no time stretch). After training the
decoder's threshold (and, if several are given, the median length) is tuned
on the validation files by minimising the frame error.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
from torch.utils.data import Dataset

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["SingingConfig", "SingingSpec", "StretchShiftWindows", "band_centres", "pitch_shift_matrix",
           "item_targets", "read_items", "tune_decoder", "FRONTEND", "LABELS"]

log = logging.getLogger(__name__)

FRONTEND = "svd_schlueter"
LABELS = ("singing",)
LICENCE = "CC-BY-SA-3.0 (trained on synthetic songs: GPL/free soundfonts, MBROLA voices)"
PAPER = ("J. Schlüter and T. Grill, Exploring data augmentation for improved singing voice "
         "detection with neural networks, ISMIR 2015")


@dataclass
class SingingConfig(SpecConfig):
    """Config of ``audiodl train singing``.

    Parameters
    ----------
    manifests : list of str
        Training manifests (every item trains).
    valid_manifests : list of str
        Validation manifests (every item validates and tunes the decoder).
    exclude_voices : list of str
        ``meta.voice`` or ``meta.engine`` values left out of training and
        validation (e.g. ``mbrola:us2`` or the engine ``world``): the
        generalisation test.
    kind_weights : str
        JSON object: sampling weight of training items by ``meta.kind``
        (default 1): a window is drawn from an item with probability
        proportional to its length times this weight, e.g.
        ``'{"speech": 3, "mixed": 2}'`` to show the hard negatives more often.
    init : str
        Weights (a ``state_dict`` ``.pt`` of the same architecture, e.g. an
        earlier run's ``best.pt`` or ``<name>.pt``) to start from instead of a
        random initialisation; its per-band statistics are kept. Relative to
        the data root, or absolute; empty: train from scratch.
    train_splits, valid_splits : list of str
        Keep only items whose ``split`` is listed (empty: every item), for
        corpora with their own splits in one manifest (e.g. Jamendo:
        ``train_splits=["train"]``, ``valid_splits=["valid"]``).
    window : int [frames]
        Output frames per training window (input: ``window + 114`` frames).
    n_valid : int
        Validation windows (fixed draws) for the per-epoch score.
    pitch_shift, time_stretch : float
        Maximum relative pitch shift / time stretch (0.3 = ±30 %; 0 = off).
    filter_db, loudness_db : float [dB]
        Random frequency filter and gain amplitudes (0 = off).
    medians : list of float [s]
        Median filter lengths tried when tuning (the paper: 0.8 s).
    join_gap : float [s]
        Label convention: gaps of at most this length between sung segments
        count as singing (0: the labels as written).
    tune : bool
        Tune the decoder on the validation files after training.
    """

    name: str = "singing_cnn"
    arch: str = "svd_schlueter"
    manifests: list[str] = field(default_factory=lambda: ["singing/train/manifest.jsonl"])
    valid_manifests: list[str] = field(default_factory=lambda: ["singing/valid/manifest.jsonl"])
    exclude_voices: list[str] = field(default_factory=lambda: ["mbrola:us2"])
    train_splits: list[str] = field(default_factory=list)
    valid_splits: list[str] = field(default_factory=list)
    init: str = ""
    kind_weights: str = "{}"
    window: int = 128
    n_valid: int = 64
    pitch_shift: float = 0.3
    time_stretch: float = 0.3
    filter_db: float = 10.0
    loudness_db: float = 10.0
    medians: list[float] = field(default_factory=lambda: [0.8])
    join_gap: float = 0.0
    tune: bool = True
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    max_steps_per_epoch: int | None = 50
    monitor: str = "accuracy"

    def __post_init__(self):
        super().__post_init__()
        if self.window < 1 or self.n_valid < 1:
            raise ParameterError("window and n_valid must be >= 1")
        if not 0 <= self.pitch_shift < 1 or not 0 <= self.time_stretch < 1:
            raise ParameterError("pitch_shift and time_stretch must lie in [0, 1)")
        if self.filter_db < 0 or self.loudness_db < 0:
            raise ParameterError("filter_db and loudness_db must be >= 0 dB")
        if any(float(w) < 0 for w in self.kind_weight_map().values()):
            raise ParameterError("kind_weights must be >= 0")
        if not self.join_gap >= 0:
            raise ParameterError("join_gap must be >= 0 seconds")
        if not self.medians or any(m < 0 for m in self.medians):
            raise ParameterError("medians: one or more lengths >= 0 seconds")


    def kind_weight_map(self) -> dict:
        """``kind_weights`` parsed (dict of str to float)."""
        import json
        try:
            d = json.loads(self.kind_weights or "{}")
        except ValueError as exc:
            raise ParameterError(f"kind_weights: not a JSON object: {exc}") from exc
        if not isinstance(d, dict):
            raise ParameterError("kind_weights: a JSON object of kind -> weight")
        return {str(k): float(v) for k, v in d.items()}


def item_targets(item, n_frames: int, fps: float, join_gap: float = 0.0) -> np.ndarray:
    """Frame targets ``(n_frames, 1)`` of an item: 1 where a voice sings.

    ``join_gap`` [s] > 0: gaps of at most that length between sung segments
    count as singing (:func:`audiodl.evaluation.singing.join_gaps`).
    """
    from ...data.dataset import frame_targets
    from ...data.manifest import read_segments
    ann = item.get("annotations", {}) or {}
    if "vocals" in ann:
        segs = [(a, b, "singing" if lab == "sing" else lab) for a, b, lab in
                read_segments(ann["vocals"])]
    else:
        segs = [tuple(s) for s in item.get("segments", [])]
    if join_gap:
        from ...evaluation.singing import join_gaps
        j = join_gaps(segs, join_gap)
        segs = [(float(a), float(b), "singing") for a, b in j.intervals]
    return frame_targets(segs, n_frames=n_frames, fps=fps, labels=LABELS)


def read_items(manifests, *, data_root, exclude_voices=(), splits=()) -> list:
    """Items of ``manifests`` (of ``splits``, if given) without those sung by ``exclude_voices``
    (matched against ``meta.voice`` and ``meta.engine``)."""
    from ...data.manifest import read_manifest
    from ...data.paths import resolve_data_path
    out = []
    excluded = set(exclude_voices)
    for rel in manifests:
        for it in read_manifest(resolve_data_path(rel, data_root)):
            meta = it.get("meta") or {}
            if meta.get("voice") in excluded or meta.get("engine") in excluded:
                continue
            if splits and it.get("split") not in set(splits):
                continue
            out.append(it)
    return out


def band_centres(config) -> np.ndarray:
    """Centre frequency of every band of a front end [Hz] (weighted mean of its filter)."""
    from ...features.filterbanks import fft_frequencies, filterbank_for
    n_fft = config.n_ffts[0]
    w = np.asarray(filterbank_for(config, n_fft), dtype=np.float64)
    f = fft_frequencies(config.sr, n_fft)
    if w.shape[0] != len(f):
        w = w.T
    return (f[:, None] * w).sum(0) / np.maximum(w.sum(0), 1e-12)


def pitch_shift_matrix(centres, factor) -> np.ndarray:
    """Matrix ``m`` such that ``x @ m`` pitch-shifts log-mel frames ``x`` by ``factor``.

    Band ``b`` of the result reads the input at frequency ``centres[b] / factor``
    (linear interpolation over the band centres, edges repeated): the
    spectrogram pitch shift of Schlüter & Grill, used in training and for
    test-time pitch-shift averaging.

    Parameters
    ----------
    centres : np.ndarray [shape=(n_bins,)] [Hz]
    factor : float
        > 1 shifts up.

    Returns
    -------
    np.ndarray [shape=(n_bins, n_bins)], float32
    """
    centres = np.asarray(centres, dtype=np.float64)
    n = len(centres)
    pos = np.interp(centres / factor, centres, np.arange(n))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = pos - lo
    m = np.zeros((n, n), dtype=np.float32)
    m[lo, np.arange(n)] += 1 - w
    m[hi, np.arange(n)] += w
    return m


class StretchShiftWindows(Dataset):
    """Training windows with Schlüter & Grill's spectrogram pitch shift and time stretch.

    Item ``k`` of epoch ``e`` draws from ``default_rng([seed, e, k])``: an
    entry (weighted by length), a stretch factor ``s`` and a pitch factor
    ``p``, then ``window + context - 1`` input frames read every ``s``
    frames (linear interpolation, edges repeated) and each band ``b`` read
    at frequency ``centre[b] / p`` (linear interpolation over the band
    centres, edges repeated). The target of output ``j`` is the target at
    the (stretched) position of its centre frame; centres stay inside the
    entry (only context frames may lie outside it, as at inference).

    Parameters
    ----------
    data : FeatureSet
    window : int [frames]
        Outputs per item.
    context : int [frames]
        The model's receptive field (odd).
    centres : np.ndarray [shape=(n_bins,)] [Hz]
        Band centre frequencies (:func:`band_centres`).
    n_per_epoch : int
    pitch_shift, time_stretch : float
        Maximum relative change (0 = off).
    augment : callable ``(x, rng) -> x`` or None
        Applied afterwards (e.g. :class:`~audiodl.data.augment.SpecAugment`).
    seed : int
    weights : sequence of float or None
        Per-entry sampling weights (multiplying the length; None: all 1).

    Items are ``(x [shape=(window + context - 1, n_bins)] float32,
    y [shape=(window, 1)] float32)``.
    """

    def __init__(self, data, *, window: int, context: int, centres, n_per_epoch: int,
                 pitch_shift: float = 0.0, time_stretch: float = 0.0, augment=None,
                 seed: int = 0, weights=None):
        if not len(data):
            raise ParameterError("StretchShiftWindows: no training entries")
        self.data, self.window, self.context = data, int(window), int(context)
        self.centres = np.asarray(centres, dtype=np.float64)
        self.n, self.pitch_shift, self.time_stretch = int(n_per_epoch), pitch_shift, time_stretch
        self.augment, self.seed, self.epoch = augment, seed, 0
        lengths = np.array([len(f) for f in data.feats], dtype=np.float64)
        if weights is not None:
            lengths = lengths * np.asarray(weights, dtype=np.float64)
        self.p = lengths / lengths.sum()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self):
        return self.n

    def _band_matrix(self, factor):
        return pitch_shift_matrix(self.centres, factor)

    def __getitem__(self, k):
        rng = np.random.default_rng([self.seed, self.epoch, int(k)])
        i = int(rng.choice(len(self.data), p=self.p))
        f, t = self.data.feats[i], self.data.targets[i]
        s = float(rng.uniform(1 - self.time_stretch, 1 + self.time_stretch)) \
            if self.time_stretch else 1.0
        p = float(rng.uniform(1 - self.pitch_shift, 1 + self.pitch_shift)) \
            if self.pitch_shift else 1.0
        n_in = self.window + self.context - 1
        h = self.context // 2
        # output centres inside the entry; context frames outside it repeat its edges
        lo_start, hi_start = -s * h, len(f) - 1 - s * (h + self.window - 1)
        start = float(rng.uniform(lo_start, max(hi_start, lo_start + 1e-6)))
        pos = start + s * np.arange(n_in)
        lo = np.clip(np.floor(pos).astype(int), 0, len(f) - 1)
        hi = np.clip(lo + 1, 0, len(f) - 1)
        w = np.clip(pos - np.floor(pos), 0, 1)[:, None].astype(np.float32)
        w[pos < 0] = 0.0
        x = np.asarray(f[lo], np.float32) * (1 - w) + np.asarray(f[hi], np.float32) * w
        if p != 1.0:
            x = x @ self._band_matrix(p)
        centre = np.clip(np.round(pos[h:h + self.window]).astype(int), 0, len(t) - 1)
        y = t[centre].copy()
        if self.augment is not None:
            x = self.augment(x, rng)
        return np.ascontiguousarray(x, dtype=np.float32), y.astype(np.float32)


class SingingSpec(TrainingSpec):
    """Schlüter & Grill singing-voice CNN with spectrogram augmentation."""

    task = "singing"
    config_class = SingingConfig
    default_name = "singing_cnn"

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import SpecAugment, db_per_unit
        from ...data.dataset import FeatureCache, FeatureSet, normalization_stats
        from ...features.config import preset
        from ...models.registry import build
        fe = preset(FRONTEND)
        tr_items = read_items(config.manifests, data_root=data_root,
                              exclude_voices=config.exclude_voices,
                              splits=config.train_splits)
        va_items = read_items(config.valid_manifests, data_root=data_root,
                              exclude_voices=config.exclude_voices,
                              splits=config.valid_splits)
        if not tr_items or not va_items:
            raise ParameterError(f"singing: {len(tr_items)} train / {len(va_items)} valid items "
                                 f"in {config.manifests} / {config.valid_manifests}; both must "
                                 "be non-empty")
        cache = FeatureCache(fe, root=config.feature_cache or None)
        targets = functools.partial(item_targets, join_gap=config.join_gap)
        tr = FeatureSet(tr_items, cache, targets=targets, labels=LABELS)
        va = FeatureSet(va_items, cache, targets=targets, labels=LABELS)
        model = build(config.arch, parse_arch_args(config.arch_args))
        if getattr(model, "kind", "") != "frames":
            raise ParameterError(f"{config.arch} is not a frame-level model")
        mean, std = normalization_stats(tr.feats, per="band", seed=config.seed)
        model.norm.set_stats(mean, std)
        if config.init:
            import torch

            from ...data.paths import resolve_data_path
            state = torch.load(resolve_data_path(config.init, data_root), map_location="cpu",
                               weights_only=True)
            model.load_state_dict(state)  # strict: same architecture; keeps its band statistics
            log.info("singing: initialised from %s", config.init)
        spec_aug = None
        if config.filter_db or config.loudness_db:
            spec_aug = SpecAugment(unit_db=db_per_unit(fe), gain_db=config.loudness_db,
                                   eq_db=config.filter_db, shift=0, noise_prob=0.0,
                                   lowpass_prob=0.0)
        centres = band_centres(fe)
        kw = config.kind_weight_map()
        steps = config.max_steps_per_epoch or 50
        rf = model.receptive_field
        train_ds = StretchShiftWindows(tr, window=config.window, context=rf, centres=centres,
                                       n_per_epoch=config.batch_size * steps,
                                       pitch_shift=config.pitch_shift,
                                       time_stretch=config.time_stretch, augment=spec_aug,
                                       seed=config.seed,
                                       weights=[kw.get((it.get("meta") or {}).get("kind", ""), 1.0)
                                                for it in tr.items] if kw else None)
        valid_ds = StretchShiftWindows(va, window=config.window, context=rf, centres=centres,
                                       n_per_epoch=config.n_valid, seed=12345)

        def hours(items):
            return round(sum(float(it["duration"]) for it in items) / 3600, 3)

        voices = sorted({(it.get("meta") or {}).get("voice") for it in tr_items} - {None})
        engines = sorted({(it.get("meta") or {}).get("engine")
                          or ("mbrola" if (it.get("meta") or {}).get("voice", "").startswith("mbrola:")
                              else None) for it in tr_items} - {None})
        kinds = {}
        for it in tr_items:
            k = (it.get("meta") or {}).get("kind", "?")
            kinds[k] = kinds.get(k, 0) + 1
        data = {"manifests": list(config.manifests),
                "valid_manifests": list(config.valid_manifests),
                "n_train_items": len(tr_items), "n_valid_items": len(va_items),
                "train_hours": hours(tr_items), "valid_hours": hours(va_items),
                "train_kinds": kinds, "singing_engines_seen": engines,
                "singing_voices_seen": voices,
                "held_out_voices": list(config.exclude_voices),
                "initialised_from": config.init or None,
                "kind_weights": kw,
                "label_join_gap": config.join_gap,
                "augmentation": (f"pitch shift ±{config.pitch_shift:g}, time stretch "
                                 f"±{config.time_stretch:g}, frequency filter "
                                 f"±{config.filter_db:g} dB, loudness ±{config.loudness_db:g} dB "
                                 "(on the log-mel spectrogram)")}
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"frontend": fe, "valid_set": va, "data_root": data_root})

    def loss(self, config):
        import torch
        return torch.nn.BCEWithLogitsLoss()

    def forward(self, config):
        def forward_fn(net, batch, loss_fn):
            x, y = batch[0], batch[1]
            out = net(x, pad=False)  # (b, window, 1): the context is in the window
            return loss_fn(out, y), out
        return forward_fn

    def metrics(self, config, prepared):
        def metric_fn(outs, targets):
            import torch
            o = (torch.cat(outs) > 0).flatten()
            t = (torch.cat(targets) > 0.5).flatten()
            tp, fp = float((o & t).sum()), float((o & ~t).sum())
            fn = float((~o & t).sum())
            return {"accuracy": float((o == t).float().mean()),
                    "f1": 2 * tp / max(2 * tp + fp + fn, 1.0)}
        return metric_fn

    def tune(self, model, config, prepared):
        if not config.tune:
            return None
        acts, refs, durs = valid_activations(model, prepared.extra["valid_set"])
        dec, scores = tune_decoder(acts, refs, durs, medians=config.medians)
        return {"offline": dec, "online": None,
                "tuned_on": f"validation files ({len(acts)}): frame error on a 70 fps grid, "
                            "counts summed over files",
                "scores": scores}

    def card(self, model, config, prepared, *, info, decoder):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder, tuned_key="valid_decoded")
        if decoder and "scores" in decoder:
            metrics["headline"] = (f"valid frame error {decoder['scores']['error']:.3f}, "
                                   f"F1 {decoder['scores']['f1']:.3f}")
        return build_card(
            name=info.name, task=self.task, arch=config.arch,
            args=parse_arch_args(config.arch_args), frontend=prepared.extra["frontend"],
            labels=list(LABELS), layout="same", decoder=dec,
            training=self.training_info(config, info, prepared.data,
                                        **init_provenance(config.init,
                                                          data_root=prepared.extra.get("data_root"))),
            metrics=metrics, normalization="per-band", licence=LICENCE, paper=PAPER,
            recipe="recipes/singing",
            description="Frame-wise singing-voice detector (70 fps); speech over music, "
                        "instrumental leads and choir pads are negatives.")


def init_provenance(init, *, data_root=None) -> dict:
    """Card fields recording the run a model continued from (``config.init``).

    Reads the card (``*.json`` with a ``training`` section) in the folder of the
    ``init`` weights, if there is one, and returns ``{"previous_run": {...}}`` with its
    command, seconds, epochs, best epoch, seed and data summary; ``{}`` when
    ``init`` is empty or no card is found there.
    """
    import json
    from pathlib import Path

    from ...data.paths import resolve_data_path
    if not init:
        return {}
    folder = Path(resolve_data_path(init, data_root)).parent
    for card_path in sorted(folder.glob("*.json")):
        try:
            prev = json.loads(card_path.read_text())
        except (OSError, ValueError):
            continue
        tr = prev.get("training") if isinstance(prev, dict) else None
        if not isinstance(tr, dict) or "command" not in tr:
            continue
        data = tr.get("data") if isinstance(tr.get("data"), dict) else {}
        keep = ("manifests", "n_train_items", "train_hours", "train_kinds", "singing_engines_seen",
                "augmentation")
        return {"previous_run": {"weights": init, "name": prev.get("name"), "command": tr["command"],
                           "seconds": tr.get("seconds"), "best_epoch": tr.get("best_epoch"),
                           "seed": tr.get("seed"),
                           "epochs": (tr.get("config") or {}).get("epochs"),
                           "data": {k: data[k] for k in keep if k in data}}}
    return {}


def valid_activations(model, feature_set):
    """Whole-file activations of a FeatureSet's entries, with references and durations."""
    import torch

    from ...types import Activations, Segments
    model.eval()
    dev = next(model.parameters()).device
    acts, refs, durs = [], [], []
    fps = feature_set.fps
    with torch.no_grad():
        for f, t in zip(feature_set.feats, feature_set.targets):
            x = torch.from_numpy(np.asarray(f, dtype=np.float32))[None].to(dev)
            v = torch.sigmoid(model(x))[0].cpu().numpy()
            acts.append(Activations(values=v, fps=fps, labels=LABELS,
                                    audio_duration=len(f) / fps))
            on = np.concatenate([[0], (t[:, 0] > 0.5).astype(np.int8), [0]])
            d = np.diff(on)
            starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
            iv = np.stack([starts / fps, ends / fps], axis=1) if len(starts) else \
                np.zeros((0, 2))
            refs.append(Segments(intervals=iv, labels=LABELS * len(iv)))
            durs.append(len(f) / fps)
    return acts, refs, durs


HYSTERESIS_LOWS = (0.01, 0.02, 0.03)


def tune_decoder(acts, refs, durations, *, medians=(0.8,), thresholds=None,
                 objective="error", negatives=None, max_negative_fp=None, max_file_fp=None,
                 methods=("threshold",)):
    """Median length and threshold minimising the summed frame error (or the balanced error).

    Parameters
    ----------
    acts : list of Activations [shape=(n_frames, 1)]
    refs : list of Segments (``singing``)
    durations : list of float [s]
    medians : sequence of float [s]
    thresholds : sequence of float or None
        Default 0.05, 0.10, ..., 0.95.
    objective : str
        ``"error"`` (frame error, counts summed over files) or
        ``"balanced_error"`` (1 - (recall + specificity) / 2: singing and
        non-singing frames weigh the same however rare the latter are in
        the validation files).
    negatives : sequence of bool or None
        Which files hold no singing by design (speech over music,
        instrumental leads, choir pads: the hard negatives).
    max_negative_fp : float or None
        Keep only decoders whose false-positive rate over the ``negatives``
        files is at most this; if none does, the one with the lowest such
        rate (ties: by ``objective``).
    max_file_fp : float or None
        Also keep only decoders whose false-positive rate on *each* of the
        ``negatives`` files is at most this (the pooled rate can hide one
        lead called singing for a third of its length); violations of both
        limits add up when no decoder meets them.
    methods : sequence of {'threshold', 'hysteresis'}
        Decision rules searched. ``hysteresis`` adds every lower threshold
        ``low`` in 0.01, 0.02, 0.03 and the ``thresholds`` grid below each
        threshold (a segment is a run of frames >= ``low`` that holds a frame
        >= ``threshold``); ties keep the earlier method.

    Returns
    -------
    decoder : dict
        Parameters of :class:`audiodl.tasks.singing.SingingParams` (``method``,
        ``threshold``, ``median``; ``low`` for hysteresis).
    scores : dict
        :func:`audiodl.evaluation.singing.aggregate` of that decoder on the
        same files.
    """
    from ...decoders.smoothing import decode_segments
    from ...evaluation.singing import aggregate, evaluate
    if objective not in ("error", "balanced_error"):
        raise ParameterError(f"tune_decoder: objective {objective!r} is not error/balanced_error")
    if not methods or set(methods) - {"threshold", "hysteresis"}:
        raise ParameterError(f"tune_decoder: methods {methods!r}: threshold and/or hysteresis")
    thresholds = thresholds if thresholds is not None else np.round(np.arange(0.05, 0.96, 0.05), 2)

    def score(r):
        return r["error"] if objective == "error" else 1 - (r["recall"] + r["specificity"]) / 2
    neg = [bool(x) for x in negatives] if negatives is not None else [False] * len(acts)
    limit = max_negative_fp if (max_negative_fp is not None and any(neg)) else None
    file_limit = max_file_fp if (max_file_fp is not None and any(neg)) else None

    def key(res, neg_fp, worst):
        over = max(0.0, neg_fp - limit) if limit is not None else 0.0
        if file_limit is not None:
            over += max(0.0, worst - file_limit)
        return (over, score(res))
    import dataclasses

    from ...decoders.smoothing import median_filter
    best = None
    for med in medians:
        # the median filter once per file and length (decode_segments' own filter, then
        # median=0 below: the same segments as decoding with ``median=med``)
        smoothed = [a if med <= 0 else dataclasses.replace(
            a, values=median_filter(np.asarray(a.values).reshape(len(a.values), -1),
                                    size=max(1, int(round(med * a.fps)))))
            for a in acts]
        decoders = []
        for method in methods:
            for thr in thresholds:
                if method == "threshold":
                    decoders.append({"method": "threshold", "threshold": float(thr),
                                     "median": float(med)})
                    continue
                lows = sorted({float(x) for x in (*HYSTERESIS_LOWS, *thresholds)
                               if float(x) < float(thr)})
                decoders += [{"method": "hysteresis", "threshold": float(thr), "low": lo,
                              "median": float(med)} for lo in lows]
        for dec in decoders:
            per_file = [evaluate(r, decode_segments(a, **dict(dec, median=0.0)), duration=d)
                        for a, r, d in zip(smoothed, refs, durations)]
            res = aggregate(per_file)
            neg_fp = aggregate([x for x, n in zip(per_file, neg) if n])["false_positive_rate"] \
                if any(neg) else 0.0
            worst = max([x["false_positive_rate"] for x, n in zip(per_file, neg) if n],
                        default=0.0)
            if limit is not None:
                res["negative_false_positive_rate"] = neg_fp
            if file_limit is not None:
                res["negative_max_file_false_positive_rate"] = worst
            k = key(res, neg_fp, worst)
            if best is None or k < best[2]:
                best = (dec, res, k)
    log.info("singing decoder tuned on validation (%s): %s -> error %.4f", objective, best[0],
             best[1]["error"])
    scores = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in best[1].items()}
    return best[0], scores
