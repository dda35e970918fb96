"""Training specs of music/speech discrimination.

* ``musicspeech-classify`` (:class:`ClassifySpec`): excerpt CNNs
  (``lidy2015``, ``musicspeech_cnn``) on class-balanced 80-frame excerpts of
  single-class entries, one speech logit; validation: excerpt accuracy.
* ``musicspeech-detect`` (:class:`DetectSpec`): the fully convolutional
  ``musicspeech_tcn`` on 5 s windows with frame targets (music, speech;
  overlap allowed), power-domain mixing of two windows; validation: mean
  frame F of both classes; afterwards the segment decoder (median filter,
  hysteresis thresholds, minimum duration and gap per class) is tuned on
  the validation files.

Data: JSONL manifests (relative to the data root) whose items carry
``segments`` annotations (``start end class``) or clip ``labels``; items of
split ``train`` train, items of split ``valid`` validate, others are never
read. Real (non-``synth`` source) training files also enter as ``variants``
random waveform variants (EQ, room reverb, codec, gain) through the feature
cache; every excerpt gets SpecAugment (gain, EQ, band shift, noise floor,
low-pass).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["MusicSpeechConfig", "ClassifyConfig", "DetectConfig", "ClassifySpec",
           "DetectSpec", "DECODER_GRID", "LABELS", "FRONTEND", "tune_decoder",
           "tune_gated", "tune_min_active"]

log = logging.getLogger(__name__)

LABELS = ("music", "speech")
#: front-end preset of every music/speech model
FRONTEND = "lidy2015"
LICENCE = "CC-BY-SA-3.0 (trained on CC-BY-SA speech and GPL music)"

#: decoder grid searched on validation, per class, for every median length
DECODER_GRID = {
    "median": [0.0, 0.3, 0.6, 1.0],
    "threshold": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "min_duration": [0.0, 0.3, 1.0, 2.0],
    "min_gap": [0.0, 0.3, 1.0],
}


@dataclass
class MusicSpeechConfig(SpecConfig):
    """Fields shared by both music/speech configs.

    Parameters
    ----------
    manifests : list of str
        Manifests (relative to the data root, or absolute); their ``train``
        and ``valid`` items are used.
    kinds : list of str
        ``real`` (every source but ``synth``) and/or ``synth``.
    variants : int
        Augmented waveform variants per real training file (besides the clean one).
    plain_sources : list of str
        Real sources whose training files enter clean only, without waveform
        variants (large corpora of short files, e.g. ``klettres``: SpecAugment
        still applies).
    n_valid : int
        Validation excerpts / windows (fixed draws).
    """

    manifests: list[str] = field(default_factory=lambda: ["musicspeech/train.jsonl",
                                                          "musicspeech/valid.jsonl"])
    kinds: list[str] = field(default_factory=lambda: ["real", "synth"])
    variants: int = 2
    plain_sources: list[str] = field(default_factory=list)
    n_valid: int = 4000
    lr: float = 2e-3
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    weight_decay: float = 1e-4
    max_steps_per_epoch: int | None = 300

    def __post_init__(self):
        super().__post_init__()
        if not set(self.kinds) <= {"real", "synth"} or not self.kinds:
            raise ParameterError(f"kinds must be real and/or synth, got {self.kinds}")
        if self.variants < 0 or self.n_valid < 1:
            raise ParameterError("variants >= 0 and n_valid >= 1 needed")


@dataclass
class ClassifyConfig(MusicSpeechConfig):
    """Config of ``audiodl train musicspeech-classify`` (``arch``: musicspeech_cnn or lidy2015).

    Parameters
    ----------
    mixed_excerpts : bool
        Also draw single-class excerpts from entries holding both classes
        (alternations, overlays); the shipped model used single-class entries only.
    """

    name: str = "musicspeech_cnn"
    arch: str = "musicspeech_cnn"
    epochs: int = 10
    batch_size: int = 64
    monitor: str = "accuracy"
    mixed_excerpts: bool = False


@dataclass
class DetectConfig(MusicSpeechConfig):
    """Config of ``audiodl train musicspeech-detect``.

    Parameters
    ----------
    window : int [frames]
        Frames per training window (430 = 5 s at 86 fps).
    mix_prob : float
        Probability of mixing a second window in (power domain, labels OR-ed).
    tune : bool
        Tune the segment decoder on validation after training.
    separate_gate : bool
        Tune the frame decoder on the validation files holding music or
        speech only, and give the ``neither`` gate its own decoder, tuned
        (with ``min_active``) on all validation files (:func:`tune_gated`);
        false: one decoder tuned on all files serves both.
    gate_tuning : {'frames', 'files'}
        With ``separate_gate``: the gate's decoder is the one maximising
        frame F on all validation files (``frames``), or its music and
        speech thresholds and minimum duration are searched together with
        ``min_active`` for the balanced file accuracy the gate is judged by
        (``files``, :func:`tune_gate_files`).
    loop_negatives : float
        Probability that a window drawn from a short training entry holding
        neither music nor speech (a sound effect, a recorded engine loop) is
        filled by repeating that entry periodically instead of stringing it
        with other short entries (``SequenceDataset(loop_prob=...)``).
    """

    name: str = "musicspeech_tcn"
    arch: str = "musicspeech_tcn"
    epochs: int = 12
    batch_size: int = 16
    monitor: str = "f_mean"
    n_valid: int = 400
    max_steps_per_epoch: int | None = 150
    window: int = 430
    mix_prob: float = 0.35
    tune: bool = True
    separate_gate: bool = False
    gate_tuning: str = "frames"
    loop_negatives: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if self.gate_tuning not in ("frames", "files"):
            raise ParameterError(f"gate_tuning must be 'frames' or 'files', got {self.gate_tuning!r}")


def read_items(config, split: str, *, data_root) -> list:
    """Items of ``split`` in the config's manifests and kinds, tagged ``_corpus`` (source)."""
    from ...data.manifest import read_manifest
    from ...data.paths import resolve_data_path
    from ...io.audio import MIN_ANALYSIS
    out, seen = [], set()
    for rel in config.manifests:
        for it in read_manifest(resolve_data_path(rel, data_root)):
            if it.get("split") != split or (it["audio"], it["id"]) in seen:
                continue
            src = it.get("source", "synth")
            if ("synth" if src == "synth" else "real") not in config.kinds:
                continue
            labs = set(it.get("labels", []))
            if labs and not labs <= set(LABELS):
                continue
            if it.get("duration", MIN_ANALYSIS) < MIN_ANALYSIS:
                continue  # the reader refuses it (e.g. lbreakout2's 6 ms clicks)
            seen.add((it["audio"], it["id"]))
            out.append(dict(it, _corpus=src))
    return out


