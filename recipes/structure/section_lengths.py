"""Structure recipe: how long the repeated sections are, against a model's lag range (annotations only).

    python recipes/structure/section_lengths.py structure/vvalid/manifest.jsonl \
        structure/vfam/manifest.jsonl structure/varied/manifest.jsonl --lags 16.7 33.3

For every direct repeat (two consecutive sections with the same label,
A | A) the length of the first section is the lag at which the repeat shows
in a self-similarity lag matrix; a model whose lag features reach less far
cannot see it there. Prints, per manifest, the number of repeats, their
median and longest length, and the fraction longer than each ``--lags``
value (seconds). Reads section annotations only: no audio, no model.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from audiodl.data.manifest import read_manifest
from audiodl.data.paths import data_root, resolve_data_path
from audiodl.training.specs.structure import read_sections


def repeat_lengths(items) -> np.ndarray:
    """Lengths [s] of the first section of every direct repeat (A | A) in ``items``."""
    out = []
    for it in items:
        secs = read_sections(it)
        out += [a[1] - a[0] for a, b in zip(secs, secs[1:]) if a[2] == b[2]]
    return np.asarray(out, dtype=float)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifests", nargs="+")
    ap.add_argument("--lags", type=float, nargs="+", default=[16.7, 33.3])
    args = ap.parse_args(argv)
    for m in args.manifests:
        items = [it for it in read_manifest(resolve_data_path(m, data_root()))
                 if "sections" in (it.get("annotations") or {})]
        L = repeat_lengths(items)
        row = {"manifest": m, "songs": len(items), "repeats": int(len(L)),
               "median_s": round(float(np.median(L)), 1) if len(L) else None,
               "max_s": round(float(L.max()), 1) if len(L) else None,
               **{f"longer_than_{lag:g}s": round(float((L > lag).mean()), 3) if len(L) else None
                  for lag in args.lags}}
        print(json.dumps(row))


if __name__ == "__main__":
    main()
