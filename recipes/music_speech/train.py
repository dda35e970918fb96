"""Stage 2: train one music/speech model (one architecture, one seed).

    python recipes/music_speech/train.py --arch musicspeech_cnn --seed 0
    python recipes/music_speech/train.py --arch lidy2015 --seed 0 --set epochs=10
    python recipes/music_speech/train.py --arch musicspeech_tcn --seed 0

Writes WORK/runs/<arch>/seed<N>/: config.json, log.jsonl, last.pt (resume by
re-running the same command), best.pt, and model.json + model.pt (a
self-contained card + state_dict with the training-set normalisation stats).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DEFAULTS = {
    "lidy2015": dict(epochs=10, batch_size=64, lr=0.05, optimizer="nesterov", momentum=0.9,
                     lr_schedule="cosine", monitor="accuracy", grad_clip=5.0),
    "musicspeech_cnn": dict(epochs=10, batch_size=64, lr=2e-3, optimizer="adam",
                            lr_schedule="cosine", monitor="accuracy", weight_decay=1e-4),
    "musicspeech_tcn": dict(epochs=12, batch_size=16, lr=2e-3, optimizer="adam",
                            lr_schedule="cosine", monitor="f_mean", weight_decay=1e-4),
}
TASK = {"lidy2015": "musicspeech-classify", "musicspeech_cnn": "musicspeech-classify",
        "musicspeech_tcn": "musicspeech-detect"}


def excerpt_metric(outs, targets):
    import torch
    o, t = torch.cat(outs).flatten(), torch.cat(targets).flatten()
    return {"accuracy": float(((o > 0) == (t > 0.5)).float().mean())}


def frame_metric(outs, targets):
    import torch
    o = (torch.cat(outs) > 0).reshape(-1, 2)
    t = (torch.cat(targets) > 0.5).reshape(-1, 2)
    fs = {}
    for c, name in enumerate(common.LABELS):
        tp = float((o[:, c] & t[:, c]).sum())
        fp = float((o[:, c] & ~t[:, c]).sum())
        fn = float((~o[:, c] & t[:, c]).sum())
        fs[f"f_{name}"] = 2 * tp / max(2 * tp + fp + fn, 1.0)
    fs["f_mean"] = float(np.mean(list(fs.values())))
    return fs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True, choices=sorted(DEFAULTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="real,synth", help="data kinds: real, synth")
    ap.add_argument("--variants", type=int, default=2,
                    help="augmented waveform variants per training file (besides the clean one)")
    ap.add_argument("--steps", type=int, default=300, help="batches per epoch")
    ap.add_argument("--window", type=int, default=430,
                    help="frames per training window of the detector (430 = 5 s)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--set", nargs="*", default=[], help="TrainConfig overrides key=value")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch
    from torch import nn

    from audiodl.data.dataset import (ExcerptDataset, FeatureSet, SequenceDataset, SpecAugment,
                                      normalization_stats)
    from audiodl.models.registry import build
    from audiodl.pretrained import save
    from audiodl.training import TrainConfig, seed_everything, train

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    kinds = tuple(args.kinds.split(","))
    out = args.out or str(common.WORK / "runs" / args.arch / f"seed{args.seed}")
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    cache = common.cache()
    train_items = common.items("train", kinds=kinds)
    valid_items = common.items("valid", kinds=kinds)
    # real recordings: clean + augmented variants; synthetic items are augmented already
    real = [it for it in train_items if it["_corpus"] != "synth"]
    synth = [it for it in train_items if it["_corpus"] == "synth"]
    tr = FeatureSet(real, cache, labels=common.LABELS, variants=tuple(range(args.variants + 1)),
                    progress=lambda it: common.progress(it, "train features (real)"))
    if synth:
        ts = FeatureSet(synth, cache, labels=common.LABELS, variants=(0,),
                        progress=lambda it: common.progress(it, "train features (synth)"))
        tr.feats += ts.feats
        tr.targets += ts.targets
        tr.items += ts.items
    va = FeatureSet(valid_items, cache, labels=common.LABELS, variants=(0,),
                    progress=lambda it: common.progress(it, "valid features"))
    logging.info("features: %d train entries, %d valid (%.0f s)", len(tr), len(va),
                 time.time() - t0)

    cfg = TrainConfig(seed=args.seed, device="cpu", max_steps_per_epoch=args.steps,
                      **DEFAULTS[args.arch]).with_overrides(args.set)
    model = build(args.arch, {})
    aug = SpecAugment()
    if model.kind == "excerpt":
        per = "pixel" if args.arch == "lidy2015" else "band"
        clean = [f for f, it in zip(tr.feats, tr.items)]
        mean, std = normalization_stats(clean, per=per, n_frames=model.n_frames, seed=args.seed)
        n_epoch = cfg.batch_size * args.steps
        train_ds = ExcerptDataset(tr, n_frames=model.n_frames, n_per_epoch=n_epoch,
                                  augment=aug, seed=args.seed)
        valid_ds = ExcerptDataset(va, n_frames=model.n_frames, n_per_epoch=4000, seed=12345)
        valid_ds.set_epoch(0)
        loss = nn.BCEWithLogitsLoss()

        def loss_fn(o, t):
            return loss(o[:, 0], t)
        metric = excerpt_metric
    else:
        mean, std = normalization_stats(tr.feats, per="band", seed=args.seed)
        n_win = args.window
        # balance corpora: each corpus gets weight proportional to sqrt of its audio
        corpus = np.array([it["_corpus"] for it in tr.items])
        lengths = np.array([len(f) for f in tr.feats], dtype=np.float64)
        w = np.zeros(len(lengths))
        for c in set(corpus):
            m = corpus == c
            w[m] = lengths[m] / lengths[m].sum() * np.sqrt(lengths[m].sum())
        train_ds = SequenceDataset(tr, n_frames=n_win, time_stride=model.time_stride,
                                   n_per_epoch=cfg.batch_size * args.steps, augment=aug,
                                   mix_prob=0.35, seed=args.seed, weights=w)
        valid_ds = SequenceDataset(va, n_frames=n_win, time_stride=model.time_stride,
                                   n_per_epoch=400, mix_prob=0.35, seed=12345)
        valid_ds.set_epoch(0)
        loss_fn = nn.BCEWithLogitsLoss()
        metric = frame_metric
    model.norm.set_stats(mean, std)

    result = train(model, train_ds, valid_ds, loss_fn=loss_fn, config=cfg, out_dir=out,
                   metric_fn=metric)
    # the trainer restores best.pt into the model
    from audiodl.features import PRESETS
    n_real = sum(1 for it in train_items if it["_corpus"] != "synth")
    card = {
        "name": "model", "task": TASK[args.arch], "arch": args.arch, "args": {},
        "kind": model.kind, "frontend": PRESETS[common.FRONTEND].to_dict(),
        "labels": list(common.LABELS),
        "normalization": "per-pixel" if args.arch == "lidy2015" else "per-band",
        "training": {"data": {c: sum(1 for it in train_items if it["_corpus"] == c)
                              for c in sorted({it["_corpus"] for it in train_items})},
                     "n_train_items": len(train_items), "n_real_train_items": n_real,
                     "augmentation": f"{args.variants} random waveform variants per file "
                                     "(EQ, reverb, noise, codec, gain) + SpecAugment "
                                     "(gain, EQ, band shift, noise floor, low-pass)"
                                     + (", power-domain mixing" if model.kind == "frames"
                                        else ""),
                     "command": "python recipes/music_speech/train.py " + " ".join(
                         sys.argv[1:] if argv is None else argv),
                     "seed": args.seed, "seconds": round(time.time() - t0, 1),
                     "best_epoch": result["best_epoch"], "valid": result["best"],
                     "config": {k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr",
                                                           "optimizer", "lr_schedule")}},
        "licence": "CC-BY-SA-3.0 (trained on CC-BY-SA speech and GPL music)",
        "recipe": "recipes/music_speech",
    }
    if args.arch == "lidy2015":
        card["paper"] = "T. Lidy, MIREX 2015 music/speech classification (CNN)"
    save(model, card, directory=out)
    logging.info("done in %.0f s: best epoch %s %s", time.time() - t0, result["best_epoch"],
                 result["best"])


if __name__ == "__main__":
    main()