def _waveform_augment(y, sr, rng):
    """EQ, room reverb, codec round trip and gain (noise is left to SpecAugment)."""
    from ...data.augment import random_augment
    return random_augment(y, sr, rng, p_noise=0.0, p_reverb=0.6, p_eq=0.7, p_codec=0.3)


class _MusicSpeechSpec(TrainingSpec):
    layout = ""

    def _features(self, config, *, data_root):
        from ...data.dataset import FeatureCache, FeatureSet
        from ...features.config import preset
        fe = preset(FRONTEND)
        train_items = read_items(config, "train", data_root=data_root)
        valid_items = read_items(config, "valid", data_root=data_root)
        if not train_items or not valid_items:
            raise ParameterError(f"{self.task}: {len(train_items)} train / {len(valid_items)} "
                                 f"valid items in {config.manifests}; both must be non-empty")
        cache = FeatureCache(fe, root=config.feature_cache or None,
                             augment=_waveform_augment)
        real = [it for it in train_items if it["_corpus"] != "synth"]
        augmented = [it for it in real if it["_corpus"] not in config.plain_sources]
        keys = {id(it) for it in augmented}
        plain = [it for it in train_items if id(it) not in keys]
        tr = FeatureSet(augmented, cache, labels=LABELS,
                        variants=tuple(range(config.variants + 1)))
        tr.extend(FeatureSet(plain, cache, labels=LABELS))
        va = FeatureSet(valid_items, cache, labels=LABELS)
        data = {"manifests": list(config.manifests),
                "items": {c: sum(1 for it in train_items if it["_corpus"] == c)
                          for c in sorted({it["_corpus"] for it in train_items})},
                "n_train_items": len(train_items), "n_real_train_items": len(real),
                "n_valid_items": len(valid_items),
                "train_hours": round(sum(it["duration"] for it in train_items) / 3600, 3),
                "augmentation": f"{config.variants} random waveform variants per real file "
                                + (f"(except {', '.join(config.plain_sources)}) "
                                   if config.plain_sources else "")
                                + "(EQ, reverb, codec, gain) + SpecAugment (gain, EQ, band shift, "
                                "noise floor, low-pass)"}
        return fe, tr, va, valid_items, data

    def _card(self, model, config, prepared, *, info, decoder, normalization, paper=""):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder, tuned_key="valid_detect")
        return build_card(
            name=info.name, task=self.task, arch=config.arch,
            args=parse_arch_args(config.arch_args), frontend=prepared.extra["frontend"],
            labels=list(LABELS), layout=self.layout, decoder=dec,
            training=self.training_info(config, info, prepared.data),
            metrics=metrics, normalization=normalization, licence=LICENCE, paper=paper,
            recipe="recipes/music_speech")


