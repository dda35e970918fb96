"""Structure recipe: how much the decoder's ``min_segment`` matters (validation songs only).

    python recipes/structure/decoder_grid.py --card RUN/structure_cnn.json \
        --valid-manifest structure/vvalid/manifest.jsonl --valid-manifest structure/vfam/manifest.jsonl \
        [--min-segments 3 2 1.5 1] [--out results/decoder_grid.json]

Tunes the decoder of one CNN card on the validation songs with the
training spec's grid (:data:`audiodl.training.specs.structure.DECODER_GRID`:
threshold and look-ahead for mean HR F@0.5 s, then the label threshold for
pairwise F) once per ``min_segment`` value (the shortest section kept, also
the distance of a boundary from the file ends), and once with all values in
the grid. Test songs are never read. ``min_segment`` = 3 s is the recipe's
setting; shorter values could keep the short intros and outros it drops.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audiodl.data.paths import data_root, resolve_data_path
from audiodl.training.specs.structure import DECODER_GRID, tune_decoder

from evaluate import reference, songs


def write_rows(args, n_valid, rows):
    """Write a validation study's rows (and what they were run on) to ``args.out``, if given."""
    out = {"card": str(Path(Path(args.card).parent.name, Path(args.card).name)),
           "valid_manifests": args.valid_manifest, "valid_songs": n_valid, "trim": True,
           "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", required=True)
    ap.add_argument("--valid-manifest", action="append", required=True)
    ap.add_argument("--min-segments", type=float, nargs="+", default=[3.0, 2.0, 1.5, 1.0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from audiodl.tasks.structure import StructurePipeline
    root = data_root()
    valid = [it for m in args.valid_manifest for it in songs(resolve_data_path(m, root))]
    pipe = StructurePipeline.from_pretrained(args.card)
    acts = [pipe.activations(it["audio"]) for it in valid]
    refs = [reference(it) for it in valid]
    rows = []
    for ms in [[m] for m in args.min_segments] + [list(args.min_segments)]:
        dec, s = tune_decoder(acts, refs, grid=dict(DECODER_GRID, min_segment=ms),
                              min_duration=pipe.context_seconds, base=pipe.default_params)
        row = {"min_segment_grid": ms, "decoder": dec,
               **{k: s[k] for k in ("hr0.5_f", "hr3_f", "pairwise_f", "hr0.5_p", "hr0.5_r")}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_rows(args, len(valid), rows)


if __name__ == "__main__":
    main()
