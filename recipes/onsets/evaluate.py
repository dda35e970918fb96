#!/usr/bin/env python
"""Onset recipe, stage 3: score trained folds on the TEST split(s), with peers.

    python recipes/onsets/evaluate.py --config recipes/onsets/conf/shipped.toml [--peers]

Reads the runs of ``audiodl train onsets --config CONF --set fold=K`` (run
folders ``DATA_ROOT/runs/onsets/<name>-fold<K>-seed<S>``, or ``--runs DIR``
holding them), the same items and folds as training (the spec's
``read_items``/``make_folds``), and reports mir_eval F at ±25 ms (CPJKU) and
±50 ms (MIREX) on the test split of every corpus (holdout mode) or pooled over
the trained folds' test folds (cross-validation mode). Peak picking comes
from each model's card (tuned on validation by ``audiodl train``); the
peers' thresholds (SuperFlux, librosa's ``delta``, madmom's with
``MADMOM_PYTHON`` set to a Python that has madmom 0.16.1) are tuned on the
validation files of the first trained fold; basic-pitch 0.4.0 (with ``BASICPITCH_PYTHON`` set
to the Python of its own venv) is scored on the soft-attack subset only, pitched material, with
its onset threshold tuned on the validation files with soft attacks. Nothing here trains or
tunes on test.
The config's ``test_corpora`` (e.g. the real-drum split of ``audiodl synth
onsets_realdrums``) are scored as test sets of their own. Items whose manifest
names subsets (``meta.subsets``, ``meta.kind``, soft/medium attack programs)
get one table per subset (e.g. sparse hits, reverb, soft attack).

Writes ``<work>/results_<name>.json`` and ``.md`` (``--work``, default
``DATA_ROOT/runs/onsets/eval-<name>``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _items(cfg, root):
    from audiodl.data.paths import resolve_data_path
    from audiodl.training.specs.onsets import read_items
    items = []
    for k, m in enumerate([cfg.corpus, *cfg.extra_corpora]):
        items += read_items(resolve_data_path(m, root), prefix=f"x{k}_" if k else "")
    return items


class Models:
    """Activations of the trained fold models (cached per item in ``work/activations``)."""

    def __init__(self, cfg, root, runs, work):
        from audiodl.data.dataset import FeatureCache
        from audiodl.features.config import preset
        from audiodl.training.specs.onsets import OnsetsSpec
        self.cfg, self.work, self.spec = cfg, Path(work), OnsetsSpec()
        self.cache = FeatureCache(preset("onset_cnn"), root=cfg.feature_cache or None)
        self.runs = Path(runs) if runs else Path(root) / "runs" / "onsets"
        self.folds = [f for f in range(max(cfg.folds, 1)) if self.card_path(f).exists()]
        if not self.folds:
            raise SystemExit(f"no trained fold of {self.spec.model_name(cfg)} under {self.runs}")
        self._models = {}

    def card_path(self, fold):
        import dataclasses
        c = dataclasses.replace(self.cfg, fold=fold)
        return self.runs / self.spec.run_name(c) / f"{self.spec.model_name(c)}.json"

    def card(self, fold):
        from audiodl import pretrained
        return pretrained.card(str(self.card_path(fold)))

    def envelope(self, item, n_frames):
        """dB envelope of ``item``'s input (the model's features; for the energy gate)."""
        from audiodl.tasks.onsets import envelope_of_features
        return envelope_of_features(self.cache.get(item["audio"]))[:n_frames]

    def activations(self, fold, items):
        import torch

        from audiodl import pretrained
        d = self.work / "activations" / f"fold{fold}"
        d.mkdir(parents=True, exist_ok=True)
        out = {}
        for it in items:
            p = d / f"{it['id']}.npy"
            if not p.exists():
                if fold not in self._models:
                    self._models[fold] = pretrained.load(str(self.card_path(fold)))[0]
                x = torch.from_numpy(self.cache.get(it["audio"]))[None]
                with torch.inference_mode():
                    np.save(p, torch.sigmoid(self._models[fold](x))[0].numpy())
            out[it["id"]] = np.load(p)
        return out


def librosa_onsets(path, *, delta=0.07, cache=None):
    """librosa.onset.onset_detect at its defaults (22.05 kHz, hop 512) except ``delta``."""
    import librosa
    if cache is not None and cache.exists():
        env = np.load(cache)
    else:
        y, sr = librosa.load(path, sr=22050)
        env = librosa.onset.onset_strength(y=y, sr=sr)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, env)
    return librosa.onset.onset_detect(onset_envelope=env, sr=22050, units="time", delta=delta)


def superflux_acts(items, work):
    from audiodl.tasks.onsets import SuperFlux
    sf, d, out = SuperFlux(), Path(work) / "activations" / "superflux", {}
    d.mkdir(parents=True, exist_ok=True)
    for it in items:
        q = d / f"{it['id']}.npy"
        if not q.exists():
            np.save(q, sf.activations(it["audio"]).values)
        out[it["id"]] = np.load(q)
    return out


def tune_peers(cfg, valid, work):
    from audiodl.decoders.peaks import SUPERFLUX_DEFAULTS
    from audiodl.evaluation.onsets import evaluate, summarize
    from audiodl.training.specs.onsets import tune_peaks
    acts = superflux_acts(valid, work)
    grid = {"threshold": [round(float(x), 2) for x in np.geomspace(0.1, 40, 50)],
            "smooth": [0.0], "pre_max": [0.01], "post_max": [0.05], "combine": [0.03]}
    f, p = tune_peaks([(acts[it["id"]], it["onsets"]) for it in valid], 100.0,
                      window=cfg.tune_window, grid=dict(grid))
    p = SUPERFLUX_DEFAULTS.replace(threshold=p.threshold)
    best = (-1.0, None)
    for delta in [0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4]:
        sc = [evaluate(it["onsets"], librosa_onsets(it["audio"], delta=delta,
                                                    cache=Path(work) / "activations" /
                                                    "librosa" / f"{it['id']}.npy"),
                       window=cfg.tune_window) for it in valid]
        best = max(best, (summarize(sc)["sum"]["f_measure"], delta), key=lambda z: z[0])
    return {"superflux": {"params": p.to_dict(), "f_valid": f},
            "librosa": {"delta": best[1], "f_valid": best[0]}}


def madmom_rows(cfg, test, valid, work):
    """madmom's CNNOnsetProcessor run by ``bench/onsets.py`` under ``$MADMOM_PYTHON``."""
    from audiodl.decoders.peaks import CNN_DEFAULTS, pick_onsets
    from audiodl.evaluation.onsets import evaluate_many
    from audiodl.training.specs.onsets import tune_peaks
    py = os.environ.get("MADMOM_PYTHON", "")
    if not py or not os.path.exists(py):
        print("[evaluate] MADMOM_PYTHON unset or missing: skipping madmom", flush=True)
        return {}
    d = Path(work) / "activations" / "madmom"
    todo = [it for it in test + valid if not (d / f"{it['id']}.npy").exists()]
    if todo:
        import soundfile as sf
        wav = Path(work) / "wav"  # madmom reads WAV natively
        wav.mkdir(parents=True, exist_ok=True)
        for it in todo:
            if not (wav / f"{it['id']}.wav").exists():
                y, sr = sf.read(it["audio"], dtype="int16")
                sf.write(wav / f"{it['id']}.wav", y, sr, subtype="PCM_16")
        lst = Path(work) / "madmom_files.txt"
        lst.write_text("".join(f"{it['id']}\t{wav / (it['id'] + '.wav')}\n" for it in todo))
        subprocess.run([py, str(HERE.parent.parent / "bench" / "onsets.py"),
                        "madmom-activations", "--list", str(lst), "--out", str(d)], check=True)
    acts = {it["id"]: np.load(d / f"{it['id']}.npy") for it in test + valid}
    rows = {"madmom 0.16.1 CNNOnsetProcessor + OnsetPeakPickingProcessor (defaults)":
            evaluate_many({it["id"]: (it["onsets"], pick_onsets(acts[it["id"]], 100,
                                                                params=CNN_DEFAULTS))
                           for it in test})}
    grid = {"threshold": [round(float(x), 2) for x in np.arange(0.15, 0.96, 0.03)],
            "smooth": [0.05], "pre_max": [0.01], "post_max": [0.01], "combine": [0.03]}
    _, p = tune_peaks([(acts[it["id"]], it["onsets"]) for it in valid], 100,
                      window=cfg.tune_window, grid=grid)
    rows[f"madmom CNN, threshold {p.threshold} tuned on valid"] = evaluate_many(
        {it["id"]: (it["onsets"], pick_onsets(acts[it["id"]], 100, params=p)) for it in test})
    return rows


