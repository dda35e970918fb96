"""Training spec of the similarity encoder (``audiodl train similarity``).

Metric learning with a binarising code layer (semantic hashing; Schlüter,
ISMIR 2013): every training example is a pair of excerpts from two versions
of the same composition (covers, near-duplicate edits and waveform-augmented
variants of the similarity corpus, :mod:`audiodl.data.synth.similarity`),
both shifted by up to ``pitch_shift`` semitones (bands of the 12-per-octave
front end), time-stretched by up to ``stretch`` and offset in gain. A track's
embedding is ``e = 2 mean_t(sigmoid(logits)) - 1`` (exactly what inference
pools, :mod:`audiodl.decoders.hamming`); the loss is

* a supervised contrastive loss (NT-Xent, temperature ``temperature``) on
  the normalised embeddings: versions of a composition together, others apart;
* ``quant_weight * mean((1 - |e|)^2)``: pooled bits far from undecided (the
  code ``e > 0`` then keeps the embedding's neighbourhoods);
* ``balance_weight * mean_bits(mean_batch(e)^2)``: every bit used half the time.

Validation: MAP of excerpt retrieval (fixed pairs) selects the epoch;
afterwards whole-track MAP on the validation items (exact measure and
Hamming distance) goes into the card. The bit threshold stays 0.5 (not tuned).

Data: JSONL manifests (relative to the data root) with ``group`` per item;
items of ``train_splits`` train, items of ``valid_splits`` validate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["SimilarityConfig", "SimilaritySpec", "PairDataset", "contrastive_hash_loss"]

log = logging.getLogger(__name__)

LICENCE = "GPL-3.0-or-later (trained on renders with GPL/free General-MIDI soundfonts)"


@dataclass
class SimilarityConfig(SpecConfig):
    """Config of ``audiodl train similarity``.

    Parameters
    ----------
    manifests : list of str
        Similarity corpus manifests (relative to the data root, or absolute).
    train_splits, valid_splits : list of str
        Manifest splits used for training and validation.
    n_bits : int
        Code length (overrides ``arch_args``' ``n_bits``).
    excerpt : int [frames]
        Frames per training excerpt (256 = 11.9 s at 21.5 fps).
    pairs_per_epoch : int
        Training pairs drawn per epoch (``batch_size`` pairs per step).
    n_valid : int
        Fixed validation pairs.
    variants : int
        Waveform-augmented variants per training file (EQ, noise, reverb, codec).
    pitch_shift : int [semitones]
        Largest random transposition of an excerpt.
    stretch : float
        Largest relative time stretch of an excerpt (0.15 = +-15 %).
    temperature, quant_weight, balance_weight : float
        Loss settings (see the module notes).
    """

    name: str = "similarity_cnn"
    arch: str = "similarity_cnn"
    manifests: list[str] = field(default_factory=lambda: ["similarity/manifest.jsonl"])
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    valid_splits: list[str] = field(default_factory=lambda: ["valid"])
    n_bits: int = 128
    excerpt: int = 256
    pairs_per_epoch: int = 512
    n_valid: int = 128
    variants: int = 1
    pitch_shift: int = 2
    stretch: float = 0.15
    temperature: float = 0.1
    quant_weight: float = 0.1
    balance_weight: float = 0.1
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    weight_decay: float = 1e-4
    monitor: str = "map"

    def __post_init__(self):
        super().__post_init__()
        if self.n_bits % 8 or not 8 <= self.n_bits <= 1024:
            raise ParameterError(f"n_bits must be a multiple of 8 in [8, 1024], got {self.n_bits}")
        if self.excerpt < 16 or self.pairs_per_epoch < 1 or self.n_valid < 2:
            raise ParameterError("excerpt >= 16, pairs_per_epoch >= 1 and n_valid >= 2 needed")
        if not 0 <= self.stretch < 0.5 or self.pitch_shift < 0 or self.temperature <= 0:
            raise ParameterError("0 <= stretch < 0.5, pitch_shift >= 0 and temperature > 0 needed")


def contrastive_hash_loss(embeddings, labels, *, temperature: float = 0.1,
                          quant_weight: float = 0.1, balance_weight: float = 0.1):
    """Supervised NT-Xent on normalised embeddings + quantisation + bit balance.

    Parameters
    ----------
    embeddings : torch.Tensor [shape=(n, n_bits)]
        ``2 p - 1`` of pooled bit probabilities, in (-1, 1).
    labels : torch.Tensor [shape=(n,)], int
        Group of each row (at least one other row of its group expected).
    """
    import torch
    from torch.nn import functional as F
    z = F.normalize(embeddings, dim=1)
    sim = z @ z.T / temperature
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    logp = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    n_pos = pos.sum(1)
    has = n_pos > 0
    nce = -(logp.masked_fill(~pos, 0.0).sum(1)[has] / n_pos[has]).mean()
    quant = ((1.0 - embeddings.abs()) ** 2).mean()
    balance = (embeddings.mean(0) ** 2).mean()
    return nce + quant_weight * quant + balance_weight * balance


def _augment(x, rng, *, excerpt, pitch_shift, stretch, floor):
    """An excerpt of ``excerpt`` frames: time-stretched, transposed, gain-offset."""
    f = float(rng.uniform(1 - stretch, 1 + stretch)) if stretch else 1.0
    need = max(2, int(round(excerpt * f)))
    if len(x) < need:  # loop short items
        x = np.concatenate([x] * (need // max(len(x), 1) + 1))
    s = int(rng.integers(0, len(x) - need + 1))
    seg = np.asarray(x[s:s + need], dtype=np.float32)
    pos = np.linspace(0, need - 1, excerpt)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, need - 1)
    w = (pos - i0)[:, None].astype(np.float32)
    out = seg[i0] * (1 - w) + seg[i1] * w
    k = int(rng.integers(-pitch_shift, pitch_shift + 1)) if pitch_shift else 0
    if k:
        out = np.roll(out, k, axis=1)
        if k > 0:
            out[:, :k] = floor
        else:
            out[:, k:] = floor
    return out + np.float32(rng.normal(0.0, 0.3))


class PairDataset:
    """Pairs of excerpts of two entries of one group (a torch Dataset, seeded per epoch).

    Item ``k`` -> ``(x [shape=(2, excerpt, n_bins)] float32, group index)``.
    """

    def __init__(self, feats, groups, *, n: int, excerpt: int, seed: int, pitch_shift: int = 0,
                 stretch: float = 0.0):
        by = {}
        for i, g in enumerate(groups):
            by.setdefault(g, []).append(i)
        self.groups = [v for _, v in sorted(by.items()) if len(v) >= 2]
        if not self.groups:
            raise ParameterError("PairDataset: no group has two entries")
        self.feats, self.n, self.excerpt = feats, int(n), int(excerpt)
        self.seed, self.epoch = int(seed), 0
        self.pitch_shift, self.stretch = int(pitch_shift), float(stretch)
        self.floor = float(min(float(np.min(f)) for f in feats))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        rng = np.random.default_rng([self.seed, self.epoch, int(k)])
        gi = int(rng.integers(len(self.groups)))
        a, b = rng.choice(self.groups[gi], size=2, replace=False)
        xs = [_augment(self.feats[i], rng, excerpt=self.excerpt, pitch_shift=self.pitch_shift,
                       stretch=self.stretch, floor=self.floor) for i in (a, b)]
        return np.stack(xs), gi


def _torch_dataset(ds):
    """Wrap a :class:`PairDataset` as a ``torch.utils.data.Dataset``."""
    from torch.utils.data import Dataset

    class _Pairs(Dataset):
        def __len__(self):
            return len(ds)

        def __getitem__(self, k):
            return ds[k]

        def set_epoch(self, epoch):
            ds.set_epoch(epoch)

    return _Pairs()


def pooled_embeddings(model, x):
    """``2 mean_t(sigmoid(model(x))) - 1``: x ``(batch, frames, bins)`` -> ``(batch, n_bits)``."""
    import torch
    return 2.0 * torch.sigmoid(model(x)).mean(dim=1) - 1.0


class SimilaritySpec(TrainingSpec):
    """Similarity encoder: pairs of versions, contrastive hashing loss."""

    task = "similarity"
    config_class = SimilarityConfig
    default_name = "similarity_cnn"

    def _items(self, config, splits, *, data_root):
        from ...data.manifest import read_manifest
        from ...data.paths import resolve_data_path
        out = []
        for rel in config.manifests:
            for it in read_manifest(resolve_data_path(rel, data_root)):
                if it.get("split") in splits and it.get("group"):
                    out.append(it)
        return out

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.augment import random_augment
        from ...data.dataset import FeatureCache, FeatureSet, normalization_stats
        from ...models.registry import build
        from ...tasks.similarity import FRONTEND
        train_items = self._items(config, config.train_splits, data_root=data_root)
        valid_items = self._items(config, config.valid_splits, data_root=data_root)
        if not train_items or not valid_items:
            raise ParameterError(f"similarity: {len(train_items)} train / {len(valid_items)} "
                                 f"valid items in {config.manifests}; both must be non-empty")

        def augment(y, sr, rng):
            return random_augment(y, sr, rng, p_reverb=0.4, p_eq=0.6, p_noise=0.4, p_codec=0.2)

        cache = FeatureCache(FRONTEND, root=config.feature_cache or None, augment=augment)
        no_targets = lambda item, n, fps: np.zeros((n, 0), np.float32)  # noqa: E731
        tr = FeatureSet(train_items, cache, targets=no_targets, labels=(),
                        variants=tuple(range(config.variants + 1)))
        va = FeatureSet(valid_items, cache, targets=no_targets, labels=())
        args = dict(parse_arch_args(config.arch_args), n_bits=config.n_bits,
                    n_bins=FRONTEND.n_bins)
        model = build(config.arch, args)
        mean, std = normalization_stats(tr.feats, per="band", seed=config.seed)
        model.norm.set_stats(mean, std)
        train = PairDataset(tr.feats, [it["group"] for it in tr.items], n=config.pairs_per_epoch,
                            excerpt=config.excerpt, seed=config.seed,
                            pitch_shift=config.pitch_shift, stretch=config.stretch)
        valid = PairDataset(va.feats, [it["group"] for it in va.items], n=config.n_valid,
                            excerpt=config.excerpt, seed=config.seed + 7919)
        groups = {it["group"] for it in train_items}
        data = {"manifests": list(config.manifests), "train_splits": list(config.train_splits),
                "valid_splits": list(config.valid_splits),
                "n_train_items": len(train_items), "n_train_groups": len(groups),
                "n_valid_items": len(valid_items),
                "n_valid_groups": len({it["group"] for it in valid_items}),
                "train_hours": round(sum(it["duration"] for it in train_items) / 3600, 3),
                "augmentation": f"{config.variants} waveform variant(s) per training file "
                                "(EQ, noise, reverb, codec) + per excerpt: transposition "
                                f"+-{config.pitch_shift} semitones, time stretch "
                                f"+-{config.stretch:.0%}, gain offset"}
        return Prepared(model=model, train=_torch_dataset(train), valid=_torch_dataset(valid),
                        data=data, extra={"frontend": FRONTEND, "valid_set": va,
                                          "arch_args": args})

    def loss(self, config):
        def loss_fn(embeddings, labels):
            return contrastive_hash_loss(embeddings, labels, temperature=config.temperature,
                                         quant_weight=config.quant_weight,
                                         balance_weight=config.balance_weight)
        return loss_fn

    def forward(self, config):
        def forward_fn(model, batch, loss_fn):
            x, y = batch[0], batch[1]
            p, two, t, f = x.shape
            e = pooled_embeddings(model, x.reshape(p * two, t, f))
            labels = y.repeat_interleave(two)
            return loss_fn(e, labels), e
        return forward_fn

    def metrics(self, config, prepared):
        from ...evaluation.similarity import retrieval_scores

        def metric_fn(outs, targets):
            import torch
            e = torch.cat(outs).numpy()
            y = torch.cat(targets).long().repeat_interleave(2).numpy()
            z = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            s = retrieval_scores(z @ z.T, list(y), k=1)
            bits = e > 0
            ham = -(bits[:, None, :] != bits[None, :, :]).sum(-1).astype(np.float64)
            h = retrieval_scores(ham, list(y), k=1)
            return {"map": s["map"], "top1": s["top1"], "map_hamming": h["map"],
                    "mean_abs_e": float(np.abs(e).mean())}
        return metric_fn

    def tune(self, model, config, prepared):
        """Whole-track validation scores (the threshold stays 0.5: nothing is tuned)."""
        import torch

        from ...decoders.hamming import decode_codes, hamming_distances
        from ...evaluation.similarity import retrieval_scores
        from ...tasks.similarity import exact_similarity
        va = prepared.extra["valid_set"]
        model.eval()
        bits, emb = [], []
        with torch.inference_mode():
            for f in va.feats:
                x = torch.from_numpy(np.asarray(f, dtype=np.float32))[None]
                b, e = decode_codes(torch.sigmoid(model(x))[0].numpy())
                bits.append(b)
                emb.append(e)
        groups = [it["group"] for it in va.items]
        bits, emb = np.stack(bits), np.stack(emb)
        scores = {"exact": retrieval_scores(exact_similarity(emb, emb), groups, k=10),
                  "hamming": retrieval_scores(-hamming_distances(bits, bits).astype(float),
                                              groups, k=10)}
        return {"offline": {"threshold": 0.5}, "online": None,
                "tuned_on": "not tuned (0.5); whole-track validation scores in metrics",
                "scores": scores}

    def card(self, model, config, prepared, *, info, decoder):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder, valid_key="valid_excerpts",
                                          tuned_key="valid_tracks")
        if decoder and "scores" in decoder:
            metrics["headline"] = {"valid_map": round(decoder["scores"]["exact"]["map"], 4)}
        return build_card(
            name=info.name, task=self.task, arch=config.arch, args=prepared.extra["arch_args"],
            frontend=prepared.extra["frontend"], labels=[], layout="same", decoder=dec,
            training=self.training_info(config, info, prepared.data), metrics=metrics,
            normalization="per-band mean/std of the training features (model buffers)",
            licence=LICENCE,
            paper="Schlüter 2013, Learning binary codes for efficient large-scale music "
                  "similarity search (ISMIR)",
            recipe="recipes/similarity",
            description=f"{config.n_bits}-bit semantic-hashing encoder: versions of a "
                        "composition (covers, near-duplicate edits) share codes; exact "
                        "measure = cosine of the pooled embeddings")
