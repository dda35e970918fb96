"""Training spec of task ``onsets``: the Schlüter & Böck onset CNN.

Data: JSONL manifests whose items carry ``annotations.onsets`` (the corpus of
``audiodl synth onsets`` or a real one such as the Böck set). Folds as in
the Böck protocol (``folds > 0``): a manifest with a ``test`` split is run in
*holdout* mode (the test split is never read; the other items are hashed by
``group``/``id`` into ``folds`` folds; model ``fold`` validates on fold
``fold``), one without (splits ``fold<k>`` or a ``fold`` key) in
*cross-validation* mode (model ``fold`` is tested on fold ``fold``, never read
here, and validated on fold ``fold + 1``). ``folds = 0`` uses the items'
``train``/``valid`` splits as they are.

Targets: the onset frame (``round(t * fps)``) and its two neighbours are
positive, the neighbours with weight ``fuzzy`` (the paper's fuzzy targets).
Inputs: ``excerpt`` frames plus ``context // 2`` context frames each side (a model
with a ``lookahead`` (the long-context ``onset_cnn_ctx``): its past context each side,
the input cut after its ``lookahead`` future frames, see :func:`_fit_context`),
SpecAugment (gain, EQ, tilt, band shift) on the log-mel input. Loss: weighted
binary cross-entropy, averaged over frames. Validation: the onset F-measure (±``tune_window``
seconds, counts summed over files) of whole validation files, best over
peak-picking thresholds; the decoder (offline and online peak picking) is
then tuned on the same validation files.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["OnsetsConfig", "OnsetsSpec", "onset_targets", "make_folds", "fold_roles",
           "TUNE_GRID", "DECAY_GRID", "GATE_GRID", "tune_decoder", "tuned_decoder"]

log = logging.getLogger(__name__)

#: peak-picking grid searched on validation (offline; online fixes smooth = post_max = 0)
TUNE_GRID = {
    "threshold": [round(float(x), 2) for x in np.arange(0.15, 0.96, 0.03)],
    "smooth": [0.0, 0.03, 0.05, 0.07],
    "pre_max": [0.01, 0.02],
    "post_max": [0.01, 0.02],  # offline: a symmetric local maximum
    "combine": [0.03],
}

#: second tuning stage with ``tune_decay``: the decay-aware threshold (see
#: :class:`~audiodl.decoders.peaks.PeakPickingParams`), searched with every threshold of
#: :data:`TUNE_GRID` around the best first-stage smoothing and maximum windows
DECAY_GRID = {
    "decay_ratio": [0.0, 0.4, 0.55, 0.7, 0.85],
    "decay_time": [0.05, 0.15, 0.4],
}

#: third tuning stage with ``tune_gate`` (offline only): the energy gate (see
#: :class:`~audiodl.decoders.peaks.PeakPickingParams`; rise in dB above each band's held
#: maximum, release in dB/s; peaks with an activation of at least ``gate_keep`` always pass),
#: searched with every threshold, the other settings fixed
GATE_GRID = {
    "gate_rise": [6.0, 9.0, 12.0],
    "gate_release": [20.0, 40.0],
    "gate_keep": [0.5, 0.6, 0.8],
}


@dataclass
class OnsetsConfig(SpecConfig):
    """Config of ``audiodl train onsets`` (flat; TOML or ``--set key=value``).

    Parameters
    ----------
    corpus : str
        Manifest (relative to the data root, or absolute).
    extra_corpora : list of str
        More manifests pooled with ``corpus`` (ids prefixed ``x1_``, ``x2_``...).
    test_corpora : list of str
        Test-only manifests: never read by training or tuning, scored by the
        recipe's ``evaluate.py`` as their own test sets (every item, any split).
    folds, fold : int
        Number of folds (0: the manifest's train/valid splits) and the model's fold.
    excerpt : int [frames]
        Output frames per training excerpt.
    fuzzy : float
        Target weight of the frames next to an onset.
    augment : bool
    gain_db, eq_db, tilt_db : float [dB]
        SpecAugment ranges (gain, smooth 6-knot EQ curve, spectral tilt).
    shift_bands : int
        SpecAugment band shift.
    silence_prob : float
        SpecAugment's digital-silence stage: the probability that an excerpt's quieter
        frames (under a random 10-60th percentile of frame levels) become exact silence.
    start_prob : float
        Share of training excerpts that begin at their file's first frame (the frames
        whose analysis windows reach before the first sample; see
        :class:`~audiodl.data.dataset.SequenceDataset`).
    valid_chunk : int [frames]
        Frames per validation tile.
    tune_window : float [s]
        Half-width of the F-measure window for validation and decoder tuning.
    tune_objective : {"sum", "mean", "both"}
        What the decoder tuning maximises on validation: F with counts summed
        over files, F averaged over files, or the average of the two.
    drop_medium_attack : bool
        Leave out items with a medium-attack part.
    tune : bool
        Tune the peak picking on validation after training.
    tune_decay : bool
        Also tune the decay-aware threshold (:data:`DECAY_GRID`, a second stage); kept only
        when it raises the validation objective.
    tune_gate : bool
        Also tune the energy gate of the offline peak picking (:data:`GATE_GRID`, a third
        stage on the input's log-mel envelope); kept only when it raises the validation
        objective.
    """

    name: str = "onsets_cnn"
    arch: str = "onset_cnn_bn"
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    patience: int | None = 8
    max_steps_per_epoch: int | None = 150
    monitor: str = "f_measure"
    corpus: str = "onsets/manifest.jsonl"
    extra_corpora: list[str] = field(default_factory=list)
    test_corpora: list[str] = field(default_factory=list)
    folds: int = 8
    fold: int = 0
    excerpt: int = 128
    fuzzy: float = 0.25
    augment: bool = True
    gain_db: float = 10.0
    eq_db: float = 3.0
    tilt_db: float = 3.0
    shift_bands: int = 2
    silence_prob: float = 0.0
    start_prob: float = 0.0
    valid_chunk: int = 1000
    tune_window: float = 0.025
    tune_objective: str = "sum"
    drop_medium_attack: bool = False
    tune: bool = True
    tune_decay: bool = False
    tune_gate: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.folds < 0 or (self.folds and not 0 <= self.fold < self.folds):
            raise ParameterError(f"fold must be in [0, folds), got fold={self.fold}, "
                                 f"folds={self.folds}")
        if not 0.0 <= self.silence_prob <= 1.0:
            raise ParameterError(f"silence_prob must be in [0, 1], got {self.silence_prob}")
        if not 0.0 <= self.start_prob <= 1.0:
            raise ParameterError(f"start_prob must be in [0, 1], got {self.start_prob}")
        if self.tune_objective not in ("sum", "mean", "both"):
            raise ParameterError(f"tune_objective must be sum, mean or both, got "
                                 f"{self.tune_objective!r}")
        if self.excerpt < 1 or self.valid_chunk < 1 or self.tune_window <= 0:
            raise ParameterError("excerpt, valid_chunk and tune_window must be positive")


def onset_targets(fuzzy: float = 0.25):
    """Target function for :class:`~audiodl.data.dataset.FeatureSet`.

    Returns ``targets(item, n_frames, fps) -> [shape=(n_frames, 2)]``: column 0
    the target (1 at ``round(t * fps)`` of every onset and its two
    neighbours), column 1 the weight (``fuzzy`` on the neighbours, else 1).
    """
    def targets(item, n_frames, fps):
        y = np.zeros(n_frames, np.float32)
        w = np.ones(n_frames, np.float32)
        idx = np.round(np.asarray(item["onsets"]) * fps).astype(int)
        idx = idx[(idx >= 0) & (idx < n_frames)]
        for d in (-1, 1):
            j = idx + d
            j = j[(j >= 0) & (j < n_frames)]
            y[j] = 1.0
            w[j] = fuzzy
        y[idx] = 1.0
        w[idx] = 1.0
        return np.stack([y, w], axis=1)
    return targets


def read_items(manifest, *, prefix: str = "") -> list:
    """Items of ``manifest`` with onset annotations, ``onsets`` loaded [seconds]."""
    from ...data.manifest import read_manifest, read_times
    items = []
    for it in read_manifest(manifest):
        ann = it.get("annotations", {}) or {}
        if "onsets" not in ann:
            continue
        it = dict(it, id=prefix + str(it["id"]))
        it["onsets"] = np.asarray(read_times(ann["onsets"]), dtype=np.float64)
        items.append(it)
    if not items:
        raise ParameterError(f"{manifest}: no items with onset annotations")
    return items


def _fold_of(item, k):
    f = item.get("fold", (item.get("meta") or {}).get("fold"))
    if f is None and str(item["split"]).startswith("fold"):  # Böck loader: split "fold<k>"
        f = str(item["split"])[4:]
    if f is not None:
        return int(f) % k
    key = str(item.get("group") or item["id"]).encode()
    return int(hashlib.sha1(key).hexdigest(), 16) % k


def make_folds(items, k: int) -> dict:
    """``{"mode": "holdout"|"crossval", "k", "folds": id -> fold, "test": [ids]}``."""
    test = [it["id"] for it in items if it["split"] == "test"]
    mode = "holdout" if test else "crossval"
    folds = {it["id"]: _fold_of(it, k) for it in items if it["split"] != "test"}
    return {"mode": mode, "k": k, "folds": folds, "test": test}


def fold_roles(folds: dict, fold: int):
    """(train ids, valid ids, test ids) of model ``fold``."""
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


def _split_items(items, config):
    if config.folds == 0:
        return ([it for it in items if it["split"] == "train"],
                [it for it in items if it["split"] == "valid"], "manifest splits train/valid")
    folds = make_folds(items, config.folds)
    train_ids, valid_ids, _ = fold_roles(folds, config.fold)
    by_id = {it["id"]: it for it in items}
    return ([by_id[i] for i in train_ids], [by_id[i] for i in valid_ids],
            f"fold {config.fold} of {config.folds} ({folds['mode']})")


def _half_context(model) -> int:
    """Context frames each side of a dataset excerpt: half the context, or the past
    context of a model with a ``lookahead`` (:func:`_fit_context` cuts the surplus)."""
    la = getattr(model, "lookahead", None)
    return model.context // 2 if la is None else model.context - 1 - int(la)


def _fit_context(net, x, n):
    """Input ``x`` (batch, frames, ...) with symmetric context, cut to the ``n`` outputs'
    frames plus the model's own past and future context (a no-op for symmetric models)."""
    model = getattr(net, "module", net)  # DDP wraps the model
    if getattr(model, "lookahead", None) is None:
        return x
    return x[:, :n + model.context - 1]


def _activations(model, valid_ds, outputs=None):
    """Per-entry sigmoid activations [shape=(n_frames,)] from tile outputs (or the model)."""
    import torch
    if outputs is None:
        model.eval()
        dev = next(model.parameters()).device
        outputs = []
        with torch.no_grad():
            for k in range(len(valid_ds)):
                x, _ = valid_ds[k]
                x = _fit_context(model, torch.from_numpy(x)[None], valid_ds.n_frames)
                outputs.append(model(x.permute(0, 2, 1, 3).to(dev), pad=False))
    rows = torch.cat([o.reshape(-1, valid_ds.n_frames).float().cpu() for o in outputs])
    rows = torch.sigmoid(rows).numpy()
    acts = [[] for _ in valid_ds.data.feats]
    for row, (i, _, n) in zip(rows, valid_ds.tiles):
        acts[i].append(row[:n])
    return [np.concatenate(a) for a in acts]


def _f_sum(pairs, fps, params, window, objective="sum"):
    from ...decoders.peaks import pick_onsets
    from ...evaluation.onsets import evaluate, summarize
    scores = [evaluate(p[1], pick_onsets(p[0], fps, params=params,
                                         envelope=p[2] if len(p) > 2 else None),
                       window=window) for p in pairs]
    s = summarize(scores)
    if objective == "sum":
        return s["sum"]["f_measure"]
    if objective == "mean":
        return s["mean"]["f_measure"]
    return 0.5 * (s["sum"]["f_measure"] + s["mean"]["f_measure"])


def tune_peaks(pairs, fps, *, window, online=False, grid=None, objective="sum"):
    """Grid search of peak picking maximising F summed over files (or ``objective``).

    Parameters
    ----------
    pairs : list of (np.ndarray [shape=(n_frames,)], np.ndarray [seconds][, envelope])
        Activations and reference onsets of the validation files (and, for the energy
        gate, the input's dB envelope, shape (n_frames, n_bands)).
    fps : float
    window : float [s]
    online : bool
        Causal parameters (no smoothing, no future frames).
    grid : dict or None (default :data:`TUNE_GRID`)
    objective : {"sum", "mean", "both"}
        F with counts summed over files, averaged over files, or their average.

    Returns
    -------
    (float, PeakPickingParams)
    """
    from ...decoders.peaks import CNN_DEFAULTS
    grid = dict(grid or TUNE_GRID)
    if online:
        grid.update(smooth=[0.0], post_max=[0.0])
    keys = list(grid)
    best = (-1.0, None)
    for values in itertools.product(*(grid[k] for k in keys)):
        p = CNN_DEFAULTS.replace(**dict(zip(keys, values)))
        f = _f_sum(pairs, fps, p, window, objective)
        if f > best[0]:
            best = (f, p)
    return best


def tune_decoder(pairs, fps, *, window, online=False, objective="sum", decay=False,
                 gate=False):
    """:func:`tune_peaks`, then (``decay``) a second stage over :data:`DECAY_GRID` and every
    threshold, the other settings fixed at the first stage's best, then (``gate``, offline
    only; ``pairs`` carry envelopes) a third over :data:`GATE_GRID` and every threshold, the
    other settings fixed at the best so far; a later stage's result is kept only when its
    objective is higher.

    Returns
    -------
    (float, PeakPickingParams)
    """
    f, p = tune_peaks(pairs, fps, window=window, online=online, objective=objective)
    stages = ([DECAY_GRID] if decay else []) + ([GATE_GRID] if gate and not online else [])
    for extra in stages:
        fixed = {k: [getattr(p, k)] for k in ("smooth", "pre_max", "post_max", "combine",
                                              "decay_ratio", "decay_time") if k not in extra}
        grid = {"threshold": TUNE_GRID["threshold"], **fixed, **extra}
        f2, p2 = tune_peaks(pairs, fps, window=window, online=online, objective=objective,
                            grid=grid)
        if f2 > f:
            f, p = f2, p2
    return f, p


def tuned_decoder(pairs, fps, config, *, where: str, envelopes=None) -> dict:
    """The card's ``decoder`` entry: offline and online peak picking tuned on ``pairs``.

    Runs :func:`tune_decoder` as ``config`` asks (``tune_window``, ``tune_objective``,
    ``tune_decay``; ``tune_gate`` needs ``envelopes``) for the offline and the online
    (causal) picker. Used by :meth:`OnsetsSpec.tune` and by recipes that re-tune a
    model built from trained ones (``recipes/onsets/ensemble.py``).

    Parameters
    ----------
    pairs : list of (np.ndarray [shape=(n_frames,)], np.ndarray [seconds])
        Activations and reference onsets of the validation files.
    fps : float
    config : OnsetsConfig
    where : str
        Which validation files (recorded in ``tuned_on``).
    envelopes : list of np.ndarray [shape=(n_frames', n_bands)] or None
        Each file's dB envelope (:func:`audiodl.tasks.onsets.envelope_of_features`);
        required with ``config.tune_gate``.
    """
    obj = config.tune_objective
    kw = dict(window=config.tune_window, objective=obj, decay=config.tune_decay)
    offline = pairs
    if config.tune_gate:
        if envelopes is None:
            raise ParameterError("tune_gate needs the validation files' envelopes")
        offline = [(a, ref, e[:len(a)]) for (a, ref), e in zip(pairs, envelopes)]
    fo, po = tune_decoder(offline, fps, gate=config.tune_gate, **kw)
    fn, pn = tune_decoder(pairs, fps, online=True, **kw)
    return {"offline": po.to_dict(), "online": pn.to_dict(),
            "tuned_on": f"validation items, {where} (F ±{config.tune_window * 1000:g} ms, "
                        f"objective {obj}: {fo:.4f} offline, {fn:.4f} online)",
            "scores": {"f_offline": round(fo, 4), "f_online": round(fn, 4),
                       "window": config.tune_window, "objective": obj,
                       "files": len(pairs)}}


class OnsetsSpec(TrainingSpec):
    """Onset CNN (``onset_cnn_sb2014`` / ``onset_cnn_bn``) on onset-annotated corpora."""

    task = "onsets"
    config_class = OnsetsConfig
    default_name = "onsets_cnn"

    def run_name(self, config) -> str:
        return f"{self.model_name(config)}-fold{config.fold}-seed{config.seed}"

    @staticmethod
    def frontend():
        from ...features.config import preset
        return preset("onset_cnn")

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import SpecAugment, db_per_unit, silence_floor
        from ...data.dataset import FeatureCache, FeatureSet, SequenceDataset, normalization_stats
        from ...data.paths import resolve_data_path
        from ...models.registry import build

        manifests = [config.corpus, *config.extra_corpora]
        items = []
        for k, m in enumerate(manifests):
            items += read_items(resolve_data_path(m, data_root), prefix=f"x{k}_" if k else "")
        if config.drop_medium_attack:
            items = [it for it in items
                     if "medium" not in (it.get("meta") or {}).get("attack_classes", [])]
        train_items, valid_items, how = _split_items(items, config)
        if not train_items or not valid_items:
            raise ParameterError(f"onsets: {len(train_items)} train / {len(valid_items)} valid "
                                 f"items with {how}; both must be non-empty")
        fe = self.frontend()
        cache = FeatureCache(fe, root=config.feature_cache or None)
        targets = onset_targets(config.fuzzy)
        tr = FeatureSet(train_items, cache, targets=targets, labels=("onset", "weight"))
        va = FeatureSet(valid_items, cache, targets=targets, labels=("onset", "weight"))
        model = build(config.arch, parse_arch_args(config.arch_args))
        mean, std = normalization_stats(tr.feats, per="band", seed=config.seed)
        model.set_normalization(mean, std)  # (n_channels, n_bands)
        h = _half_context(model)
        aug = None
        if config.augment:
            aug = SpecAugment(unit_db=db_per_unit(fe), gain_db=config.gain_db,
                              eq_db=config.eq_db, eq_knots=6, tilt_db=config.tilt_db,
                              shift=config.shift_bands, noise_prob=0.0, lowpass_prob=0.0,
                              silence_prob=config.silence_prob,
                              silence_floor=silence_floor(fe))
        steps = config.max_steps_per_epoch or 100
        train_ds = SequenceDataset(tr, n_frames=config.excerpt, context=h,
                                   n_per_epoch=config.batch_size * steps, augment=aug,
                                   seed=config.seed, start_prob=config.start_prob)
        valid_ds = SequenceDataset(va, n_frames=config.valid_chunk, context=h, tiles=True)
        data = {"manifests": manifests, "folds": how, "train_items": len(train_items),
                "valid_items": len(valid_items),
                "train_hours": round(sum(it["duration"] for it in train_items) / 3600, 3)}
        log.info("onsets: %d train / %d valid items (%s)", len(train_items), len(valid_items),
                 how)
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"valid_onsets": [it["onsets"] for it in valid_items],
                               "fps": fe.fps, "frontend": fe})

    def loss(self, config):
        import torch

        def loss_fn(out, y):
            bce = torch.nn.functional.binary_cross_entropy_with_logits(out, y[..., 0],
                                                                       reduction="none")
            # mean over all frames (not / sum of weights): equal for one and N DDP processes
            return (bce * y[..., 1]).mean()
        return loss_fn

    def forward(self, config):
        def forward_fn(net, batch, loss_fn):
            x, y = batch[0], batch[1]
            x = _fit_context(net, x, y.shape[1])
            out = net(x.permute(0, 2, 1, 3), pad=False)  # (b, frames, ch, bands) -> (b, ch, ...)
            return loss_fn(out, y), out
        return forward_fn

    def metrics(self, config, prepared):
        from ...decoders.peaks import CNN_DEFAULTS
        valid_ds, refs, fps = prepared.valid, prepared.extra["valid_onsets"], prepared.extra["fps"]
        thresholds = np.round(np.arange(0.2, 0.95, 0.05), 2)

        def metric_fn(outs, _targets):
            pairs = list(zip(_activations(None, valid_ds, outs), refs))
            best = max((_f_sum(pairs, fps, CNN_DEFAULTS.replace(threshold=float(t)),
                               config.tune_window), float(t)) for t in thresholds)
            return {"f_measure": best[0], "threshold": best[1]}
        return metric_fn

    def tune(self, model, config, prepared):
        if not config.tune:
            return None
        pairs = list(zip(_activations(model, prepared.valid), prepared.extra["valid_onsets"]))
        envelopes = None
        if config.tune_gate:  # the energy gate looks at each file's log-mel envelope
            from ...tasks.onsets import envelope_of_features
            envelopes = [envelope_of_features(np.moveaxis(x, 1, 0).astype(np.float32))
                         for x in prepared.valid.data.feats]
        return tuned_decoder(pairs, prepared.extra["fps"], config,
                             where=prepared.data["folds"], envelopes=envelopes)

    def card(self, model, config, prepared, *, info, decoder):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder)
        return build_card(
            name=info.name, task=self.task, arch=config.arch,
            args=parse_arch_args(config.arch_args), frontend=prepared.extra["frontend"],
            labels=["onset"], layout="valid", decoder=dec,
            training=self.training_info(config, info, prepared.data, fold=config.fold),
            metrics=metrics, licence="MIT (weights trained by audiodl on synthetic renders)",
            paper="J. Schlüter and S. Böck, Improved musical onset detection with "
                  "convolutional neural networks, ICASSP 2014",
            recipe="recipes/onsets")