def basicpitch_onsets(items, work):
    """Note starts of basic-pitch 0.4.0 (its ONNX model, run by ``bench/onsets.py
    basicpitch-onsets`` under ``$BASICPITCH_PYTHON``; cached per item): ``{id: {threshold:
    times}}``, or None when ``BASICPITCH_PYTHON`` is unset."""
    py = os.environ.get("BASICPITCH_PYTHON", "")
    if not py or not os.path.exists(py):
        return None
    d = Path(work) / "activations" / "basicpitch"
    todo = [it for it in items if not (d / f"{it['id']}.json").exists()]
    if todo:
        d.mkdir(parents=True, exist_ok=True)
        lst = Path(work) / "basicpitch_files.txt"
        lst.write_text("".join(f"{it['id']}\t{it['audio']}\n" for it in todo))
        subprocess.run([py, str(HERE.parent.parent / "bench" / "onsets.py"),
                        "basicpitch-onsets", "--list", str(lst), "--out", str(d)], check=True)
    return {it["id"]: json.loads((d / f"{it['id']}.json").read_text()) for it in items}


def basicpitch_rows(cfg, test, valid, work):
    """basic-pitch rows on pitched material: note starts merged within 30 ms (as the
    references), at its default onset threshold (0.5) and at the one tuned on the
    validation files with soft attacks (pooled F at ``tune_window``)."""
    from audiodl.decoders.peaks import combine_events
    from audiodl.evaluation.onsets import evaluate, evaluate_many, summarize
    valid = [it for it in valid if "soft attack" in item_subsets(it)]
    est = basicpitch_onsets(test + valid, work)
    if est is None:
        print("[evaluate] BASICPITCH_PYTHON unset or missing: skipping basic-pitch", flush=True)
        return {}

    def on(i, thr):
        return combine_events(est[i][thr], 0.03)

    best = max(est[valid[0]["id"]], key=lambda thr: summarize(
        [evaluate(it["onsets"], on(it["id"], thr), window=cfg.tune_window)
         for it in valid])["sum"]["f_measure"]) if valid else "0.5"
    rows = {"basic-pitch 0.4.0 note starts (ONNX, defaults)":
            evaluate_many({it["id"]: (it["onsets"], on(it["id"], "0.5")) for it in test})}
    rows[f"basic-pitch 0.4.0, onset threshold {best} tuned on valid"] = evaluate_many(
        {it["id"]: (it["onsets"], on(it["id"], best)) for it in test})
    return rows


