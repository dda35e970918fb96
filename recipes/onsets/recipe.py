#!/usr/bin/env python
"""Onset recipe: prepare -> k-fold training -> tune peak picking on validation -> test -> ship.

Stages (each idempotent; outputs under ``--work``)::

    python recipes/onsets/recipe.py prepare  --config recipes/onsets/conf/default.toml
    python recipes/onsets/recipe.py train    --config ... [--fold 0 | --all-folds]
    python recipes/onsets/recipe.py tune     --config ...
    python recipes/onsets/recipe.py evaluate --config ... [--peers]
    python recipes/onsets/recipe.py ship     --config ... [--fold 0]

``--set key=value`` overrides any config key (unknown keys are an error).
Peak-picking parameters are tuned on validation folds only; the test split is
touched by ``evaluate`` alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import onsets_data as D  # noqa: E402

log = logging.getLogger("recipes.onsets")

DEFAULTS = {
    "corpus": "/work/data/onsets/manifest.jsonl",  # shared corpus; generated if absent
    "corpus_fallback": "/work/runs/onsets/corpus",
    "synth_hours": 2.0,
    "synth_seed": 0,
    "eval_corpus": "",
    "extra_corpora": [],  # more manifests pooled with ``corpus`` (ids prefixed x1_, x2_, ...)
    "work": "/work/runs/onsets/work",
    "folds": 8,
    "arch": "onset_cnn_sb2014",
    "arch_args": "{}",
    "epochs": 20,
    "steps_per_epoch": 150,
    "batch_size": 16,
    "excerpt": 128,
    "lr": 0.001,
    "optimizer": "adam",
    "lr_schedule": "cosine",
    "momentum": 0.9,
    "weight_decay": 0.0,
    "patience": 8,
    "seed": 0,
    "threads": 1,
    "fuzzy": 0.25,
    "augment": True,
    "gain_db": 10.0,
    "eq_db": 6.0,
    "shift_bands": 2,
    "tune_window": 0.025,  # CPJKU window: ±50 ms tuning tolerates a systematic 20 ms bias
    "drop_medium_attack": False,
    "ship_name": "onsets_cnn",
    "madmom_python": "/work/venvs/madmom/bin/python",
}


# ------------------------------------------------------------------- config
def load_config(path, overrides):
    cfg = dict(DEFAULTS)
    if path:
        with open(path, "rb") as f:
            user = tomllib.load(f)
        unknown = set(user) - set(DEFAULTS)
        if unknown:
            raise SystemExit(f"{path}: unknown config keys {sorted(unknown)}")
        cfg.update(user)
    for item in overrides or ():
        k, sep, v = item.partition("=")
        if not sep or k not in DEFAULTS:
            raise SystemExit(f"bad override {item!r}; keys: {sorted(DEFAULTS)}")
        cur = DEFAULTS[k]
        if isinstance(cur, list):
            cfg[k] = [x for x in v.split(",") if x]
        elif isinstance(cur, bool):
            cfg[k] = v.lower() in ("1", "true", "yes")
        elif isinstance(cur, int):
            cfg[k] = int(v)
        elif isinstance(cur, float):
            cfg[k] = float(v)
        else:
            cfg[k] = v
    cfg["work"] = os.path.abspath(cfg["work"])
    return cfg


def frontend():
    from audiodl.features import PRESETS
    return PRESETS["onset_cnn"]


def corpus_manifest(cfg):
    if os.path.exists(cfg["corpus"]):
        return cfg["corpus"]
    return os.path.join(cfg["corpus_fallback"], "manifest.jsonl")


def versions():
    import platform

    import audiodl
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__,
            "audiodl": audiodl.__version__, "numpy": np.__version__}


def _items(cfg):
    items = D.read_items(corpus_manifest(cfg))
    for k, m in enumerate(cfg["extra_corpora"], start=1):
        items += [dict(it, id=f"x{k}_{it['id']}") for it in D.read_items(m)]
    if cfg["drop_medium_attack"]:
        items = [it for it in items
                 if "medium" not in it.get("meta", {}).get("attack_classes", [])]
    return items


# ------------------------------------------------------------------ prepare
def stage_prepare(cfg):
    t0 = time.time()
    manifest = corpus_manifest(cfg)
    if not os.path.exists(manifest):
        print(f"[prepare] {cfg['corpus']} absent: rendering {cfg['synth_hours']} h with the "
              f"shared generator into {cfg['corpus_fallback']}", flush=True)
        subprocess.run([sys.executable, "-m", "audiodl.cli.main", "synth", "onsets", "-o",
                        cfg["corpus_fallback"], "--hours", str(cfg["synth_hours"]),
                        "--seed", str(cfg["synth_seed"]), "-j", "1"], check=True)
    items = _items(cfg)
    folds = D.make_folds(items, cfg["folds"])
    work = Path(cfg["work"])
    work.mkdir(parents=True, exist_ok=True)
    n_new = D.cache_features(items, work, config=frontend())
    (work / "folds.json").write_text(json.dumps({**folds, "manifest": manifest}, indent=1))
    dur = {s: sum(it["duration"] for it in items if it["split"] == s) / 60
           for s in sorted({it["split"] for it in items})}
    print(f"[prepare] {len(items)} items ({', '.join(f'{k} {v:.1f} min' for k, v in dur.items())}),"
          f" mode {folds['mode']}, {cfg['folds']} folds, {n_new} feature files computed in "
          f"{time.time() - t0:.0f} s", flush=True)


# -------------------------------------------------------------------- train
def _fold_dir(cfg, fold):
    return Path(cfg["work"]) / "models" / cfg["arch"] / f"fold{fold}"


def _build_model(cfg):
    from audiodl.models.registry import build
    return build(cfg["arch"], json.loads(cfg["arch_args"]))


def stage_train(cfg, fold):
    import torch

    from audiodl.decoders.peaks import CNN_DEFAULTS, pick_onsets
    from audiodl.evaluation.onsets import evaluate
    from audiodl.training import TrainConfig, seed_everything, train

    torch.set_num_threads(cfg["threads"])
    work = Path(cfg["work"])
    folds = json.loads((work / "folds.json").read_text())
    by_id = {it["id"]: it for it in _items(cfg)}
    train_ids, valid_ids, _ = D.fold_roles(folds, fold)
    train_ids = [i for i in train_ids if i in by_id]
    valid_ids = [i for i in valid_ids if i in by_id]
    fps = frontend().fps
    out = _fold_dir(cfg, fold)
    if (out / "done.json").exists():
        print(f"[train] fold {fold}: done already ({out})")
        return
    t0 = time.time()
    seed_everything(cfg["seed"] + fold)
    tr_feats = [D.load_features(work, i) for i in train_ids]
    tr_targets = [D.targets_for(by_id[i]["onsets"], f.shape[1], fps, fuzzy=cfg["fuzzy"])
                  for i, f in zip(train_ids, tr_feats)]
    va_feats = [D.load_features(work, i) for i in valid_ids]
    model = _build_model(cfg)
    mean, std = D.norm_stats(tr_feats)
    model.set_normalization(mean, std)
    ctx = model.context
    train_ds = D.ExcerptDataset(tr_feats, tr_targets, excerpt=cfg["excerpt"], context=ctx,
                                seed=cfg["seed"] * 1000 + fold, augment=cfg["augment"],
                                gain_db=cfg["gain_db"], eq_db=cfg["eq_db"],
                                shift_bands=cfg["shift_bands"])
    valid_ds = D.StreamDataset(va_feats, [by_id[i]["onsets"] for i in valid_ids], chunk=1000,
                               context=ctx, fps=fps)

    def loss_fn(out, y, w):
        bce = torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none")
        return (bce * w).sum() / w.sum().clamp(min=1.0)

    def forward_fn(net, batch, loss):
        x, y, w = batch
        o = net(x, pad=False)
        return loss(o, y, w), o

    thresholds = np.round(np.arange(0.2, 0.95, 0.05), 2)

    def metric_fn(outs, _targets):
        act = torch.sigmoid(torch.cat([o.reshape(-1) for o in outs])).numpy()
        best = (0.0, None)
        for thr in thresholds:
            est = pick_onsets(act, fps, params=CNN_DEFAULTS, threshold=float(thr))
            f = evaluate(valid_ds.stream_onsets, est, window=cfg["tune_window"])["f_measure"]
            best = max(best, (f, float(thr)), key=lambda z: z[0])
        return {"f_measure": best[0], "threshold": best[1]}

    tc = TrainConfig(epochs=cfg["epochs"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                     optimizer=cfg["optimizer"], momentum=cfg["momentum"],
                     weight_decay=cfg["weight_decay"], lr_schedule=cfg["lr_schedule"],
                     patience=cfg["patience"], seed=cfg["seed"] + fold, device="cpu",
                     max_steps_per_epoch=cfg["steps_per_epoch"], monitor="f_measure")
    res = train(model, train_ds, valid_ds, loss_fn=loss_fn, config=tc, out_dir=out,
                metric_fn=metric_fn, forward_fn=forward_fn)
    summary = {"fold": fold, "best_epoch": res["best_epoch"], "best": res["best"],
               "seconds": time.time() - t0, "train_items": len(train_ids),
               "valid_items": len(valid_ids), "arch": cfg["arch"],
               "arch_args": json.loads(cfg["arch_args"]), "config": cfg, "versions": versions()}
    (out / "done.json").write_text(json.dumps(summary, indent=1))
    print(f"[train] fold {fold}: best epoch {res['best_epoch']} valid F "
          f"{res['best']['f_measure']:.4f} (thr {res['best']['threshold']}) in "
          f"{summary['seconds']:.0f} s", flush=True)


# ------------------------------------------------------------- predictions
def _pipeline(cfg, fold):
    import torch

    from audiodl.tasks.onsets import OnsetPipeline
    model = _build_model(cfg)
    state = torch.load(_fold_dir(cfg, fold) / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    card = {"name": f"{cfg['arch']}_fold{fold}", "task": "onsets", "arch": cfg["arch"],
            "args": json.loads(cfg["arch_args"]), "frontend": frontend().to_dict(),
            "labels": ["onset"]}
    return OnsetPipeline(model, card)


def predict(cfg, fold, ids):
    """Activations of ``ids`` by the model of ``fold`` (cached as .npy)."""
    work = Path(cfg["work"])
    d = work / "activations" / cfg["arch"] / f"fold{fold}"
    d.mkdir(parents=True, exist_ok=True)
    pipe = None
    out = {}
    for i in ids:
        p = d / f"{i}.npy"
        if not p.exists():
            if pipe is None:
                pipe = _pipeline(cfg, fold)
            np.save(p, pipe.network(D.load_features(work, i)))
        out[i] = np.load(p)
    return out


def _trained_folds(cfg):
    return [f for f in range(cfg["folds"]) if (_fold_dir(cfg, f) / "done.json").exists()]


# --------------------------------------------------------------------- tune
GRID = {
    "threshold": [round(x, 2) for x in np.arange(0.15, 0.96, 0.03)],
    "smooth": [0.0, 0.03, 0.05, 0.07],
    "pre_max": [0.01, 0.02],
    "post_max": [0.01, 0.02],  # offline: a symmetric local maximum (0 = online's rising edge)
    "combine": [0.03],
}


def tune_peaks(acts_refs, fps, *, window, online=False, base=None, grid=None):
    """Grid search of peak-picking parameters maximising pooled F (sum over files)."""
    import itertools

    from audiodl.decoders.peaks import CNN_DEFAULTS, pick_onsets
    from audiodl.evaluation.onsets import evaluate, summarize
    grid = dict(grid or GRID)
    base = base or CNN_DEFAULTS
    if online:
        grid.update(smooth=[0.0], post_max=[0.0])
    keys = list(grid)
    best = (-1.0, None)
    for values in itertools.product(*(grid[k] for k in keys)):
        p = base.replace(**dict(zip(keys, values)))
        scores = [evaluate(ref, pick_onsets(a, fps, params=p), window=window)
                  for a, ref in acts_refs]
        f = summarize(scores)["sum"]["f_measure"]
        if f > best[0]:
            best = (f, p)
    return best


def stage_tune(cfg):
    work = Path(cfg["work"])
    folds = json.loads((work / "folds.json").read_text())
    by_id = {it["id"]: it for it in _items(cfg)}
    fps = frontend().fps
    trained = _trained_folds(cfg)
    if not trained:
        raise SystemExit("[tune] no trained folds")
    t0 = time.time()
    per_fold, pooled = {}, []
    for f in trained:
        _, valid_ids, _ = D.fold_roles(folds, f)
        acts = predict(cfg, f, valid_ids)
        pairs = [(acts[i], by_id[i]["onsets"]) for i in valid_ids]
        pooled += pairs
        fo, po = tune_peaks(pairs, fps, window=cfg["tune_window"])
        fn, pn = tune_peaks(pairs, fps, window=cfg["tune_window"], online=True)
        per_fold[f] = {"offline": po.to_dict(), "f_offline": fo, "online": pn.to_dict(),
                       "f_online": fn}
        print(f"[tune] fold {f}: valid F offline {fo:.4f} {po}; online {fn:.4f}", flush=True)
    fo, po = tune_peaks(pooled, fps, window=cfg["tune_window"])
    fn, pn = tune_peaks(pooled, fps, window=cfg["tune_window"], online=True)
    res = {"per_fold": per_fold, "pooled": {"offline": po.to_dict(), "f_offline": fo,
                                            "online": pn.to_dict(), "f_online": fn},
           "window": cfg["tune_window"], "seconds": time.time() - t0}
    res["peers"] = tune_peers(cfg, folds, by_id)
    out = work / f"tuned_{cfg['arch']}.json"
    out.write_text(json.dumps(res, indent=1))
    print(f"[tune] pooled valid F offline {fo:.4f}, online {fn:.4f}; {out} "
          f"({time.time() - t0:.0f} s)", flush=True)


def tune_peers(cfg, folds, by_id):
    """Tune the peers' thresholds on (a subset of) validation files, as ours."""
    from audiodl.decoders.peaks import SUPERFLUX_DEFAULTS
    from audiodl.tasks.onsets import SuperFlux
    work = Path(cfg["work"])
    _, valid_ids, _ = D.fold_roles(folds, _trained_folds(cfg)[0])
    out = {}
    sf = SuperFlux()
    d = work / "activations" / "superflux"
    d.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in valid_ids:
        p = d / f"{i}.npy"
        if not p.exists():
            np.save(p, sf.activations(by_id[i]["audio"]).values)
        pairs.append((np.load(p), by_id[i]["onsets"]))
    grid = {"threshold": [round(x, 2) for x in np.geomspace(0.1, 40, 50)], "smooth": [0.0],
            "pre_max": [0.01], "post_max": [0.05], "combine": [0.03]}
    f, p = tune_peaks(pairs, frontend().fps, window=cfg["tune_window"],
                      base=SUPERFLUX_DEFAULTS, grid=grid)
    out["superflux"] = {"params": p.to_dict(), "f_valid": f}
    # librosa: tune delta of its peak picker on the same files
    best = (-1, None)
    for delta in [0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4]:
        from audiodl.evaluation.onsets import evaluate, summarize
        sc = [evaluate(by_id[i]["onsets"], librosa_onsets(by_id[i]["audio"], delta=delta, work=work,
                                                          item_id=i), window=cfg["tune_window"])
              for i in valid_ids]
        fv = summarize(sc)["sum"]["f_measure"]
        best = max(best, (fv, delta), key=lambda z: z[0])
    out["librosa"] = {"delta": best[1], "f_valid": best[0]}
    print(f"[tune] peers on {len(valid_ids)} valid files: superflux F {f:.4f} thr "
          f"{p.threshold}; librosa F {best[0]:.4f} delta {best[1]}", flush=True)
    return out


