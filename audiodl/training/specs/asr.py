"""Training spec of task ``asr``: a Deep Speech 2 style CTC model on transcribed speech.

Data: JSONL manifests whose items carry ``text`` (the corpus of ``audiodl
synth speech``, the Asterisk prompts of ``audiodl data import asterisk-en``,
LibriSpeech through ``audiodl data load``). Items whose voice
(``meta.voice``) is in ``holdout_voices``, and every item of split ``test``,
are never read here (they are the recipe's test sets); the rest are used by
their ``train``/``valid`` split (a corpus without ``valid`` items validates on
every 4th ``train`` item, sorted by id). Utterances longer than ``max_seconds`` are
left out of training.

Inputs: whole utterances (padded to ``max_seconds``; each batch is cropped to
its longest utterance). **SortaGrad** (DS2 section 3.1): in the first epoch
the batches go from the shortest to the longest utterance; later epochs are
shuffled. The trainer's sampler shuffles indices with
``torch.randperm(n, generator seeded seed * 1000 + epoch)``
(:class:`~torch.utils.data.DistributedSampler`, also for one process); in
epoch 0 the dataset maps the k-th sampled index to the k-th shortest
utterance, so SortaGrad holds for one and for N DDP processes alike.
**SpecAugment** (Park et al. 2019) masks: ``freq_masks`` bands of up to
``freq_width`` bins and ``time_masks`` spans of up to ``time_width`` seconds
set to the utterance mean, drawn from ``default_rng([seed, epoch, index])``.

Targets: characters of the normalised transcript (:data:`~audiodl.models.asr.DEFAULT_TOKENS`,
``|`` between words). Loss: torch's native ``ctc_loss`` (blank 0, mean over
target lengths, infinite losses zeroed). Validation: greedy CER and WER
(pooled, :mod:`audiodl.evaluation.asr`); the best epoch maximises
``char_accuracy = 1 - CER``. Tuning on validation: beam search with the
project LM (:func:`audiodl.data.lm.default_lm`) over ``lm_weight`` and
``word_score``; the card's default decoder is the one with the lower
validation WER (greedy or beam + LM).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from torch.utils.data import Dataset

from ...errors import ParameterError
from .base import Prepared, SpecConfig, TrainingSpec, parse_arch_args

__all__ = ["AsrConfig", "AsrSpec", "UtteranceDataset", "encode_text"]

log = logging.getLogger(__name__)

SMALL_ARCH = ('{"n_bins": 80, "conv_channels": [16, 16], "conv_kernels": [[7, 21], [7, 11]], '
              '"rnn_hidden": 192, "rnn_layers": 3, "time_stride": 2}')


@dataclass
class AsrConfig(SpecConfig):
    """Config of ``audiodl train asr`` (flat; TOML or ``--set key=value``).

    Parameters
    ----------
    frontend : str
        Front-end preset (``ds2_mel``: 80 mel bands; ``ds2``: 161 linear bins).
    corpus : str
        Manifest (relative to the data root, or absolute).
    extra_corpora : list of str
        More manifests pooled with ``corpus``.
    holdout_voices : list of str
        ``meta.voice`` values never read (held-out test voices).
    max_seconds : float [s]
        Longest training utterance (and the padding length).
    sortagrad : bool
        Shortest-first first epoch.
    bucket : bool
        Later epochs: batches of utterances of similar length (less padding).
    specaugment : bool
    freq_masks, freq_width : int, int [bins]
    time_masks : int
    time_width : float [s]
    tune : bool
        Tune the beam search + LM on validation after training.
    feature_jobs : int
        Processes that fill the feature cache before training (1: in this process).
    """

    name: str = "asr_ds2_small"
    arch: str = "ds2"
    arch_args: str = SMALL_ARCH
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 1e-5
    lr_schedule: str = "cosine"
    grad_clip: float | None = 5.0
    patience: int | None = 8
    monitor: str = "char_accuracy"
    frontend: str = "ds2_mel"
    corpus: str = "speech/manifest.jsonl"
    extra_corpora: list[str] = field(default_factory=list)
    holdout_voices: list[str] = field(default_factory=list)
    max_seconds: float = 12.0
    sortagrad: bool = True
    bucket: bool = True
    specaugment: bool = True
    freq_masks: int = 2
    freq_width: int = 10
    time_masks: int = 2
    time_width: float = 0.2
    tune: bool = True
    feature_jobs: int = 1

    def __post_init__(self):
        super().__post_init__()
        if self.max_seconds <= 0 or self.freq_width < 0 or self.time_width < 0:
            raise ParameterError("max_seconds > 0, freq_width >= 0 and time_width >= 0 needed")


def encode_text(text: str, tokens) -> list:
    """Token ids of a normalised transcript (characters outside ``tokens`` dropped)."""
    index = {t: i for i, t in enumerate(tokens)}
    out = []
    for w in text.split():
        ids = [index[c] for c in w if c in index]
        if ids:
            if out:
                out.append(index["|"])
            out.extend(ids)
    return out


class UtteranceDataset(Dataset):
    """Whole utterances with CTC targets, padded to fixed sizes (default collate works).

    Item ``k`` is ``(x, y)``: ``x [shape=(max_frames, n_bins)]`` float32
    (zero-padded) and ``y [shape=(2 + max_labels,)]`` int64 holding the
    number of frames, the number of labels and the labels (``-1``-padded).

    Parameters
    ----------
    feats : list of np.ndarray [shape=(n_frames_i, n_bins)]
    labels : list of list of int
    augment : callable ``(x, rng) -> x`` or None
    seed : int
    sampler_seed : int or None
        The trainer's sampler seed (``config.seed * 1000``); None: indices are
        items (no SortaGrad, no bucketing).
    sortagrad : bool
        Epoch 0 maps the k-th sampled index to the k-th shortest utterance.
    bucket : int
        Later epochs: batches of ``bucket`` utterances of similar length (the
        items sorted by length times a random factor in [0.85, 1.15], cut
        into consecutive groups, the groups in random order), so little time
        is spent on padding; 0: plain shuffling.
    """

    def __init__(self, feats, labels, *, augment=None, seed: int = 0, sampler_seed=None,
                 sortagrad: bool = True, bucket: int = 0):
        self.feats, self.labels = feats, labels
        self.max_frames = max(len(f) for f in feats)
        self.max_labels = max(1, max(len(t) for t in labels))
        self.augment, self.seed, self.sampler_seed = augment, seed, sampler_seed
        self.sortagrad, self.bucket = bool(sortagrad), int(bucket)
        self.set_epoch(0)

    def __len__(self):
        return len(self.feats)

    def set_epoch(self, epoch: int) -> None:
        import torch
        self.epoch = int(epoch)
        n = len(self)
        self.order = np.arange(n)
        if self.sampler_seed is None or not (self.bucket or (self.sortagrad and epoch == 0)):
            return
        g = torch.Generator()  # the permutation the trainer's DistributedSampler draws
        g.manual_seed(self.sampler_seed + self.epoch)
        perm = torch.randperm(n, generator=g).numpy()
        lengths = np.array([len(f) for f in self.feats], dtype=np.float64)
        if self.sortagrad and self.epoch == 0:
            wanted = np.argsort(lengths, kind="stable")  # shortest first
        else:
            rng = np.random.default_rng([self.seed, self.epoch, 7])
            by_len = np.argsort(lengths * rng.uniform(0.85, 1.15, n), kind="stable")
            groups = [by_len[i:i + self.bucket] for i in range(0, n, self.bucket)]
            wanted = np.concatenate([groups[i] for i in rng.permutation(len(groups))])
        self.order[perm] = wanted  # sampler position k -> k-th wanted item

    def __getitem__(self, k):
        i = int(self.order[k])
        f = np.asarray(self.feats[i], dtype=np.float32)
        if self.augment is not None:
            f = self.augment(f, np.random.default_rng([self.seed, self.epoch, i]))
        x = np.zeros((self.max_frames, f.shape[1]), np.float32)
        x[:len(f)] = f
        y = np.full(2 + self.max_labels, -1, np.int64)
        y[0], y[1] = len(f), len(self.labels[i])
        y[2:2 + len(self.labels[i])] = self.labels[i]
        return x, y


def spec_masks(*, freq_masks: int, freq_width: int, time_masks: int, time_width: int):
    """SpecAugment masking ``(x, rng) -> x``: bands and frame spans set to the mean of ``x``."""
    def augment(x, rng):
        x = x.copy()
        fill = float(x.mean())
        n, b = x.shape
        for _ in range(freq_masks):
            w = int(rng.integers(0, freq_width + 1))
            s = int(rng.integers(0, max(1, b - w)))
            x[:, s:s + w] = fill
        for _ in range(time_masks):
            w = min(int(rng.integers(0, time_width + 1)), n // 5)
            s = int(rng.integers(0, max(1, n - w)))
            x[s:s + w] = fill
        return x
    return augment


def read_items(manifest, *, holdout=()) -> tuple:
    """(usable items, number left out) of a manifest with ``text`` transcripts."""
    from ...data.manifest import read_manifest
    from ...evaluation.asr import normalize
    items, dropped = [], 0
    for it in read_manifest(manifest):
        if "text" not in it:
            continue
        voice = (it.get("meta") or {}).get("voice")
        if it.get("split") == "test" or voice in holdout:
            dropped += 1
            continue
        items.append(dict(it, text=normalize(it["text"])))
    return items, dropped


def _greedy_texts(outs, targets, model, tokens):
    from ...decoders.ctc import greedy_decode
    hyps, refs = [], []
    for lp, y in zip(outs, targets):
        n_out = model.output_lengths(y[:, 0].long())
        for b in range(len(y)):
            hyps.append(greedy_decode(lp[b, :int(n_out[b])].numpy(), tokens))
            lab = y[b, 2:2 + int(y[b, 1])].long().tolist()
            refs.append(" ".join("".join(tokens[i] for i in lab).replace("|", " ").split()))
    return refs, hyps


class AsrSpec(TrainingSpec):
    """DS2-style CTC model (``ds2``) on transcribed speech manifests."""

    task = "asr"
    config_class = AsrConfig
    default_name = "asr_ds2_small"

    def prepare(self, config, *, data_root) -> Prepared:
        from ...data.dataset import FeatureCache, normalization_stats
        from ...data.paths import resolve_data_path
        from ...features.config import preset
        from ...models.asr import DEFAULT_TOKENS
        from ...models.registry import build

        fe = preset(config.frontend)
        cache = FeatureCache(fe, root=config.feature_cache or None)
        items, held = [], 0
        for m in [config.corpus, *config.extra_corpora]:
            its, d = read_items(resolve_data_path(m, data_root), holdout=config.holdout_voices)
            items += its
            held += d
        items = [it for it in items if it["duration"] <= config.max_seconds]
        train_items = [it for it in items if it["split"] == "train"]
        valid_items = [it for it in items if it["split"] == "valid"]
        if train_items and not valid_items:  # tiny corpora: every 4th train item validates
            train_items = sorted(train_items, key=lambda it: str(it["id"]))
            valid_items, train_items = train_items[::4], [it for k, it in
                                                         enumerate(train_items) if k % 4]
        if not train_items or not valid_items:
            raise ParameterError(f"asr: {len(train_items)} train / {len(valid_items)} valid "
                                 f"items in {config.corpus}; both must be non-empty")
        tokens = DEFAULT_TOKENS

        if config.feature_jobs > 1:  # otherwise load() below computes them one by one
            cache.fill([it["audio"] for it in train_items + valid_items],
                       jobs=config.feature_jobs)

        def load(its):
            feats = [cache.get(it["audio"]).astype(np.float16) for it in its]
            return feats, [encode_text(it["text"], tokens) for it in its]

        tr_f, tr_y = load(train_items)
        va_f, va_y = load(valid_items)
        args = parse_arch_args(config.arch_args)
        args.setdefault("n_bins", int(tr_f[0].shape[1]))
        args.setdefault("n_tokens", len(tokens))
        model = build(config.arch, args)
        mean, std = normalization_stats(tr_f, per="band", seed=config.seed)
        model.set_normalization(mean, std)
        aug = None
        if config.specaugment:
            aug = spec_masks(freq_masks=config.freq_masks, freq_width=config.freq_width,
                             time_masks=config.time_masks,
                             time_width=int(round(config.time_width * fe.fps)))
        train_ds = UtteranceDataset(tr_f, tr_y, augment=aug, seed=config.seed,
                                    sampler_seed=config.seed * 1000, sortagrad=config.sortagrad,
                                    bucket=config.batch_size if config.bucket else 0)
        valid_ds = UtteranceDataset(va_f, va_y)
        hours = sum(it["duration"] for it in train_items) / 3600
        data = {"manifests": [config.corpus, *config.extra_corpora],
                "holdout_voices": list(config.holdout_voices), "left_out_items": held,
                "train_items": len(train_items), "valid_items": len(valid_items),
                "train_hours": round(hours, 3)}
        log.info("asr: %d train (%.2f h) / %d valid items, %d held out", len(train_items),
                 hours, len(valid_items), held)
        return Prepared(model=model, train=train_ds, valid=valid_ds, data=data,
                        extra={"frontend": fe, "tokens": tokens, "args": args,
                               "valid_texts": [it["text"] for it in valid_items]})

    def loss(self, config):
        import torch

        def loss_fn(out, y):
            lp, out_len = out  # (b, t, v) log-probs, (b,) output lengths
            n_lab = y[:, 1].long()
            flat = torch.cat([y[b, 2:2 + int(n_lab[b])] for b in range(len(y))]).long()
            return torch.nn.functional.ctc_loss(lp.transpose(0, 1).float(), flat, out_len,
                                                n_lab, blank=0, reduction="mean",
                                                zero_infinity=True)
        return loss_fn

    def forward(self, config):
        import torch

        def forward_fn(net, batch, loss_fn):
            x, y = batch[0], batch[1]
            n = y[:, 0].long()
            x = x[:, :int(n.max())]
            model = getattr(net, "module", net)
            logits = net(x, n)
            lp = torch.log_softmax(logits.float(), dim=-1)
            out_len = model.output_lengths(n).clamp(max=lp.shape[1])
            return loss_fn((lp, out_len), y), lp
        return forward_fn

    def metrics(self, config, prepared):
        from ...evaluation.asr import evaluate
        model, tokens = prepared.model, prepared.extra["tokens"]

        def metric_fn(outs, targets):
            refs, hyps = _greedy_texts(outs, targets, model, tokens)
            s = evaluate(refs, hyps)
            return {"cer": s["cer"], "wer": s["wer"], "char_accuracy": 1.0 - s["cer"]}
        return metric_fn

    def tune(self, model, config, prepared):
        if not config.tune:
            return None
        import torch

        from ...data.lm import DEFAULT_LM_NAME, default_lm
        from ...decoders.ctc import BeamSearch, greedy_decode
        from ...evaluation.asr import evaluate
        tokens, ds = prepared.extra["tokens"], prepared.valid
        model.eval()
        dev = next(model.parameters()).device
        lps = []
        with torch.no_grad():
            for k in range(len(ds)):
                x, y = ds[k]
                x = torch.from_numpy(x[:int(y[0])])[None].to(dev)
                lps.append(torch.log_softmax(model(x).float(), -1)[0].cpu().numpy())
        refs = prepared.extra["valid_texts"]
        greedy = evaluate(refs, [greedy_decode(lp, tokens) for lp in lps])
        arpa, lex = default_lm(tokens=tokens)
        best = None
        for w in (0.25, 0.5, 1.0, 1.5, 2.0):
            for ws in (-1.0, 0.0, 1.0):
                bs = BeamSearch(tokens, lm=arpa, lexicon=lex, beam_size=50, lm_weight=w,
                                word_score=ws)
                s = evaluate(refs, [bs(lp) for lp in lps])
                if best is None or s["wer"] < best[0]["wer"]:
                    best = (s, w, ws)
        s, w, ws = best
        use_beam = s["wer"] < greedy["wer"]
        offline = {"method": "beam" if use_beam else "greedy", "beam_size": 50,
                   "lm": "default" if use_beam else "", "lm_weight": w, "word_score": ws,
                   "timestamps": True}
        r = lambda v: round(float(v), 4)  # noqa: E731
        return {"offline": offline, "online": None,
                "tuned_on": f"{len(refs)} validation utterances (WER greedy {r(greedy['wer'])},"
                            f" beam+{DEFAULT_LM_NAME} {r(s['wer'])})",
                "scores": {"greedy": {"wer": r(greedy["wer"]), "cer": r(greedy["cer"])},
                           "beam_lm": {"wer": r(s["wer"]), "cer": r(s["cer"]),
                                       "lm_weight": w, "word_score": ws},
                           "utterances": len(refs)}}

    def card(self, model, config, prepared, *, info, decoder):
        from ...pretrained.card import build_card
        metrics, dec = self.card_metrics(info, decoder)
        return build_card(
            name=info.name, task=self.task, arch=config.arch, args=prepared.extra["args"],
            frontend=prepared.extra["frontend"], labels=list(prepared.extra["tokens"]),
            layout="window", decoder=dec,
            training=self.training_info(config, info, prepared.data,
                                        parameters=int(sum(p.numel()
                                                           for p in model.parameters()))),
            metrics=metrics, licence="MIT (weights trained by audiodl on synthetic speech)",
            paper="D. Amodei et al., Deep Speech 2: End-to-end speech recognition in English "
                  "and Mandarin, ICML 2016",
            recipe="recipes/asr",
            description="Deep Speech 2 style CTC character model (English); activations are "
                        "CTC log-probabilities; layout 'same' is nominal (the task runs whole "
                        "utterances, see audiodl.tasks.asr).")