def evaluate_set(cfg, models, test, valid, peers, work, *, madmom, fold_of=None):
    from audiodl.decoders.peaks import PeakPickingParams as PP
    from audiodl.decoders.peaks import pick_onsets
    from audiodl.evaluation.onsets import evaluate_many, format_table
    from audiodl.training.specs.onsets import tune_peaks
    fps, rows = 100.0, {}
    refs = {it["id"]: it["onsets"] for it in test}
    f0 = models.folds[0]
    fold_of = fold_of or {it["id"]: f0 for it in test}  # crossval: each file's own fold model
    est = {"offline": {}, "online": {}}
    for f in sorted(set(fold_of.values())):
        card = models.card(f)
        mine = [it for it in test if fold_of[it["id"]] == f]
        acts = models.activations(f, mine)
        by_id = {it["id"]: it for it in mine}
        for mode in est:
            p = PP.from_dict(getattr(card.decoder, mode))
            est[mode].update({i: pick_onsets(a, fps, params=p, envelope=models.envelope(
                by_id[i], len(a)) if p.gate_rise else None) for i, a in acts.items()})
    what = f"fold {f0} model" if len(set(fold_of.values())) == 1 else \
        f"{len(set(fold_of.values()))}-fold CV"
    rows[f"audiodl CNN ({cfg.arch}, {what})"] = evaluate_many(
        {i: (refs[i], est["offline"][i]) for i in refs})
    rows["audiodl CNN, causal peak picking (online)"] = evaluate_many(
        {i: (refs[i], est["online"][i]) for i in refs})
    if len(models.folds) > 1 and cfg.folds and len(set(fold_of.values())) == 1:
        # ensemble: peak picking tuned on the pooled out-of-fold validation predictions
        from audiodl.training.specs.onsets import fold_roles, make_folds
        folds = make_folds(models.all_items, cfg.folds)
        by_id = {it["id"]: it for it in models.all_items}
        pooled = []
        for f in models.folds:
            v = [by_id[i] for i in fold_roles(folds, f)[1]]
            a = models.activations(f, v)
            pooled += [(a[it["id"]], it["onsets"]) for it in v]
        _, pp = tune_peaks(pooled, fps, window=cfg.tune_window)
        all_acts = [models.activations(f, test) for f in models.folds]
        rows[f"audiodl CNN, {len(models.folds)}-fold ensemble (mean)"] = evaluate_many(
            {i: (refs[i], pick_onsets(np.mean([a[i] for a in all_acts], axis=0), fps,
                                      params=pp)) for i in refs})
    sfa, sfp = superflux_acts(test, work), PP.from_dict(peers["superflux"]["params"])
    rows["SuperFlux (audiodl, threshold tuned on valid)"] = evaluate_many(
        {i: (refs[i], pick_onsets(sfa[i], fps, params=sfp)) for i in refs})
    lib = Path(work) / "activations" / "librosa"
    rows["librosa.onset.onset_detect (defaults)"] = evaluate_many(
        {it["id"]: (it["onsets"], librosa_onsets(it["audio"], cache=lib / f"{it['id']}.npy"))
         for it in test})
    delta = peers["librosa"]["delta"]
    rows[f"librosa.onset.onset_detect (delta={delta}, tuned on valid)"] = evaluate_many(
        {it["id"]: (it["onsets"], librosa_onsets(it["audio"], delta=delta,
                                                 cache=lib / f"{it['id']}.npy"))
         for it in test})
    if madmom:
        rows.update(madmom_rows(cfg, test, valid, work))
    n_on = sum(len(v) for v in refs.values())
    dur = sum(it["duration"] for it in test)
    table = f"{len(test)} files, {dur / 60:.1f} min, {n_on} onsets.\n\n" + format_table(rows)
    subs = subset_rows(test, rows)
    for label, srows in subs.items():
        ids = srows.pop("_ids")
        n_on = sum(len(refs[i]) for i in ids)
        if madmom and label == "soft attack":  # basic-pitch: pitched material only
            bp = basicpitch_rows(cfg, [it for it in test if it["id"] in set(ids)], valid, work)
            srows.update({k: {q: v[q] for q in ("cpjku", "mirex")} for k, v in bp.items()})
        table += (f"\n**Subset {label}** ({len(ids)} files, {n_on} onsets)\n\n"
                  + format_table(srows))
    return {"rows": {k: {q: v[q] for q in ("cpjku", "mirex")} for k, v in rows.items()},
            "subsets": {lab: {k: {q: v[q] for q in ("cpjku", "mirex")} for k, v in r.items()}
                        for lab, r in subs.items()},
            "test_ids": sorted(refs), "table": table}