def librosa_onsets(path, *, delta=0.07, work=None, item_id=None):
    """librosa.onset.onset_detect at its defaults (22.05 kHz, hop 512) except ``delta``."""
    import librosa
    env = None
    if work is not None:
        p = Path(work) / "activations" / "librosa" / f"{item_id}.npy"
        if p.exists():
            env = np.load(p)
    if env is None:
        y, sr = librosa.load(path, sr=22050)
        env = librosa.onset.onset_strength(y=y, sr=sr)
        if work is not None:
            p.parent.mkdir(parents=True, exist_ok=True)
            np.save(p, env)
    return librosa.onset.onset_detect(onset_envelope=env, sr=22050, units="time", delta=delta)


# ----------------------------------------------------------------- evaluate
def stage_evaluate(cfg, *, peers: bool):
    work = Path(cfg["work"])
    folds = json.loads((work / "folds.json").read_text())
    by_id = {it["id"]: it for it in _items(cfg)}
    tuned = json.loads((work / f"tuned_{cfg['arch']}.json").read_text())
    trained = _trained_folds(cfg)
    _, valid_ids, _ = D.fold_roles(folds, trained[0])
    tables, results = [], {}
    if folds["mode"] == "holdout":
        manifests = [folds["manifest"]] + list(cfg["extra_corpora"])
        for k, m in enumerate(manifests):
            pre = f"x{k}_"
            test_ids = [i for i in folds["test"] if i in by_id
                        and (i.startswith(pre) if k else not re.match(r"x\d+_", i))]
            if not test_ids:
                continue
            res = _evaluate_set(cfg, by_id, test_ids, valid_ids, tuned, peers=peers)
            res["manifest"] = m
            results["test" if k == 0 else f"test_{Path(m).parent.name}"] = res
            tables.append(f"### Test split of {m}\n\n" + res["table"])
    else:
        res = _evaluate_crossval(cfg, by_id, folds, tuned, trained)
        results["crossval"] = res
        tables.append(f"### {len(trained)}-fold cross-validation ({folds['manifest']})\n\n"
                      + res["table"])
    if cfg["eval_corpus"] and os.path.exists(cfg["eval_corpus"]) \
            and cfg["eval_corpus"] not in cfg["extra_corpora"]:
        extra = [dict(it, id="eval_" + it["id"]) for it in D.read_items(cfg["eval_corpus"])
                 if it["split"] == "test"]
        D.cache_features(extra, work, config=frontend())
        ex_by = {it["id"]: it for it in extra}
        by_all = dict(by_id, **ex_by)
        res = _evaluate_set(cfg, by_all, sorted(ex_by), valid_ids, tuned, peers=peers)
        results["eval_corpus"] = res
        tables.append(f"### Test split of the project corpus ({cfg['eval_corpus']}; other seed, "
                      "never seen in training or tuning)\n\n" + res["table"])
    text = "\n".join(tables)
    (work / f"results_{cfg['arch']}.json").write_text(json.dumps(results, indent=1))
    (work / f"results_{cfg['arch']}.md").write_text(text)
    print(text)


