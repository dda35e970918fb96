"""Where a structure model misses: recall by kind of boundary, false alarms (diagnosis only).

    python recipes/structure/misses.py --card RUN/structure_cnn.json \
        [--manifest structure/varied/manifest.jsonl ...] [--decoder '{"threshold": 0.2}'] \
        [--out results/misses.json]

Decodes every song of the manifests with the card's decoder (nothing is
tuned here; ``--decoder`` overrides some of its parameters, e.g. a decoder
tuned on other validation songs) and splits the reference's inner boundaries (trim: the file's
first and last are not counted) into **repeat** boundaries (the same section
label on both sides: verse | verse, A | A) and **change** boundaries, each
for songs with and without drums (the test songs' only cue at a repeat
boundary is a crash cymbal on about half of the section starts, in songs
with drums). Reports recall within 0.5 s and 3 s per class, and the false
alarms (estimated boundaries further than 3 s from every reference one).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from audiodl.data.manifest import read_manifest
from audiodl.data.paths import data_root, resolve_data_path
from audiodl.training.specs.structure import read_sections


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", required=True)
    ap.add_argument("--manifest", action="append", default=None,
                    help="Songs to diagnose (repeatable; default structure/varied).")
    ap.add_argument("--decoder", default="{}",
                    help="JSON object of decoding parameters overriding the card's.")
    ap.add_argument("--method", default="cnn", choices=["cnn", "foote"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from audiodl.tasks.structure import Foote, StructurePipeline
    pipe = StructurePipeline.from_pretrained(args.card) if args.method == "cnn" else Foote()
    manifests = args.manifest or ["structure/varied/manifest.jsonl"]
    overrides = json.loads(args.decoder)
    items = [it for m in manifests for it in read_manifest(resolve_data_path(m, data_root()))
             if "sections" in (it.get("annotations") or {})]
    counts = {}
    false_alarms, n_est = 0, 0
    for it in items:
        secs = read_sections(it)
        est = pipe(it["audio"], **overrides)
        eb = np.asarray(est.intervals[1:, 0], dtype=float)
        n_est += len(eb)
        drums = "9" in (it.get("meta", {}).get("programs") or {})
        refs = [(secs[k][0], secs[k - 1][2] == secs[k][2]) for k in range(1, len(secs))]
        for t, repeat in refs:
            key = ("repeat" if repeat else "change") + ("+drums" if drums else "-drums")
            d = float(np.min(np.abs(eb - t))) if len(eb) else np.inf
            c = counts.setdefault(key, {"n": 0, "hit0.5": 0, "hit3": 0})
            c["n"] += 1
            c["hit0.5"] += d <= 0.5
            c["hit3"] += d <= 3.0
        rt = np.array([t for t, _ in refs])
        false_alarms += int(sum(np.min(np.abs(rt - e)) > 3.0 for e in eb)) if len(rt) else len(eb)
    out = {"card": str(Path(Path(args.card).parent.name, Path(args.card).name)), "method": args.method, "manifest": manifests,
           "decoder": dict(pipe.default_params.to_dict(), **overrides),
           "songs": len(items), "estimated_boundaries": n_est, "false_alarms_3s": false_alarms,
           "classes": {k: dict(v, recall0_5=round(v["hit0.5"] / v["n"], 3),
                               recall3=round(v["hit3"] / v["n"], 3))
                       for k, v in sorted(counts.items())}}
    text = json.dumps(out, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