class ClassifySpec(_MusicSpeechSpec):
    """Excerpt CNNs for file-level music/speech classification."""

    task = "musicspeech-classify"
    config_class = ClassifyConfig
    default_name = "musicspeech_cnn"
    layout = "excerpt"

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import SpecAugment
        from ...data.dataset import ExcerptDataset, normalization_stats
        from ...models.registry import build
        fe, tr, va, _, data = self._features(config, data_root=data_root)
        model = build(config.arch, parse_arch_args(config.arch_args))
        if getattr(model, "kind", "") != "excerpt":
            raise ParameterError(f"{config.arch} is not an excerpt model")
        per = "pixel" if config.arch == "lidy2015" else "band"
        mean, std = normalization_stats(tr.feats, per=per, n_frames=model.n_frames,
                                        seed=config.seed)
        model.norm.set_stats(mean, std)
        steps = config.max_steps_per_epoch or 300
        train_ds = ExcerptDataset(tr, n_frames=model.n_frames,
                                  n_per_epoch=config.batch_size * steps, augment=SpecAugment(),
                                  seed=config.seed, mixed=config.mixed_excerpts)
        valid_ds = ExcerptDataset(va, n_frames=model.n_frames, n_per_epoch=config.n_valid,
                                  seed=12345, mixed=config.mixed_excerpts)
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"frontend": fe, "per": per})

    def loss(self, config):
        import torch
        bce = torch.nn.BCEWithLogitsLoss()

        def loss_fn(out, y):
            return bce(out[:, 0], y)
        return loss_fn

    def metrics(self, config, prepared):
        def metric_fn(outs, targets):
            import torch
            o, t = torch.cat(outs).flatten(), torch.cat(targets).flatten()
            return {"accuracy": float(((o > 0) == (t > 0.5)).float().mean())}
        return metric_fn

    def card(self, model, config, prepared, *, info, decoder):
        paper = ("T. Lidy, MIREX 2015 music/speech classification (CNN)"
                 if config.arch == "lidy2015" else "")
        norm = "per-pixel" if prepared.extra["per"] == "pixel" else "per-band"
        return self._card(model, config, prepared, info=info, decoder=decoder,
                          normalization=norm, paper=paper)