def _evaluate_set(cfg, by_id, test_ids, valid_ids, tuned, *, peers):
    from audiodl.decoders.peaks import PeakPickingParams as PP
    from audiodl.decoders.peaks import pick_onsets
    from audiodl.evaluation.onsets import evaluate_many, format_table
    from audiodl.tasks.onsets import SuperFlux
    work = Path(cfg["work"])
    fps = frontend().fps
    trained = _trained_folds(cfg)
    refs = {i: by_id[i]["onsets"] for i in test_ids}
    rows = {}
    ship_fold = trained[0]
    acts = predict(cfg, ship_fold, test_ids)
    p = PP.from_dict(tuned["per_fold"][str(ship_fold)]["offline"])
    rows[f"audiodl CNN ({cfg['arch']}, fold {ship_fold} model)"] = evaluate_many(
        {i: (refs[i], pick_onsets(acts[i], fps, params=p)) for i in test_ids})
    pn = PP.from_dict(tuned["per_fold"][str(ship_fold)]["online"])
    rows["audiodl CNN, causal peak picking (online)"] = evaluate_many(
        {i: (refs[i], pick_onsets(acts[i], fps, params=pn)) for i in test_ids})
    if len(trained) > 1:
        all_acts = [predict(cfg, f, test_ids) for f in trained]
        pp = PP.from_dict(tuned["pooled"]["offline"])
        rows[f"audiodl CNN, {len(trained)}-fold ensemble (mean)"] = evaluate_many(
            {i: (refs[i], pick_onsets(np.mean([a[i] for a in all_acts], axis=0), fps,
                                      params=pp)) for i in test_ids})
    sf, sfp = SuperFlux(), PP.from_dict(tuned["peers"]["superflux"]["params"])
    d = work / "activations" / "superflux"
    est = {}
    for i in test_ids:
        q = d / f"{i}.npy"
        if not q.exists():
            np.save(q, sf.activations(by_id[i]["audio"]).values)
        est[i] = pick_onsets(np.load(q), fps, params=sfp)
    rows["SuperFlux (audiodl, threshold tuned on valid)"] = evaluate_many(
        {i: (refs[i], est[i]) for i in test_ids})
    rows["librosa.onset.onset_detect (defaults)"] = evaluate_many(
        {i: (refs[i], librosa_onsets(by_id[i]["audio"], work=work, item_id=i))
         for i in test_ids})
    delta = tuned["peers"]["librosa"]["delta"]
    rows[f"librosa.onset.onset_detect (delta={delta}, tuned on valid)"] = evaluate_many(
        {i: (refs[i], librosa_onsets(by_id[i]["audio"], delta=delta, work=work, item_id=i))
         for i in test_ids})
    if peers:
        rows.update(madmom_rows(cfg, by_id, test_ids, valid_ids))
    n_on = sum(len(v) for v in refs.values())
    dur = sum(by_id[i]["duration"] for i in test_ids)
    table = (f"{len(test_ids)} files, {dur / 60:.1f} min, {n_on} onsets.\n\n"
             + format_table(rows))
    return {"rows": {k: {q: v[q] for q in ("cpjku", "mirex")} for k, v in rows.items()},
            "test_ids": test_ids, "table": table}


