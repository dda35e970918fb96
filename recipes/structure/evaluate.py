"""Structure recipe, evaluation stage: tune on validation, score on test, every method.

    python recipes/structure/evaluate.py --card RUN/structure_cnn.json [--card ...] \
        --out recipes/structure/results/test.json

Validation songs: every song of each ``--valid-manifest`` (default: the
``valid`` split of ``--manifest`` plus all of ``structure/synth1``, the
training templates' validation); the CNN's decoder was tuned on its
validation during training (it is in its card; ``--retune`` tunes it again
on these songs, for old cards trained with another validation), the Foote and structural-features decoders are tuned on
them here with the same grid (:func:`audiodl.training.specs.structure.tune_decoder`).
``--params-from RESULTS.json`` takes the Foote and SF decoders of an
earlier run of this script instead (no tuning: to score them on a new test
set). Test songs: the ``test`` split of ``--manifest`` and every song of each
``--test-manifest`` (reported per test set). Scores: mir_eval hit rates at
0.5 s and 3 s with ``trim=True`` (file start and end excluded), pairwise F
and NCE F, means over songs. Several ``--card`` runs (seeds) give mean ± std.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from audiodl.data.manifest import read_manifest
from audiodl.data.paths import data_root, resolve_data_path
from audiodl.evaluation.segment import evaluate, summarize
from audiodl.training.specs.structure import read_sections, tune_decoder
from audiodl.types import Segments

KEYS = ("hr0.5_f", "hr3_f", "hr0.5_p", "hr0.5_r", "pairwise_f", "nce_f")


def songs(manifest, split=None):
    return [it for it in read_manifest(manifest)
            if (split is None or it.get("split") == split)
            and "sections" in (it.get("annotations") or {})]


def reference(it):
    s = read_sections(it)
    return Segments(intervals=np.array([[a, b] for a, b, _ in s]), labels=[c for *_, c in s])


def score(pipe, acts, items, params):
    return summarize([evaluate(reference(it), pipe.decode(a, **params), trim=True)
                      for a, it in zip(acts, items)])


def record_test_scores(card, card_path, test, n_songs, retuned=None):
    """Write ``metrics.test`` and ``metrics.headline`` into a run's card file.

    ``retuned``: ``(params, valid_scores, valid_manifests)`` of a decoder tuned
    again here on validation songs; it becomes the card's decoder.
    """
    from audiodl.pretrained.card import DecoderSpec
    metrics = dict(card.metrics, test={"trim": True, "n_songs": n_songs, **test})
    # the headline is the recipe's first unseen-form test set when it was scored
    # (`audiodl models` shows it), else the last test set given
    main = "varied" if "varied" in test else list(test)[-1]
    metrics["headline"] = {f"test_{main}_hr0.5_f": test[main]["hr0.5_f"],
                           f"test_{main}_hr3_f": test[main]["hr3_f"]}
    changes = {}
    if retuned is not None:
        params, vs, manifests = retuned
        metrics["valid_segment"] = {k: (round(v, 5) if isinstance(v, float) else v)
                                    for k, v in vs.items()}
        changes["decoder"] = DecoderSpec(
            offline=dict(params), online=None,
            tuned_on=f"validation songs of {', '.join(manifests)} ({vs.get('n_files')} songs; "
                     "recipes/structure/evaluate.py --retune): mean HR F@0.5 s (trim) for peak "
                     "picking, then mean pairwise F for the label threshold")
    card.replace(metrics=metrics, **changes).write(card_path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", action="append", default=[], help="CNN card(s) (seeds)")
    ap.add_argument("--manifest", default="structure/synth0/manifest.jsonl")
    ap.add_argument("--valid-manifest", action="append", default=None)
    ap.add_argument("--test-manifest", action="append", default=None)
    ap.add_argument("--methods", default="cnn,foote,sf")
    ap.add_argument("--retune", action="store_true",
                    help="Tune the CNN's decoder on these validation songs too (default: the card's).")
    ap.add_argument("--params-from", default=None,
                    help="A results JSON of this script: the Foote / SF decoders (and their "
                         "validation scores) are taken from it instead of tuned again, e.g. to "
                         "score them on a new test set.")
    ap.add_argument("--out", default="recipes/structure/results/test.json")
    ap.add_argument("--write-card", action="store_true",
                    help="Also record the test scores in each CNN card's metrics (before "
                         "`audiodl ship`); with --retune, the decoder tuned here too.")
    args = ap.parse_args(argv)
    root = data_root()
    r = lambda p: resolve_data_path(p, root)  # noqa: E731
    valid = [] if args.valid_manifest else songs(r(args.manifest), "valid")
    for m in args.valid_manifest or ["structure/synth1/manifest.jsonl"]:
        valid += songs(r(m))
    tests = {"synth0-test": songs(r(args.manifest), "test")}
    for m in args.test_manifest or ["structure/varied/manifest.jsonl"]:
        tests[Path(m).parent.name] = songs(r(m))
    from audiodl.tasks.structure import Foote, StructuralFeatures, StructurePipeline
    results = {"valid_songs": len(valid), "valid_manifests": args.valid_manifest or "default",
               "test_songs": {k: len(v) for k, v in tests.items()},
               "trim": True, "methods": {}}
    methods = args.methods.split(",")
    earlier = (json.loads(Path(args.params_from).read_text())["methods"]
               if args.params_from else None)
    if earlier is not None:
        results["params_from"] = args.params_from
    for method in methods:
        if method == "cnn":
            pipes = [(c, StructurePipeline.from_pretrained(c)) for c in args.card]
        else:
            pipes = [(method, Foote() if method == "foote" else StructuralFeatures())]
        # name: the card path (cnn) or the method
        for name, pipe in pipes:
            t0 = time.process_time()
            if method != "cnn" and earlier is not None:
                if method not in earlier:
                    raise SystemExit(f"{args.params_from}: no decoder of {method!r}")
                params, vs = earlier[method]["params"], earlier[method]["valid"]
            elif method != "cnn" or args.retune:  # tune on validation with the training spec's grid
                vacts = [pipe.activations(it["audio"]) for it in valid]
                dec, vs = tune_decoder(vacts, [reference(it) for it in valid],
                                       min_duration=pipe.context_seconds,
                                       base=pipe.default_params)
                params = dec
            else:
                params, vs = pipe.default_params.to_dict(), pipe.card.metrics.get(
                    "valid_segment", {})
                if args.valid_manifest:  # the card's decoder on these validation songs
                    vs = score(pipe, [pipe.activations(it["audio"]) for it in valid], valid,
                               params)
            entry = {"params": params, "valid": {k: vs.get(k) for k in KEYS}, "test": {}}
            for tname, items in tests.items():
                acts = [pipe.activations(it["audio"]) for it in items]
                s = score(pipe, acts, items, params)
                entry["test"][tname] = {k: round(s[k], 4) for k in KEYS}
            entry["cpu_seconds"] = round(time.process_time() - t0, 1)
            if method == "cnn" and args.write_card:
                record_test_scores(pipe.card, name, entry["test"], results["test_songs"],
                                   (params, vs, args.valid_manifest or ["default"])
                                   if args.retune else None)
            key = f"cnn:{Path(name).parent.name}" if method == "cnn" else method
            results["methods"][key] = entry
            print(key, json.dumps(entry["test"]), flush=True)
    # mean +- std over CNN seeds
    cnn = [v for k, v in results["methods"].items() if k.startswith("cnn:")]
    if cnn:
        agg = {}
        for tname in tests:
            agg[tname] = {k: [round(float(np.mean([c["test"][tname][k] for c in cnn])), 4),
                              round(float(np.std([c["test"][tname][k] for c in cnn])), 4)]
                          for k in KEYS}
        results["cnn_mean_std"] = agg
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