class DetectSpec(_MusicSpeechSpec):
    """Fully convolutional music and speech activity detector (TCN)."""

    task = "musicspeech-detect"
    config_class = DetectConfig
    default_name = "musicspeech_tcn"
    layout = "same"

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import SpecAugment
        from ...data.dataset import SequenceDataset, normalization_stats
        from ...models.registry import build
        fe, tr, va, valid_items, data = self._features(config, data_root=data_root)
        model = build(config.arch, parse_arch_args(config.arch_args))
        if getattr(model, "kind", "") != "frames":
            raise ParameterError(f"{config.arch} is not a frame-level model")
        mean, std = normalization_stats(tr.feats, per="band", seed=config.seed)
        model.norm.set_stats(mean, std)
        # balance corpora (source and task: the synthetic music/speech and neither corpora
        # weigh separately): each weighs in proportion to the sqrt of its audio
        # (a generator may name its own group: ``meta.generator``, e.g. the machinery negatives)
        corpus = np.array([f"{it['_corpus']}/{it.get('task', '')}/{(it.get('meta') or {}).get('generator', '')}"
                           for it in tr.items])
        lengths = np.array([len(f) for f in tr.feats], dtype=np.float64)
        w = np.zeros(len(lengths))
        for c in set(corpus):
            m = corpus == c
            w[m] = lengths[m] / lengths[m].sum() * np.sqrt(lengths[m].sum())
        steps = config.max_steps_per_epoch or 150
        train_ds = SequenceDataset(tr, n_frames=config.window, time_stride=model.time_stride,
                                   n_per_epoch=config.batch_size * steps, augment=SpecAugment(),
                                   mix_prob=config.mix_prob, seed=config.seed, weights=w,
                                   loop_prob=config.loop_negatives)
        valid_ds = SequenceDataset(va, n_frames=config.window, time_stride=model.time_stride,
                                   n_per_epoch=config.n_valid, mix_prob=config.mix_prob,
                                   seed=12345)
        data["augmentation"] += ", power-domain mixing"
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"frontend": fe, "valid_set": va, "valid_items": valid_items})

    def loss(self, config):
        import torch
        return torch.nn.BCEWithLogitsLoss()

    def metrics(self, config, prepared):
        def metric_fn(outs, targets):
            import torch
            o = (torch.cat(outs) > 0).reshape(-1, len(LABELS))
            t = (torch.cat(targets) > 0.5).reshape(-1, len(LABELS))
            fs = {}
            for c, name in enumerate(LABELS):
                tp = float((o[:, c] & t[:, c]).sum())
                fp = float((o[:, c] & ~t[:, c]).sum())
                fn = float((~o[:, c] & t[:, c]).sum())
                fs[f"f_{name}"] = 2 * tp / max(2 * tp + fp + fn, 1.0)
            fs["f_mean"] = float(np.mean(list(fs.values())))
            return fs
        return metric_fn

    def tune(self, model, config, prepared):
        if not config.tune:
            return None
        acts, refs, durs = self._valid_activations(model, prepared)
        dec, scores, tuned_on = tune_gated(acts, refs, durs, separate_gate=config.separate_gate,
                                           gate_tuning=config.gate_tuning)
        return {"offline": dec, "online": None, "tuned_on": tuned_on, "scores": scores}

    @staticmethod
    def _valid_activations(model, prepared):
        """Whole-file activations of the validation entries with their references."""
        import torch

        from ...types import Activations, Segments
        from ...data.dataset import item_segments
        va, fps = prepared.extra["valid_set"], prepared.extra["frontend"].fps
        model.eval()
        dev = next(model.parameters()).device
        acts, refs, durs = [], [], []
        with torch.no_grad():
            for f, it in zip(va.feats, va.items):
                x = torch.from_numpy(np.asarray(f, dtype=np.float32))[None].to(dev)
                v = torch.sigmoid(model(x))[0].cpu().numpy()
                acts.append(Activations(values=v, fps=fps / model.time_stride, labels=LABELS))
                segs = [s for s in item_segments(it) if s[2] in LABELS]
                dur = len(f) / fps
                refs.append(Segments(intervals=np.array([[s[0], min(s[1], dur)] for s in segs])
                                     .reshape(-1, 2), labels=tuple(s[2] for s in segs)))
                durs.append(dur)
        return acts, refs, durs

    def card(self, model, config, prepared, *, info, decoder):
        return self._card(model, config, prepared, info=info, decoder=decoder,
                          normalization="per-band")