def _evaluate_crossval(cfg, by_id, folds, tuned, trained):
    from audiodl.decoders.peaks import PeakPickingParams as PP
    from audiodl.decoders.peaks import pick_onsets
    from audiodl.evaluation.onsets import evaluate_many, format_table
    fps = frontend().fps
    test_ids, est = [], {}
    for f in trained:
        _, _, t_ids = D.fold_roles(folds, f)
        acts = predict(cfg, f, t_ids)
        p = PP.from_dict(tuned["per_fold"][str(f)]["offline"])
        for i in t_ids:
            est[i] = pick_onsets(acts[i], fps, params=p)
        test_ids += t_ids
    rows = {f"audiodl CNN ({cfg['arch']}, {len(trained)}-fold CV)": evaluate_many(
        {i: (by_id[i]["onsets"], est[i]) for i in test_ids})}
    table = f"{len(test_ids)} files.\n\n" + format_table(rows)
    return {"rows": {k: {q: v[q] for q in ("cpjku", "mirex")} for k, v in rows.items()},
            "test_ids": test_ids, "table": table}


def madmom_rows(cfg, by_id, test_ids, valid_ids):
    """Run madmom's CNNOnsetProcessor in its own venv (via bench/onsets.py) and score it."""
    from audiodl.decoders.peaks import CNN_DEFAULTS
    from audiodl.evaluation.onsets import evaluate_many
    work = Path(cfg["work"])
    py = cfg["madmom_python"]
    if not os.path.exists(py):
        print(f"[evaluate] madmom venv {py} missing: skipping madmom", flush=True)
        return {}
    ids = list(test_ids) + list(valid_ids)
    d = work / "activations" / "madmom"
    todo = [i for i in ids if not (d / f"{i}.npy").exists()]
    if todo:
        import soundfile as sf
        wav = work / "wav"  # madmom reads WAV natively (other formats need ffmpeg)
        wav.mkdir(exist_ok=True)
        for i in todo:
            if not (wav / f"{i}.wav").exists():
                y, sr = sf.read(by_id[i]["audio"], dtype="int16")
                sf.write(wav / f"{i}.wav", y, sr, subtype="PCM_16")
        lst = work / "madmom_files.txt"
        lst.write_text("\n".join(f"{i}\t{wav / (i + '.wav')}" for i in todo) + "\n")
        subprocess.run([py, str(HERE.parent.parent / "bench" / "onsets.py"), "madmom-activations",
                        "--list", str(lst), "--out", str(d)], check=True)
    acts = {i: np.load(d / f"{i}.npy") for i in ids}
    from audiodl.decoders.peaks import pick_onsets
    refs = {i: by_id[i]["onsets"] for i in ids}
    rows = {"madmom 0.16.1 CNNOnsetProcessor + OnsetPeakPickingProcessor (defaults)":
            evaluate_many({i: (refs[i], pick_onsets(acts[i], 100, params=CNN_DEFAULTS))
                           for i in test_ids})}
    grid = {"threshold": [round(x, 2) for x in np.arange(0.15, 0.96, 0.03)],
            "smooth": [0.05], "pre_max": [0.01], "post_max": [0.01], "combine": [0.03]}
    f, p = tune_peaks([(acts[i], refs[i]) for i in valid_ids], 100, window=cfg["tune_window"],
                      grid=grid)
    rows[f"madmom CNN, threshold {p.threshold} tuned on valid"] = evaluate_many(
        {i: (refs[i], pick_onsets(acts[i], 100, params=p)) for i in test_ids})
    return rows


