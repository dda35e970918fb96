"""Training spec of music structure boundaries (``audiodl train structure``).

Model: :class:`~audiodl.models.structure.BoundaryCNN` on the ``boundaries``
front end (log-mel, 43 fps; the network max-pools to 7.2 fps). Data: JSONL
manifests (``audiodl synth structure``, or real corpora imported with
``sections`` annotations); items of split ``train`` train, of split
``valid`` validate and tune, others are never read.

Targets: every section start except the file's first, smeared with a
Gaussian of ``sigma`` seconds (Ullrich et al. 2014: "target smearing"),
averaged over the network's time stride. Training windows of ``window``
frames drawn at random, SpecAugment on every window; loss: binary
cross-entropy. After training, the peak picker (threshold, look-ahead) and
the label clustering threshold are tuned on the validation songs for mean
hit-rate F at 0.5 s (trim) and pairwise F.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["StructureConfig", "StructureSpec", "boundary_targets", "tune_decoder", "OBJECTIVES",
           "DECODER_GRID", "FRONTEND"]

log = logging.getLogger(__name__)

FRONTEND = "boundaries"
LICENCE = "CC-BY-SA-3.0 (trained on FluidSynth renders with GPL/MIT soundfonts)"
PAPER = ("K. Ullrich, J. Schlüter, T. Grill, 'Boundary detection in music structure analysis "
         "using convolutional neural networks', ISMIR 2014; T. Grill, J. Schlüter, 'Music "
         "boundary detection using neural networks on combined features and two-level "
         "annotations', ISMIR 2015")

#: decoder grid searched on validation
DECODER_GRID = {
    "threshold": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "look": [1.0, 2.0, 3.0, 4.0, 6.0, 8.0],
    "label_threshold": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8],
    "min_segment": [3.0],
    "repeat_split": [0.0, 0.5, 0.6, 0.7],
}


@dataclass
class StructureConfig(SpecConfig):
    """Config of ``audiodl train structure``.

    Parameters
    ----------
    manifests : list of str
        Manifests (relative to the data root, or absolute): their ``train``
        items train, their ``valid`` items validate.
    valid_manifests : list of str
        Manifests all of whose items validate (a held-out corpus of other songs).
    manifest_valid : bool
        Also validate on the ``valid`` split of ``manifests`` (False: only
        ``valid_manifests`` validate, e.g. songs of forms the training
        corpora lack, so that validation predicts unseen-form performance).
    window : int [frames]
        Frames per training window (2580 = 60 s at 43 fps).
    sigma : float [s]
        Gaussian target smearing.
    n_valid : int
        Validation windows are whole-song tiles; this caps how many are used.
    tune : bool
        Tune peak picking and labelling on the validation songs after training.
    """

    name: str = "structure_cnn"
    arch: str = "boundary_cnn"
    manifests: list[str] = field(default_factory=lambda: ["structure/synth0/manifest.jsonl"])
    valid_manifests: list[str] = field(default_factory=list)
    manifest_valid: bool = True
    window: int = 2580
    sigma: float = 0.5
    n_valid: int = 400
    tune: bool = True
    epochs: int = 20
    batch_size: int = 8
    lr: float = 2e-3
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    weight_decay: float = 1e-4
    max_steps_per_epoch: int | None = 40

    def __post_init__(self):
        super().__post_init__()
        if self.window < 60 or self.sigma <= 0 or self.n_valid < 1:
            raise ParameterError("window >= 60 frames, sigma > 0 s and n_valid >= 1 needed")


def read_sections(item) -> list:
    """``(start, end, label)`` sections of a manifest item (its ``sections`` annotation)."""
    from ...data.manifest import read_segments
    ann = item.get("annotations", {}) or {}
    if "sections" not in ann:
        raise ParameterError(f"item {item.get('id')!r}: no 'sections' annotation")
    return read_segments(ann["sections"])


def boundary_targets(sigma: float):
    """Target function for :class:`~audiodl.data.dataset.FeatureSet`: smeared section starts."""
    def targets(item, n_frames, fps):
        starts = np.array([s for s, _, _ in read_sections(item)][1:], dtype=np.float64)
        t = np.arange(n_frames) / float(fps)
        if not len(starts):
            return np.zeros((n_frames, 1), np.float32)
        d = np.min(np.abs(t[:, None] - starts[None, :]), axis=1)
        return np.exp(-0.5 * (d / sigma) ** 2).astype(np.float32)[:, None]
    return targets


def _items(config, split, data_root):
    from ...data.manifest import read_manifest
    from ...data.paths import resolve_data_path
    out, seen = [], set()
    whole = list(config.valid_manifests) if split == "valid" else []
    for rel in list(config.manifests) + whole:
        for it in read_manifest(resolve_data_path(rel, data_root)):
            own = split != "valid" or config.manifest_valid
            if (rel in whole or (own and it.get("split") == split)) \
                    and "sections" in (it.get("annotations") or {}) and it["audio"] not in seen:
                seen.add(it["audio"])
                out.append(it)
    return out


class StructureSpec(TrainingSpec):
    """Boundary CNN on smeared section-start targets; decoder tuned on validation."""

    task = "structure"
    config_class = StructureConfig
    default_name = "structure_cnn"

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import SpecAugment
        from ...data.dataset import (FeatureCache, FeatureSet, SequenceDataset,
                                     normalization_stats)
        from ...features.config import preset
        from ...models.registry import build
        fe = preset(FRONTEND)
        tr_items, va_items = (_items(config, s, data_root) for s in ("train", "valid"))
        if not tr_items or not va_items:
            raise ParameterError(f"structure: {len(tr_items)} train / {len(va_items)} valid "
                                 f"songs in {config.manifests}; both must be non-empty")
        cache = FeatureCache(fe, root=config.feature_cache or None)
        tfn = boundary_targets(config.sigma)
        tr = FeatureSet(tr_items, cache, targets=tfn, labels=("boundary",))
        va = FeatureSet(va_items, cache, targets=tfn, labels=("boundary",))
        model = build(config.arch, parse_arch_args(config.arch_args))
        mean, std = normalization_stats(tr.feats, per="band", seed=config.seed)
        model.set_normalization(mean, std)
        steps = config.max_steps_per_epoch or 40
        train_ds = SequenceDataset(tr, n_frames=config.window, time_stride=model.time_stride,
                                   n_per_epoch=config.batch_size * steps, augment=SpecAugment(),
                                   seed=config.seed)
        valid_ds = SequenceDataset(va, n_frames=config.window, time_stride=model.time_stride,
                                   tiles=True)
        if len(valid_ds.tiles) > config.n_valid:
            valid_ds.tiles = valid_ds.tiles[:config.n_valid]
        data = {"manifests": list(config.manifests),
                "valid_manifests": list(config.valid_manifests), "n_train_songs": len(tr_items),
                "n_valid_songs": len(va_items),
                "train_hours": round(sum(it["duration"] for it in tr_items) / 3600, 3),
                "forms": sorted({" ".join(it.get("meta", {}).get("form", []))
                                 for it in tr_items})[:50],
                "augmentation": "SpecAugment (gain, EQ, band shift, noise floor, low-pass); "
                                "the corpus itself carries reverb/EQ/noise/codec variants"}
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"frontend": fe, "valid_set": va})

    def loss(self, config):
        import torch
        return torch.nn.BCEWithLogitsLoss()

    def metrics(self, config, prepared):
        def metric_fn(outs, targets):
            import torch
            o = torch.sigmoid(torch.cat([x.reshape(-1) for x in outs]))
            t = torch.cat([x.reshape(-1) for x in targets])
            return {"mse": float(((o - t) ** 2).mean()),
                    "peak_corr": float(np.corrcoef(o.numpy(), t.numpy())[0, 1])
                    if t.std() > 0 else 0.0}
        return metric_fn

    def tune(self, model, config, prepared):
        if not config.tune:
            return None
        from ...tasks.structure import CNN_CONTEXT
        acts, refs = valid_activations(model, prepared.extra["valid_set"])
        dec, scores = tune_decoder(acts, refs, min_duration=CNN_CONTEXT)
        return {"offline": dec, "online": None,
                "tuned_on": f"validation split ({len(acts)} songs): mean HR F@0.5 s (trim) for "
                            "peak picking, then mean pairwise F for the label threshold",
                "scores": scores}

    def card(self, model, config, prepared, *, info, decoder):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder, tuned_key="valid_segment")
        if decoder and "scores" in decoder:
            metrics["headline"] = {"valid_hr0.5_f": decoder["scores"]["hr0.5_f"],
                                   "valid_hr3_f": decoder["scores"]["hr3_f"]}
        return build_card(
            name=info.name, task=self.task, arch=config.arch,
            args=parse_arch_args(config.arch_args), frontend=prepared.extra["frontend"],
            labels=["boundary"], layout="same", decoder=dec,
            training=self.training_info(config, info, prepared.data, sigma=config.sigma),
            metrics=metrics, normalization="per-band", licence=LICENCE, paper=PAPER,
            recipe="recipes/structure",
            description="Music structure boundaries (CNN on time-pooled log-mel and "
                        "self-similarity lag features, ~%.0f s receptive field) + repeat "
                        "labels from segment similarity"
                        % (model.receptive_field / prepared.extra["frontend"].fps))


def valid_activations(model, feature_set):
    """Whole-song activations (curve + pooled label features) and reference Segments."""
    import torch

    from ...tasks.structure import POOL
    from ...tasks.structure_baselines import FramePooler
    from ...types import Activations, Segments
    fps = feature_set.fps
    model.eval()
    dev = next(model.parameters()).device
    acts, refs = [], []
    with torch.no_grad():
        for f, it in zip(feature_set.feats, feature_set.items):
            x = torch.from_numpy(np.asarray(f, dtype=np.float32))[None].to(dev)
            curve = torch.sigmoid(model(x))[0, :, 0].cpu().numpy()
            pooler = FramePooler(POOL)
            _, m1 = pooler.push(np.asarray(f, np.float32))
            _, m2 = pooler.flush()
            emb = np.concatenate([m for m in (m1, m2) if len(m)])
            n = min(len(curve), len(emb))
            values = np.concatenate([curve[:n, None], emb[:n]], axis=1).astype(np.float32)
            acts.append(Activations(values=values, fps=fps / POOL,
                                    audio_duration=len(f) / fps))
            secs = read_sections(it)
            refs.append(Segments(intervals=np.array([[s, e] for s, e, _ in secs]),
                                 labels=tuple(lab for _, _, lab in secs)))
    return acts, refs


#: what the peak picking of :func:`tune_decoder` maximises (mean over songs, trim)
OBJECTIVES = ("hr0.5", "hr0.5+hr3")


def tune_decoder(acts, refs, *, grid=None, min_duration: float = 0.0, base=None,
                 objective: str = "hr0.5"):
    """Peak picking, then label threshold, chosen on validation songs.

    Parameters
    ----------
    acts : list of Activations [shape=(n, 1 + d)]
    refs : list of Segments
    grid : dict or None
        ``threshold``, ``look`` (pre_max = post_max [s]), ``min_segment`` [s],
        ``repeat_split`` and ``half_split`` (tuned jointly, for HR F@0.5 s) and ``label_threshold``
        values (default :data:`DECODER_GRID`).
    min_duration : float [s]
        Context of the method (shorter songs give one segment).
    base : StructureParams or None
        The other parameters.
    objective : {"hr0.5", "hr0.5+hr3"}
        Peak picking maximises the mean HR F@0.5 s, or the sum of the mean
        HR F@0.5 s and HR F@3 s (both trim).

    Returns
    -------
    decoder : dict
        :class:`~audiodl.tasks.structure_baselines.StructureParams` fields.
    scores : dict
        Mean scores of that decoder on the same songs (trim=True).
    """
    from ...evaluation.segment import evaluate, summarize
    from ...tasks.structure_baselines import (StructureParams, decode_structure,
                                              structure_boundaries)
    if objective not in OBJECTIVES:
        raise ParameterError(f"tune_decoder: objective {objective!r} is not one of {OBJECTIVES}")
    windows = (0.5,) if objective == "hr0.5" else (0.5, 3.0)
    grid = dict(grid or DECODER_GRID)
    base = base or StructureParams()

    def run(p):
        res = []
        for a, r in zip(acts, refs):
            v = np.asarray(a.values).reshape(len(a.values), -1)
            est = decode_structure(v[:, 0], v[:, 1:], a.fps, a.duration, p,
                                   min_duration=min_duration)
            res.append(evaluate(r, est, trim=True))
        return summarize(res)

    def hr05(p):  # = run(p)["hr0.5_f"] (+ ["hr3_f"]; labels do not move boundaries), no labels
        import warnings

        import mir_eval
        fs = []
        for a, r in zip(acts, refs):
            v = np.asarray(a.values).reshape(len(a.values), -1)
            t = structure_boundaries(v[:, 0], v[:, 1:], a.fps, a.duration, p,
                                     min_duration=min_duration)
            edges = np.concatenate([[0.0], [] if t is None else t, [a.duration]])
            est = np.stack([edges[:-1], edges[1:]], axis=1)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Estimated intervals are empty")
                warnings.filterwarnings("ignore", "Reference intervals are empty")
                ri = np.asarray(r.intervals, np.float64)
                fs.append(sum(mir_eval.segment.detection(ri, est, window=w, trim=True)[2]
                              for w in windows))
        return float(np.mean(fs))

    best, best_s = base, -1.0
    for thr, look, ms, rs, hs in itertools.product(
            grid["threshold"], grid["look"], grid.get("min_segment", [base.min_segment]),
            grid.get("repeat_split", [base.repeat_split]),
            grid.get("half_split", [base.half_split])):
        p = base.replace(threshold=thr, pre_max=look, post_max=look, min_segment=ms,
                         repeat_split=rs, half_split=hs)
        s = hr05(p)
        if s > best_s + 1e-9:
            best, best_s = p, s
    best_pw = -1.0
    chosen = best
    for lt in grid["label_threshold"]:
        s = run(best.replace(label_threshold=lt))["pairwise_f"]
        if s > best_pw + 1e-9:
            chosen, best_pw = best.replace(label_threshold=lt), s
    res = run(chosen)
    log.info("structure decoder: %s -> HR.5F %.3f HR3F %.3f pairwise F %.3f", chosen.to_dict(),
             res["hr0.5_f"], res["hr3_f"], res["pairwise_f"])
    scores = {k: round(v, 5) for k, v in res.items() if isinstance(v, float)}
    scores["n_files"] = res["n_files"]
    scores["trim"] = True
    return chosen.to_dict(), scores