def item_subsets(it):
    """Subset labels of a test item: ``meta.subsets`` (the real-drum split) or its kind,
    plus ``soft attack`` / ``medium attack`` from its GM programs' attack classes."""
    m = it.get("meta") or {}
    labels = list(m.get("subsets") or ([m["kind"]] if m.get("kind") not in (None, "soft")
                                       else []))
    classes = m.get("attack_classes") or []
    if "slow" in classes:
        labels.append("soft attack")
    elif "medium" in classes:
        labels.append("medium attack")
    return labels


def subset_rows(test, rows):
    """``label -> {system: {protocol: summary}, "_ids": [...]}`` for every subset label
    that splits the test items (from the per-file scores already in ``rows``)."""
    from audiodl.evaluation.onsets import summarize
    by_label = {}
    for it in test:
        for lab in item_subsets(it):
            by_label.setdefault(lab, set()).add(it["id"])
    out = {}
    for lab in sorted(by_label):
        ids = by_label[lab]
        if len(ids) == len(test):
            continue
        out[lab] = {name: {proto: summarize([s for s in res["files"][proto]
                                             if s["name"] in ids])
                           for proto in ("cpjku", "mirex")} for name, res in rows.items()}
        out[lab]["_ids"] = sorted(ids)
    return out


def record_test_scores(models, results):
    """Write every test part's scores of the fold model into its card (``metrics.test``)."""
    f0 = models.folds[0]
    card, path = models.card(f0), models.card_path(f0)
    row = next(k for k in next(iter(results.values()))["rows"] if k.startswith("audiodl CNN ("))
    test = {}
    for part, res in results.items():
        r = res["rows"][row]
        test[part] = {proto: {"f_sum": round(r[proto]["sum"]["f_measure"], 4),
                              "f_mean": round(r[proto]["mean"]["f_measure"], 4),
                              "precision_sum": round(r[proto]["sum"]["precision"], 4),
                              "recall_sum": round(r[proto]["sum"]["recall"], 4)}
                      for proto in ("cpjku", "mirex")}
        test[part]["files"] = len(res["test_ids"])
    last = "test_onsets" if "test_onsets" in test else list(test)[0]
    metrics = dict(card.metrics, test=test)
    metrics["headline"] = {f"{last}_f_mean_50ms": test[last]["mirex"]["f_mean"],
                           f"{last}_f_mean_25ms": test[last]["cpjku"]["f_mean"]}
    card.replace(metrics=metrics).write(path)
    print(f"[evaluate] test scores recorded in {path}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(HERE / "conf" / "default.toml"))
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE", help="Config overrides, as for audiodl train.")
    ap.add_argument("--data-root", default=None,
                    help="Data root (default: $AUDIODL_DATA, else ~/.cache/audiodl/data).")
    ap.add_argument("--runs", default=None, help="Folder holding the run folders.")
    ap.add_argument("--work", default=None, help="Activations and results folder.")
    ap.add_argument("--peers", action="store_true", help="Also run madmom ($MADMOM_PYTHON) and basic-pitch ($BASICPITCH_PYTHON).")
    ap.add_argument("--write-card", action="store_true",
                    help="Record the first fold model's test scores (every part) as "
                         "metrics.test and metrics.headline in its card (before audiodl ship).")
    args = ap.parse_args(argv)

    from audiodl.data.paths import data_root
    from audiodl.training.config import load_config
    from audiodl.training.specs.onsets import OnsetsConfig, OnsetsSpec, fold_roles, make_folds
    cfg = load_config(OnsetsConfig, args.config, args.overrides)
    root = data_root(args.data_root)
    name = OnsetsSpec().model_name(cfg)
    work = Path(args.work) if args.work else root / "runs" / "onsets" / f"eval-{name}"
    work.mkdir(parents=True, exist_ok=True)
    items = _items(cfg, root)
    by_id = {it["id"]: it for it in items}
    models = Models(cfg, root, args.runs, work)
    models.all_items = items
    results, tables, fold_of = {}, [], None
    if cfg.folds == 0:
        valid = [it for it in items if it["split"] == "valid"]
        parts = {"test": [it for it in items if it["split"] == "test"]}
    else:
        folds = make_folds(items, cfg.folds)
        valid = [by_id[i] for i in fold_roles(folds, models.folds[0])[1]]
        if folds["mode"] == "holdout":
            manifests = [cfg.corpus, *cfg.extra_corpora]
            parts = {}
            for k, m in enumerate(manifests):
                pre = f"x{k}_"
                ids = [i for i in folds["test"] if (i.startswith(pre) if k else
                                                    not (i[:1] == "x" and "_" in i[:4]))]
                parts["test" if k == 0 else f"test_{Path(m).parent.name}"] = [by_id[i]
                                                                              for i in ids]
        else:  # cross-validation: each trained fold's test fold, scored by its own model
            fold_of = {i: f for f in models.folds for i in fold_roles(folds, f)[2]}
            parts = {"crossval": [by_id[i] for i in fold_of]}
    for k, m in enumerate(cfg.test_corpora):  # test-only corpora: every item is test
        from audiodl.data.paths import resolve_data_path
        from audiodl.training.specs.onsets import read_items
        extra = read_items(resolve_data_path(m, root), prefix=f"t{k}_")
        parts[f"test_{Path(m).parent.name}"] = extra
        fold_of = None if fold_of is None else {**fold_of, **{it["id"]: models.folds[0]
                                                              for it in extra}}
    peers = tune_peers(cfg, valid, work)
    for part, test in parts.items():
        if not test:
            continue
        res = evaluate_set(cfg, models, test, valid, peers, work, madmom=args.peers,
                           fold_of=fold_of)
        results[part] = res
        tables.append(f"### {part}\n\n" + res["table"])
    if not tables:
        print("[evaluate] no test items in the corpus: nothing to score", flush=True)
    text = "\n".join(tables)
    if args.write_card and results and fold_of is None:
        record_test_scores(models, results)
    (work / f"results_{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (work / f"results_{name}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
