"""Generate a corpus of instrumental-lead hard negatives (no voice).

Every item is of kind ``instrumental`` with its melody forced onto a lead
program drawn from ``singing.WIND_LEADS`` (piccolo, flute, recorder, pan
flute, blown bottle, shakuhachi, whistle, ocarina, synth leads): breathy
and wind leads that a singing detector tends to call singing.

    python recipes/singing/leads.py -o DIR --hours 0.2 --seed 31

Items are rendered exactly as ``audiodl synth singing`` renders them
(``singing.generate``); the spec carries the forced ``lead`` program.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def plan(hours, seed):
    """Item specs: instrumental items with a forced wind/synth lead until ``hours`` are filled."""
    from audiodl.data.synth import singing
    from audiodl.data.synth.runner import item_rng
    specs, total, i = [], 0.0, 0
    while total < hours * 3600.0:
        rng = item_rng(seed, i, salt=71)
        dur = round(float(rng.uniform(*singing.DURATION)), 2)
        lead = int(singing.WIND_LEADS[i % len(singing.WIND_LEADS)])
        specs.append({"id": f"sl{i:06d}", "index": i, "seed": seed, "kind": "instrumental",
                      "duration": dur, "split": "train", "lead": lead})
        total += dur
        i += 1
    return specs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--hours", type=float, default=0.2)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--sr", type=int, default=22050)
    a = ap.parse_args(argv)
    from audiodl.data.manifest import write_manifest
    from audiodl.data.synth import singing
    if a.seed == 1000:
        ap.error("seed 1000 is the tests' item seed")
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    ctx = singing.make_context(a.sr)
    items = []
    for spec in plan(a.hours, a.seed):
        item = singing.generate(spec, ctx, out)
        item.setdefault("meta", {})["lead"] = spec["lead"]
        items.append(item)
    write_manifest(out / "manifest.jsonl", items)
    (out / "corpus.json").write_text(json.dumps({"generator": "recipes/singing/leads.py",
                                                 "seed": a.seed, "hours": a.hours,
                                                 "count": len(items)}, indent=1))
    print(out / "manifest.jsonl", len(items), round(sum(x["duration"] for x in items) / 3600, 4), "h")


if __name__ == "__main__":
    main()