# --------------------------------------------------------------------- ship
def stage_ship(cfg, fold, *, directory=None, default=True):
    import torch

    from audiodl import pretrained
    work = Path(cfg["work"])
    tuned = json.loads((work / f"tuned_{cfg['arch']}.json").read_text())
    done = json.loads((_fold_dir(cfg, fold) / "done.json").read_text())
    res_path = work / f"results_{cfg['arch']}.json"
    metrics = {}
    if res_path.exists():
        for part, res in json.loads(res_path.read_text()).items():
            for name, r in res["rows"].items():
                if name.startswith("audiodl CNN (") and name.endswith(" model)"):
                    metrics[part] = {p: {"f_sum": round(r[p]["sum"]["f_measure"], 4),
                                         "f_mean": round(r[p]["mean"]["f_measure"], 4),
                                         "precision_sum": round(r[p]["sum"]["precision"], 4),
                                         "recall_sum": round(r[p]["sum"]["recall"], 4)}
                                     for p in ("cpjku", "mirex")}
                    metrics[part]["files"] = len(res["test_ids"])
                    metrics[part]["manifest"] = res.get("manifest", cfg["eval_corpus"])
    model = _build_model(cfg)
    model.load_state_dict(torch.load(_fold_dir(cfg, fold) / "best.pt", map_location="cpu",
                                     weights_only=True))
    pf = tuned["per_fold"][str(fold)]
    folds = json.loads((work / "folds.json").read_text())
    card = {
        "name": cfg["ship_name"], "task": "onsets", "arch": cfg["arch"],
        "args": json.loads(cfg["arch_args"]), "frontend": frontend().to_dict(),
        "labels": ["onset"], "default": default,
        "decoder": {"offline": pf["offline"], "online": pf["online"],
                    "tuned_on": f"validation fold {fold} (F ±{cfg['tune_window'] * 1000:g} ms "
                                f"{pf['f_offline']:.4f} offline, {pf['f_online']:.4f} online)"},
        "licence": "MIT (weights trained by audiodl on synthetic renders)",
        "paper": "J. Schlüter and S. Böck, Improved musical onset detection with "
                 "convolutional neural networks, ICASSP 2014",
        "recipe": "recipes/onsets",
        "training": {"data": f"{' + '.join([folds['manifest'], *cfg['extra_corpora']])} "
                             "(audiodl synth onsets: FluidSynth GM renders, fast/medium "
                             "attack programs, reverb/EQ/noise/codec; test splits held out); "
                             f"{done['train_items']} train / {done['valid_items']} valid items",
                     "command": "; ".join(
                         f"python recipes/onsets/recipe.py {st} --config "
                         f"{cfg.get('_config_path', '')}" for st in
                         ("prepare", f"train --fold {fold}", "tune", "evaluate --peers",
                          f"ship --fold {fold}")),
                     "seed": cfg["seed"] + fold, "fold": fold,
                     "seconds": round(done["seconds"], 1), "best_epoch": done["best_epoch"],
                     "threads": cfg["threads"]},
        "metrics": metrics,
    }
    path = pretrained.save(model, card, directory=directory)
    print(f"[ship] {path}")


