"""Render a structure corpus of the varied-form or random-form generator.

    # test songs: forms the training templates lack
    python recipes/structure/make_varied.py -o "$AUDIODL_DATA/structure/varied" --hours 0.5 --seed 5
    # validation songs: same grammar, other seed, no form of the test songs
    python recipes/structure/make_varied.py -o "$AUDIODL_DATA/structure/vvalid" --hours 0.5 --seed 6 \
        --exclude-manifest "$AUDIODL_DATA/structure/varied/manifest.jsonl"
    # more validation songs: the test grammar's families, none of its (or training's) patterns
    python recipes/structure/make_varied.py --generator families -o "$AUDIODL_DATA/structure/vfam" \
        --hours 0.8 --seed 7 --split valid --exclude-patterns-of "$AUDIODL_DATA/structure/random0/manifest.jsonl"
    # training songs: random forms with section cues, no pattern of that grammar
    python recipes/structure/make_varied.py --generator random -o "$AUDIODL_DATA/structure/random0" \
        --hours 2 --seed 10

Runs :mod:`audiodl.data.synth.structure_varied` (``--generator varied``),
:mod:`audiodl.data.synth.structure_random` (``random``) or
:mod:`audiodl.data.synth.structure_families` (``families``) in this process
(resumable: rendered songs are skipped) and writes ``manifest.jsonl``.
``--exclude-manifest`` skips every song whose form (the exact label sequence)
is one of that manifest's, or one of the training templates
(:data:`audiodl.data.synth.compose.FORMS`); the form is known before
rendering. Every song of the written manifest has split ``valid`` with
``--split valid`` (default: the generator's own train/valid/test split).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audiodl.data.manifest import read_manifest, write_manifest
from audiodl.data.synth import structure_families, structure_random, structure_varied
from audiodl.data.synth.compose import FORMS
from audiodl.data.synth.structure_varied import canonical_form

GENERATORS = {"varied": structure_varied, "random": structure_random,
              "families": structure_families}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--generator", choices=sorted(GENERATORS), default="varied")
    ap.add_argument("--hours", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--exclude-manifest", action="append", default=[],
                    help="Skip songs whose form is one of this manifest's (repeatable).")
    ap.add_argument("--exclude-patterns-of", action="append", default=[],
                    help="Skip songs whose repeat pattern (labels renamed A, B ... by first "
                         "appearance) is one of this manifest's or a template's (repeatable).")
    ap.add_argument("--split", default=None, help="Give every song this split.")
    ap.add_argument("--doubled-p", type=float, default=0.0,
                    help="random generator: probability of a form whose parts all repeat "
                         "(A A B B ...).")
    args = ap.parse_args(argv)
    gen = GENERATORS[args.generator]
    out = Path(args.output)
    (out / ".items").mkdir(parents=True, exist_ok=True)
    gen.check()
    excluded = set()
    if args.exclude_manifest:
        excluded = {tuple(f) for f in FORMS}
        for m in args.exclude_manifest:
            excluded |= {tuple(it.get("meta", {}).get("form", [])) for it in read_manifest(m)}
    patterns = set()
    if args.exclude_patterns_of:
        patterns = {canonical_form(f) for f in FORMS}
        for m in args.exclude_patterns_of:
            patterns |= {canonical_form(it.get("meta", {}).get("form", []))
                         for it in read_manifest(m)}
    ctx, items = None, []
    for spec in gen.plan(args.hours, args.seed, gen.DEFAULT_SR):
        if args.doubled_p:
            spec = dict(spec, doubled_p=args.doubled_p)
        if excluded and tuple(gen.form_of(spec)) in excluded:
            continue
        if patterns and canonical_form(gen.form_of(spec)) in patterns:
            continue
        rec = out / ".items" / f"{spec['id']}.json"
        if rec.exists():
            items.append(json.loads(rec.read_text()))
            continue
        ctx = ctx or gen.make_context(gen.DEFAULT_SR)
        item = gen.generate(spec, ctx, out)
        tmp = rec.with_suffix(".tmp")
        tmp.write_text(json.dumps(item))
        tmp.replace(rec)
        items.append(item)
    if args.split:
        items = [dict(it, split=args.split) for it in items]
    write_manifest(out / "manifest.jsonl", items)
    print(out / "manifest.jsonl", len(items), "songs")


if __name__ == "__main__":
    main()
