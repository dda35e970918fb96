"""Singing recipe, round 21: train a long-context head over a frozen singing CNN.

    python recipes/singing/context_head.py --config recipes/singing/head/round21.toml \\
        -o "$AUDIODL_DATA/runs/singing/singing_cnn_round21-seed210" --seed 210
    python recipes/singing/retune.py --model RUN/singing_cnn_round21.json \\
        --methods threshold,hysteresis ...                 # the decoder, on validation

The CNN (``base`` in the config: a shipped name or a card, by default the shipped
``singing_cnn``) stays as it is; :class:`audiodl.models.singing.SchlueterSVDContext` puts a
stack of dilated 1-D convolutions over its logit and last hidden units. Because the CNN is
frozen, its columns (:meth:`SchlueterSVD.columns`) are computed once per training file, with
the full model's edge padding, and cached under ``OUT/columns/`` (a re-run reuses them), so
the head trains on them alone: about 0.2 s a step on one core. The head should learn from
the CNN's answers on songs it never heard (as at test time), so the config's manifests are
corpora the CNN was not trained on; the held-out voices of the CNN's card stay out.

Writes ``OUT/NAME.json`` + weights (architecture ``svd_schlueter_ctx``; the CNN's input
statistics and front end, no decoder change until ``retune.py``) and ``OUT/run.json``.
Config keys (TOML; ``--seed``, ``--levels``, ``--channels``, ``--steps`` override): ``name``,
``base``, ``manifests`` (relative to ``$AUDIODL_DATA``), ``channels``, ``levels``,
``dropout``, ``steps``, ``crop`` (output frames per excerpt), ``batch_size``, ``lr``
(one-cycle peak), ``seed``, ``kind_weights`` (JSON: sampling weight of a file by its
``meta.kind``, default 1), ``join_gap`` (label convention [s]; default the base card's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib

DEFAULTS = {"name": "singing_cnn_ctx", "base": "singing_cnn", "manifests": [], "channels": 32,
            "levels": 8, "dropout": 0.2, "steps": 2000, "crop": 1500, "batch_size": 16,
            "lr": 1e-3, "seed": 0, "kind_weights": "{}", "join_gap": None}


def read_config(path, overrides) -> dict:
    cfg = dict(DEFAULTS)
    if path:
        with open(path, "rb") as f:
            cfg.update(tomllib.load(f))
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise SystemExit(f"context_head.py: unknown config keys {sorted(unknown)}")
    return cfg


def columns_of(model, pipe, items, cache_dir, join_gap, show_progress=True):
    """(columns (channels, n + 2 reach), labels (n,), kind) per item; cached as npz."""
    import numpy as np
    import torch

    from audiodl.data.manifest import read_segments
    from audiodl.evaluation.singing import join_gaps
    from audiodl.cli.common import progress

    os.makedirs(cache_dir, exist_ok=True)
    out = []
    h = model.receptive_field // 2
    for it in progress(items, desc="CNN columns", disable=not show_progress):
        corpus = os.path.basename(os.path.dirname(os.path.dirname(it["audio"])))
        path = os.path.join(cache_dir, f"{corpus}_{it['id']}.npz")
        if os.path.exists(path):
            z = np.load(path)
            out.append((z["cols"], z["y"], str(z["kind"])))
            continue
        feats = pipe.features(pipe.load(it["audio"]))
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))[None, None]
            x = torch.nn.functional.pad(x, (0, 0, h, h), mode="replicate")[:, 0]
            cols = model.base.columns(x)[0].numpy()
        n = len(feats)
        ref = join_gaps(read_segments(it["annotations"]["vocals"]), join_gap)  # `sing` rows
        t = np.arange(n) / pipe.fps
        y = np.zeros(n, np.float32)
        for s, e in ref.intervals:
            y[(t >= s) & (t < e)] = 1.0
        kind = str((it.get("meta") or {}).get("kind"))
        tmp = path + ".tmp.npz"
        np.savez(tmp, cols=cols.astype(np.float32), y=y, kind=kind)
        os.replace(tmp, path)
        out.append((cols, y, kind))
    return out


def train_head(model, data, cfg, log=print) -> float:
    """Train ``model``'s head on cached columns; returns the seconds taken."""
    import numpy as np
    import torch

    rng = np.random.default_rng(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    kw = json.loads(cfg["kind_weights"]) if isinstance(cfg["kind_weights"], str) \
        else dict(cfg["kind_weights"])
    w = np.array([float(kw.get(k, 1.0)) for _, _, k in data])
    w /= w.sum()
    params = [p for n, p in model.named_parameters() if not n.startswith("base.")]
    for p in model.base.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(params, lr=cfg["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["steps"])
    r, crop = model.reach, int(cfg["crop"])
    model.train()
    t0 = time.time()
    for step in range(int(cfg["steps"])):
        xb, yb = [], []
        for i in rng.choice(len(data), int(cfg["batch_size"]), p=w):
            cols, y, _ = data[i]
            n = min(crop, len(y))
            s = int(rng.integers(0, len(y) - n + 1))
            seg, ys = cols[:, s:s + n + 2 * r], y[s:s + n]
            if n < crop:  # a short file: padded, the padding not scored
                seg = np.pad(seg, ((0, 0), (0, crop - n)), mode="edge")
                ys = np.pad(ys, (0, crop - n), constant_values=-1.0)
            xb.append(seg)
            yb.append(ys)
        x = torch.from_numpy(np.stack(xb))
        yt = torch.from_numpy(np.stack(yb))
        logit = model.head(x)[:, :, 0]
        keep = yt >= 0
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit[keep], yt[keep])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == int(cfg["steps"]) - 1:
            log(f"step {step}: loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
    model.eval()
    return time.time() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="TOML config (recipes/singing/head/round21.toml)")
    ap.add_argument("-o", "--output", required=True, help="run folder")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--levels", type=int)
    ap.add_argument("--channels", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    cfg = read_config(a.config, {"seed": a.seed, "levels": a.levels, "channels": a.channels,
                                 "steps": a.steps})
    if not cfg["manifests"]:
        raise SystemExit("context_head.py: the config names no manifests")

    import torch

    from audiodl import pretrained
    from audiodl.data.paths import data_root
    from audiodl.models.singing import SchlueterSVDContext
    from audiodl.pretrained.card import TrainingInfo
    from audiodl.tasks.singing import SingingDetector
    from audiodl.training.specs.singing import read_items

    torch.set_num_threads(1)
    base_model, base = pretrained.load(cfg["base"])
    if base.arch != "svd_schlueter":
        raise SystemExit(f"context_head.py: base {cfg['base']} is {base.arch}, not svd_schlueter")
    data_cfg = base.training.data if isinstance(base.training.data, dict) else {}
    held_out = data_cfg.get("held_out_voices", [])
    join_gap = cfg["join_gap"] if cfg["join_gap"] is not None \
        else float(data_cfg.get("label_join_gap") or 0.0)
    manifests = [m if os.path.isabs(m) else os.path.join(data_root(), m) for m in cfg["manifests"]]
    items = read_items(manifests, data_root=None, exclude_voices=held_out)
    model = SchlueterSVDContext(base_args=base.args, channels=cfg["channels"],
                                levels=cfg["levels"], dropout=cfg["dropout"])
    model.init_target("svd_schlueter").load_state_dict(base_model.state_dict())
    model.eval()
    pipe = SingingDetector.from_pretrained(cfg["base"], backend="torch")
    data = columns_of(model, pipe, items, os.path.join(a.output, "columns"), join_gap,
                      show_progress=sys.stderr.isatty())
    hours = sum(len(y) for _, y, _ in data) / pipe.fps / 3600
    print(f"{len(data)} files, {hours:.2f} h (held out: {held_out or 'none'})", flush=True)
    seconds = train_head(model, data, cfg, log=lambda m: print(m, flush=True))
    names = [os.path.relpath(m, data_root()) for m in manifests]
    command = "python " + " ".join(["recipes/singing/context_head.py", *sys.argv[1:]]) \
        if argv is None else "context_head.py " + " ".join(argv)
    training = TrainingInfo.from_dict(dict(
        data={"manifests": names, "files": len(data), "hours": round(hours, 3),
              "held_out_voices": held_out, "label_join_gap": join_gap,
              "base_data": base.training.data},
        command=command, seed=int(cfg["seed"]), seconds=round(seconds, 1),
        base={"name": base.name, "sha256": base.sha256, "command": base.training.command,
              "seed": base.training.seed, "seconds": base.training.seconds},
        config={k: v for k, v in cfg.items() if k != "manifests"}))
    card = base.replace(
        name=cfg["name"], arch="svd_schlueter_ctx",
        args={"base_args": dict(base.args), "channels": int(cfg["channels"]),
              "levels": int(cfg["levels"]), "dropout": float(cfg["dropout"])},
        training=training, metrics={}, default=False,
        description=(f"{base.description}; " if base.description else "")
        + f"with a {cfg['levels']}-level dilated context head "
          f"({model.receptive_field / pipe.fps:.1f} s receptive field) trained over the "
          f"frozen CNN (recipes/singing/context_head.py)")
    written = pretrained.save(model, card, a.output, overwrite=a.overwrite)
    with open(os.path.join(a.output, "run.json"), "w") as f:
        json.dump({"card": str(written), "config": cfg, "seconds": round(seconds, 1)}, f,
                  indent=1)
    print(json.dumps({"card": str(written), "seconds": round(seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