#: candidate values of the file-level ``neither`` gate (share of the file covered by segments)
MIN_ACTIVE_GRID = tuple(np.round(np.arange(0.02, 0.61, 0.02), 2))


def tune_min_active(acts, refs, durations, decoder, *, grid=MIN_ACTIVE_GRID):
    """The ``neither`` gate of file classification, tuned on validation files.

    A file is ``neither`` when its decoded music and speech segments cover
    less than ``min_active`` of it. Files without reference segments should
    be ``neither``, files with some should not; the gate maximises the mean
    of both accuracies (ties: the middle of the best run of candidates).

    Returns
    -------
    min_active : float
    scores : dict
        ``neither_valid_accuracy`` (files without music or speech answered
        neither), ``active_valid_accuracy`` (the others not answered neither)
        and the file counts; all 0.0 gate (never neither) when validation
        holds no file of one kind.
    """
    from ...decoders.smoothing import decode_segments
    from ...tasks.musicspeech import covered_fraction
    cover = np.array([covered_fraction(decode_segments(a, **decoder), d)
                      for a, d in zip(acts, durations)])
    empty = np.array([len(r.intervals) == 0 for r in refs])
    if empty.all() or not empty.any():
        return 0.0, {"n_valid_neither": int(empty.sum())}
    acc = np.array([((cover[empty] < g).mean() + (cover[~empty] >= g).mean()) / 2 for g in grid])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    run = best[:np.argmax(np.diff(np.r_[best, best[-1] + 2]) > 1) + 1]  # first run of maxima
    g = float(grid[int(run[len(run) // 2])])
    return g, {"n_valid_neither": int(empty.sum()), "n_valid_active": int((~empty).sum()),
               "neither_valid_accuracy": round(float((cover[empty] < g).mean()), 5),
               "active_valid_accuracy": round(float((cover[~empty] >= g).mean()), 5)}


#: gate-decoder candidates of :func:`tune_gate_files` (per class: threshold x minimum duration)
GATE_GRID = {"threshold": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
             "min_duration": [0.0, 0.3, 1.0, 2.0]}


def tune_gate_files(acts, refs, durations, decoder, *, grid=None, min_active_grid=MIN_ACTIVE_GRID):
    """The ``neither`` gate's decoder and ``min_active``, searched for file accuracy.

    Starting from ``decoder`` (its median and minimum gaps are kept), every
    combination of a music and a speech (threshold, minimum segment
    duration) from ``grid`` (default :data:`GATE_GRID`, plus the values of
    ``decoder`` itself, which is the first candidate) is tried with every
    ``min_active``; the winner maximises the balanced file accuracy of
    :func:`tune_min_active` (files without music or speech answered
    ``neither``, the others not; ``min_active``: the middle of the first run
    of best values, as there), ties going to the higher accuracy on the
    files holding music or speech, then to the first candidate (so the
    result is never worse on these files than ``decoder``'s gate).

    Returns
    -------
    gate : dict
    min_active : float
    scores : dict
    """
    from ...decoders.smoothing import decode_segments
    from ...tasks.musicspeech import covered_fraction
    from ...types import Activations, Segments
    grid = dict(grid or GATE_GRID)
    empty = np.array([len(r.intervals) == 0 for r in refs])
    if empty.all() or not empty.any():
        return dict(decoder), 0.0, {"n_valid_neither": int(empty.sum())}
    gates = np.asarray(min_active_grid, dtype=np.float64)

    def per_class(key, c):
        v = decoder.get(key, 0.0)
        return float(v[c] if isinstance(v, (list, tuple)) else v)

    # classes are decoded independently: decode each class's candidates once per file
    cands, segs = [], []
    for c in range(len(LABELS)):
        own = (per_class("threshold", c), per_class("min_duration", c))
        cc = [own] + [p for p in itertools.product(grid["threshold"], grid["min_duration"])
                      if p != own]
        one = dict(decoder, threshold=per_class("threshold", c), min_gap=per_class("min_gap", c),
                   low=None if decoder.get("low") is None else per_class("low", c))
        sc = []
        for thr, md in cc:
            d1 = dict(one, threshold=thr, min_duration=md)
            sc.append([decode_segments(Activations(values=np.asarray(a.values)[:, c:c + 1],
                                                   fps=a.fps, labels=(LABELS[c],)), **d1)
                       .intervals.reshape(-1, 2) for a in acts])
        cands.append(cc)
        segs.append(sc)
    best = None
    for (i, (tm, mm)), (j, (ts, ms)) in itertools.product(enumerate(cands[0]), enumerate(cands[1])):
        cover = np.empty(len(durations))
        for f, d in enumerate(durations):
            iv = np.concatenate([segs[0][i][f], segs[1][j][f]])
            cover[f] = covered_fraction(Segments(intervals=iv, labels=("x",) * len(iv)), d)
        n_ok = (cover[empty][:, None] < gates[None]).mean(axis=0)
        a_ok = (cover[~empty][:, None] >= gates[None]).mean(axis=0)
        acc = (n_ok + a_ok) / 2
        top = np.flatnonzero(acc >= acc.max() - 1e-12)
        run = top[:np.argmax(np.diff(np.r_[top, top[-1] + 2]) > 1) + 1]  # first run of maxima
        k = int(run[len(run) // 2])  # its middle, as tune_min_active
        key = (acc[k], a_ok[k])
        if best is None or key[0] > best[0][0] + 1e-12 or (
                key[0] > best[0][0] - 1e-12 and key[1] > best[0][1] + 1e-12):
            dec = dict(decoder, threshold=[tm, ts], min_duration=[mm, ms])
            best = (key, dec, float(gates[k]), n_ok[k], a_ok[k])
    _, dec, g, n_acc, a_acc = best
    return dec, g, {"n_valid_neither": int(empty.sum()), "n_valid_active": int((~empty).sum()),
                    "neither_valid_accuracy": round(float(n_acc), 5),
                    "active_valid_accuracy": round(float(a_acc), 5)}


def tune_gated(acts, refs, durations, *, separate_gate=False, gate_tuning="frames"):
    """Frame decoder plus ``neither`` gate of a detector, tuned on validation files.

    ``separate_gate`` false: one decoder (:func:`tune_decoder` on all files)
    serves the frames and the gate (:func:`tune_min_active`). True: the frame
    decoder is tuned on the files holding music or speech only, and the gate
    keeps the decoder tuned on all files as its own (``gate`` of
    :class:`audiodl.tasks.musicspeech.MusicSpeechParams`): hard negatives push
    the all-files music threshold up, which costs recall on music under speech.

    Returns
    -------
    decoder : dict
        ``decoder.offline`` of the card.
    scores : dict
    tuned_on : str
    """
    dec, scores = tune_decoder(acts, refs, durations)
    min_active, gate_scores = tune_min_active(acts, refs, durations, dec)
    active = [i for i, r in enumerate(refs) if len(r.intervals)]
    tuned_on = (f"validation split ({len(acts)} files): mean frame F of music and speech, "
                "10 ms grid, counts summed over files; min_active: balanced file accuracy of "
                "neither vs. music/speech files")
    if separate_gate and 0 < len(active) < len(refs) and min_active > 0:
        frame, scores = tune_decoder([acts[i] for i in active], [refs[i] for i in active],
                                     [durations[i] for i in active])
        if gate_tuning == "files":
            dec, min_active, gate_scores = tune_gate_files(acts, refs, durations, dec)
            how = ("its music/speech thresholds, minimum duration and min_active searched "
                   "together for the balanced file accuracy of neither vs. music/speech files")
        else:
            how = ("gate decoder: the same objective; min_active: balanced file accuracy of "
                   "neither vs. music/speech files")
        frame["gate"] = dec
        dec = frame
        tuned_on = (f"validation split: frame decoder on the {len(active)} files with music "
                    f"or speech (mean frame F of both, 10 ms grid, counts summed over files); "
                    f"gate decoder and min_active on all {len(acts)} files ({how})")
    dec["min_active"] = min_active
    scores.update(gate_scores)
    return dec, scores, tuned_on


def tune_decoder(acts, refs, durations, *, grid=None):
    """Segment-decoder parameters maximising the mean frame F of music and speech.

    Classes are decoded independently (only the median length is shared), so
    each class's threshold, minimum duration and minimum gap are searched
    separately for every median length (``grid``, default :data:`DECODER_GRID`).

    Parameters
    ----------
    acts : list of Activations [shape=(n_frames, 2)]
    refs : list of Segments
    durations : list of float [s]

    Returns
    -------
    decoder : dict
        Keyword arguments of :func:`audiodl.decoders.smoothing.decode_segments`.
    scores : dict
        Frame and event scores of that decoder on the same files (counts summed).
    """
    from ...decoders.smoothing import decode_segments, median_filter
    from ...evaluation.musicspeech import aggregate, evaluate, segments_to_frames
    from ...types import Activations
    grid = dict(grid or DECODER_GRID)
    ref_grid = [segments_to_frames(r, duration=d, classes=LABELS) for r, d in zip(refs, durations)]

    def class_f(filtered, c, thr, mdur, mgap):
        tp = fp = fn = 0
        for a, rg, d in zip(filtered, ref_grid, durations):
            one = Activations(values=a[:, c:c + 1], fps=acts[0].fps, labels=("x",))
            est = decode_segments(one, method="hysteresis", threshold=thr, min_duration=mdur,
                                  min_gap=mgap)
            eg = segments_to_frames(est, duration=d, classes=("x",))[:, 0]
            r = rg[:, c]
            tp += int(np.sum(r & eg))
            fp += int(np.sum(~r & eg))
            fn += int(np.sum(r & ~eg))
        return 2 * tp / max(2 * tp + fp + fn, 1)

    def score(dec):
        res = aggregate([evaluate(r, decode_segments(a, **dec), duration=d)
                         for a, r, d in zip(acts, refs, durations)])
        return res, (res["music_f"] + res["speech_f"]) / 2

    best, best_score, best_res = None, -1.0, None
    for median in grid["median"]:
        filtered = [median_filter(a.values, size=max(1, int(round(median * a.fps))))
                    if median > 0 else np.asarray(a.values, dtype=np.float64) for a in acts]
        dec = {"method": "hysteresis", "median": median, "threshold": [0.5, 0.5],
               "min_duration": [0.0, 0.0], "min_gap": [0.0, 0.0]}
        for c in range(len(LABELS)):
            cands = itertools.product(grid["threshold"], grid["min_duration"], grid["min_gap"])
            _, params = max(((class_f(filtered, c, *p), p) for p in cands), key=lambda t: t[0])
            dec["threshold"][c], dec["min_duration"][c], dec["min_gap"][c] = params
        res, s = score(dec)
        log.info("decoder median %.1f: %s -> music F %.4f speech F %.4f", median, dec,
                 res["music_f"], res["speech_f"])
        if s > best_score:
            best, best_score, best_res = dec, s, res
    scores = {k: round(v, 5) for k, v in best_res.items() if isinstance(v, float)}
    scores["n_files"] = best_res["n_files"]
    return best, scores
