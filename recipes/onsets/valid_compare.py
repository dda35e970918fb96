#!/usr/bin/env python
"""Compare onset models and decoders on VALIDATION files only (model selection; never test).

    python recipes/onsets/valid_compare.py --config recipes/onsets/conf/kits.toml \
        --card base=RUN_A/onsets_cnn.json --card kits=RUN_B/onsets_cnn_kits.json [--retune]

Scores every card's own offline peak picking (and, with ``--retune``, peak picking re-tuned
on the same files plain, with the decay-aware threshold, and with it and the energy gate, as
``audiodl train`` does with ``tune_decay`` and ``tune_gate``) on the validation items of fold ``fold`` of ``--config`` (the spec's folds),
per subset (``meta.kind``; items of ``onsets_kits`` as ``kits:<kind>``, of ``onsets_chatter``
as ``chatter:<kind>``) and for the files outside ``onsets_kits`` and ``onsets_chatter``
(``base files``: the validation set of a config without them) and outside ``onsets_chatter``. Several
cards: also the mean of their activations (a small ensemble) with re-tuned peak picking.

Bagging (``--bag``): each ``--bag A,B,...`` (labels of ``--card``) is the mean of those cards'
onset probabilities (what ``recipes/onsets/ensemble.py`` builds as one model), with peak
picking re-tuned here by the spec's tuner as the config asks (``tune_objective``,
``tune_decay``, ``tune_gate``), as ``audiodl train`` tunes a single model's card. The summary
table shows that objective for every card with its own peak picking (for a card trained with
this config, or built by ``ensemble.py --config`` with it, tuned on these same files by the
same tuner) and for every bag:

    python recipes/onsets/valid_compare.py --config recipes/onsets/conf/shipped.toml \
        --card shipped=S.json --card ft1=A.json --card ft2=B.json \
        --bag shipped,ft1 --bag shipped,ft1,ft2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def subset(it):
    m = it.get("meta") or {}
    k = m.get("kind", "?")
    if m.get("chatter"):
        return f"chatter:{k}"
    return f"kits:{k}" if m.get("kit") == "gmrock" else k


def valid_items(config, overrides=(), data_root=None):
    """``(cfg, items)``: the resolved config and its validation items (fold ``cfg.fold``)."""
    sys.path.insert(0, str(HERE))
    import evaluate as E

    from audiodl.data.paths import data_root as resolve_root
    from audiodl.training.config import load_config
    from audiodl.training.specs.onsets import OnsetsConfig, fold_roles, make_folds
    cfg = load_config(OnsetsConfig, config, list(overrides))
    items = E._items(cfg, resolve_root(data_root))
    by_id = {it["id"]: it for it in items}
    return cfg, [by_id[i] for i in fold_roles(make_folds(items, cfg.folds), cfg.fold)[1]]


def activations(card, items):
    """Onset probabilities of a card path (or a torch model) on ``items``, by id."""
    import torch

    from audiodl import pretrained
    from audiodl.data.dataset import FeatureCache
    from audiodl.features.config import preset
    torch.set_num_threads(1)
    cache = FeatureCache(preset("onset_cnn"))
    model = pretrained.load(card)[0] if isinstance(card, (str, Path)) else card.eval()
    out = {}
    for it in items:
        x = torch.from_numpy(cache.get(it["audio"]))[None]
        with torch.inference_mode():
            out[it["id"]] = torch.sigmoid(model(x))[0].numpy()
    return out


def envelopes(items):
    """dB envelope (the model's log-mel input) of each item, for the energy gate."""
    from audiodl.data.dataset import FeatureCache
    from audiodl.features.config import preset
    from audiodl.tasks.onsets import envelope_of_features
    cache = FeatureCache(preset("onset_cnn"))
    return {it["id"]: envelope_of_features(cache.get(it["audio"])) for it in items}


ENV = {}


def objective(acts, items, params, cfg):
    """The config's tuning objective (F at ``tune_window``) of ``params`` on ``items``."""
    from audiodl.training.specs.onsets import _f_sum
    pairs = [(acts[it["id"]], it["onsets"], ENV[it["id"]][:len(acts[it["id"]])])
             if params.gate_rise else (acts[it["id"]], it["onsets"]) for it in items]
    return _f_sum(pairs, 100, params, cfg.tune_window, cfg.tune_objective)


def retune(acts, items, cfg):
    """``(objective, params)``: offline peak picking tuned on ``items`` as ``cfg`` asks."""
    from audiodl.training.specs.onsets import tune_decoder
    pairs = [(acts[it["id"]], it["onsets"], ENV[it["id"]][:len(acts[it["id"]])])
             for it in items]
    return tune_decoder(pairs, 100, window=cfg.tune_window, objective=cfg.tune_objective,
                        decay=cfg.tune_decay, gate=cfg.tune_gate)


def scores(acts, items, params):
    """F mean / F sum at ±25 and ±50 ms of ``params`` on ``items``."""
    from audiodl.decoders.peaks import pick_onsets
    from audiodl.evaluation.onsets import evaluate_many
    r = evaluate_many({it["id"]: (it["onsets"], pick_onsets(
        acts[it["id"]], 100, params=params, envelope=ENV[it["id"]][:len(acts[it["id"]])]
        if params.gate_rise else None)) for it in items})
    m, c = r["mirex"], r["cpjku"]
    return (c["mean"]["f_measure"], c["sum"]["f_measure"], m["mean"]["f_measure"],
            m["sum"]["f_measure"])


def report(label, acts, items, params):
    from audiodl.decoders.peaks import pick_onsets
    from audiodl.evaluation.onsets import evaluate_many
    groups = {"all": items, "base files": [it for it in items if it["id"][:3] not in
                                           ("x3_", "x4_")],
              "without onsets_chatter": [it for it in items if not
                                         (it.get("meta") or {}).get("chatter")]}
    for it in items:
        groups.setdefault(subset(it), []).append(it)
    keys = ("threshold", "smooth", "pre_max", "post_max", "decay_ratio", "decay_time",
            "gate_rise", "gate_release", "gate_keep")
    print(f"\n#### {label}: " + ", ".join(f"{k} {getattr(params, k):g}" for k in keys))
    print("\n| subset | files | F mean ±50 | F mean ±25 | F sum ±50 | F sum ±25 | P ±50 | R ±50 |")
    print("|---|---|---|---|---|---|---|---|")
    for g, its in groups.items():
        if not its:
            continue
        r = evaluate_many({it["id"]: (it["onsets"], pick_onsets(
            acts[it["id"]], 100, params=params, envelope=ENV[it["id"]][:len(acts[it["id"]])]
            if params.gate_rise else None)) for it in its})
        m, c = r["mirex"], r["cpjku"]
        print(f"| {g} | {len(its)} | {m['mean']['f_measure']:.4f} | {c['mean']['f_measure']:.4f}"
              f" | {m['sum']['f_measure']:.4f} | {c['sum']['f_measure']:.4f}"
              f" | {m['sum']['precision']:.3f} | {m['sum']['recall']:.3f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--card", action="append", required=True, metavar="LABEL=CARD.json")
    ap.add_argument("--retune", action="store_true",
                    help="Also re-tune peak picking on these files (plain and decay-aware).")
    ap.add_argument("--bag", action="append", default=[], metavar="A,B,...",
                    help="Score the mean of these cards (labels) with peak picking re-tuned "
                         "as the config asks; repeat for several bags.")
    ap.add_argument("--quiet", action="store_true", help="Only the summary table.")
    args = ap.parse_args(argv)

    from audiodl import pretrained
    from audiodl.decoders.peaks import PeakPickingParams as PP
    from audiodl.training.specs.onsets import tune_decoder
    cfg, valid = valid_items(args.config, args.overrides, args.data_root)
    cards = dict(spec.split("=", 1) for spec in args.card)
    bags = [b.split(",") for b in args.bag]
    for b in bags:
        if len(b) < 2 or set(b) - set(cards):
            raise SystemExit(f"--bag {','.join(b)}: needs two or more labels of --card "
                             f"({', '.join(cards)})")
    show = (lambda *a: None) if args.quiet else report
    print(f"{len(valid)} validation files (fold {cfg.fold} of {args.config})")
    ENV.update(envelopes(valid))
    all_acts, summary = {}, []
    for label, card in cards.items():
        acts = all_acts[label] = activations(card, valid)
        own = PP.from_dict(pretrained.card(card).decoder.offline)
        show(f"{label}, its card's peak picking", acts, valid, own)
        summary.append((f"{label}, its card's peak picking", objective(acts, valid, own, cfg),
                        scores(acts, valid, own)))
        if args.retune:
            pairs = [(acts[it["id"]], it["onsets"], ENV[it["id"]][:len(acts[it["id"]])])
                     for it in valid]
            for decay, gate in ((False, False), (True, False), (True, True)):
                f, p = tune_decoder(pairs, 100, window=cfg.tune_window,
                                    objective=cfg.tune_objective, decay=decay, gate=gate)
                stages = " and ".join(["the decay stage"] * decay + ["the energy gate"] * gate)
                report(f"{label}, re-tuned here ({'with ' + stages if stages else 'plain'}; "
                       f"objective {f:.4f})", acts, valid, p)
    for b in bags:
        mean = {it["id"]: np.mean([all_acts[k][it["id"]] for k in b], axis=0) for it in valid}
        f, p = retune(mean, valid, cfg)
        show(f"bag {' + '.join(b)} (re-tuned; objective {f:.4f})", mean, valid, p)
        summary.append((f"bag {' + '.join(b)}, re-tuned as the config asks", f,
                        scores(mean, valid, p)))
    if len(all_acts) > 1 and not bags:
        mean = {it["id"]: np.mean([a[it["id"]] for a in all_acts.values()], axis=0)
                for it in valid}
        f, p = tune_decoder([(mean[it["id"]], it["onsets"]) for it in valid], 100,
                            window=cfg.tune_window, objective=cfg.tune_objective)
        report(f"mean of {' + '.join(all_acts)} (re-tuned; objective {f:.4f})", mean, valid, p)
    print(f"\n#### summary: {len(valid)} validation files; objective = {cfg.tune_objective} "
          f"at ±{cfg.tune_window * 1000:g} ms\n")
    print("| model, peak picking | objective | F mean ±25 | F sum ±25 | F mean ±50 | F sum ±50 |")
    print("|---|---|---|---|---|---|")
    for label, f, sc in summary:
        print(f"| {label} | {f:.4f} | " + " | ".join(f"{v:.4f}" for v in sc) + " |")


if __name__ == "__main__":
    sys.exit(main())
