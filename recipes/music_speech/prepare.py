"""Stage 1: check the corpora and fill the feature cache.

    python recipes/music_speech/prepare.py [--variants 2]

Reads the merged manifests of the data subsystem (see common.py), prints the
amount of audio per split and source, and computes the lidy2015 front end of
every file (plus ``--variants`` augmented versions of each real training
recording) into the feature cache ($FEATURE_CACHE or ~/.cache/audiodl/features),
keyed by (file hash, front-end hash, variant). Idempotent.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--splits", default="train,valid,test")
    ap.add_argument("--kinds", default="real,synth")
    args = ap.parse_args(argv)
    t0 = time.time()
    cache = common.cache()
    kinds = tuple(args.kinds.split(","))
    summary = {}
    for split in args.splits.split(","):
        items = common.items(split, kinds=kinds)
        hours = collections.defaultdict(float)
        for it in items:
            hours[it["_corpus"]] += it["duration"] / 3600
        summary[split] = {k: round(v, 3) for k, v in sorted(hours.items())}
        print(f"{split}: {len(items)} items, " + ", ".join(f"{k} {v:.2f} h" for k, v in
                                                          sorted(hours.items())), flush=True)
        for it in common.progress(items, split):
            variants = range(args.variants + 1) if (split == "train" and
                                                    it["_corpus"] != "synth") else (0,)
            for v in variants:
                cache.get(it["audio"], variant=v)
    common.write_json(common.WORK / "prepare.json", {"hours": summary, "variants": args.variants,
                                                     "seconds": round(time.time() - t0, 1)})
    print(f"features ready in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