# --------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["prepare", "train", "tune", "evaluate", "ship", "all"])
    ap.add_argument("--config", default=str(HERE / "conf" / "default.toml"))
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE")
    ap.add_argument("--fold", type=int, default=None,
                    help="Train only this fold (default: all folds).")
    ap.add_argument("--peers", action="store_true", help="Also run madmom (evaluate).")
    ap.add_argument("--ship-dir", default=None, help="Write the shipped model here instead.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    cfg = load_config(args.config, args.overrides)
    cfg["_config_path"] = os.path.relpath(args.config, HERE.parent.parent) \
        if args.config else ""
    stages = ["prepare", "train", "tune", "evaluate", "ship"] if args.stage == "all" \
        else [args.stage]
    for st in stages:
        t = time.time()
        if st == "prepare":
            stage_prepare(cfg)
        elif st == "train":
            for f in ([args.fold] if args.fold is not None else range(cfg["folds"])):
                stage_train(cfg, f)
        elif st == "tune":
            stage_tune(cfg)
        elif st == "evaluate":
            stage_evaluate(cfg, peers=args.peers)
        elif st == "ship":
            stage_ship(cfg, args.fold if args.fold is not None else _trained_folds(cfg)[0],
                       directory=args.ship_dir)
        print(f"[{st}] {time.time() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
