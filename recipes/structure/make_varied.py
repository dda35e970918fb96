"""Render the varied-form structure test corpus (forms the training templates lack).

    python recipes/structure/make_varied.py -o "$AUDIODL_DATA/structure/varied" --hours 0.4 --seed 5

Runs :mod:`audiodl.data.synth.structure_varied` in this process (resumable:
rendered songs are skipped) and writes ``manifest.jsonl``. Once
``structure_varied`` is listed in :data:`audiodl.data.synth.runner.TASKS`,
``audiodl synth structure_varied`` does the same.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audiodl.data.manifest import write_manifest
from audiodl.data.synth import structure_varied as gen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--hours", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    out = Path(args.output)
    (out / ".items").mkdir(parents=True, exist_ok=True)
    gen.check()
    ctx, items = None, []
    for spec in gen.plan(args.hours, args.seed, gen.DEFAULT_SR):
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
    write_manifest(out / "manifest.jsonl", items)
    print(out / "manifest.jsonl")


if __name__ == "__main__":
    main()
