"""Structure recipe: decoder choices for a CNN card, compared on the validation songs only.

    python recipes/structure/decoder_study.py --card RUN/structure_cnn.json \
        --valid-manifest structure/vvalid/manifest.jsonl --valid-manifest structure/vfam/manifest.jsonl \
        [--variants recipe,hr3,fine_split,hr3_fine_split] [--out results/decoder_study.json]

Each variant tunes the decoder on the validation songs
(:func:`audiodl.training.specs.structure.tune_decoder`) and reports its
validation HR.5F / HR3F / pairwise F (means, trim); test songs are never read.

- ``recipe``: the recipe's grid (:data:`DECODER_GRID`), peak picking for HR.5F;
- ``hr3``: the same grid, peak picking for HR.5F + HR3F (``objective="hr0.5+hr3"``);
- ``fine_split``: HR.5F, with ``repeat_split`` in 0, 0.5, 0.55 ... 0.8;
- ``hr3_fine_split``: both;
- ``no_split``: the grid without the repeat split (``repeat_split`` 0);
- ``half_split``: the grid plus the half split (``half_split`` in 0, 1.4, 1.7, 2.0: a segment
  that long relative to the song's median segment, with matching halves, is split in the
  middle), for HR.5F; ``hr3_half_split``: the same for HR.5F + HR3F. Rule, written before
  their first run (tenth session), as for the earlier variants: a variant replaces the
  recipe grid only if its validation sum (HR.5F + HR3F + pairwise F) is at least 0.01 above
  the recipe grid's for the same card.

The validation activations are computed once per card and cached in
``--cache`` (default ``$AUDIODL_DATA/structure/acts``, keyed by the weights' sha256).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from audiodl.data.paths import data_root, resolve_data_path
from audiodl.training.specs.structure import DECODER_GRID, tune_decoder

from decoder_grid import write_rows
from evaluate import reference, songs

FINE_SPLIT = [0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
HALF_SPLIT = [0.0, 1.4, 1.7, 2.0]
VARIANTS = {
    "recipe": (dict(DECODER_GRID), "hr0.5"),
    "hr3": (dict(DECODER_GRID), "hr0.5+hr3"),
    "fine_split": (dict(DECODER_GRID, repeat_split=FINE_SPLIT), "hr0.5"),
    "hr3_fine_split": (dict(DECODER_GRID, repeat_split=FINE_SPLIT), "hr0.5+hr3"),
    "no_split": (dict(DECODER_GRID, repeat_split=[0.0]), "hr0.5"),
    "half_split": (dict(DECODER_GRID, half_split=HALF_SPLIT), "hr0.5"),
    "hr3_half_split": (dict(DECODER_GRID, half_split=HALF_SPLIT), "hr0.5+hr3"),
}


def cached_activations(pipe, items, folder):
    """Activations of ``items`` from ``folder`` (``ID.npz``), computed and saved when missing."""
    from audiodl.types import Activations
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for it in items:
        f = folder / f"{it['id']}.npz"
        if not f.exists():
            a = pipe.activations(it["audio"])
            np.savez(f, values=a.values, fps=a.fps, duration=a.duration)
        z = np.load(f)
        out.append(Activations(values=z["values"], fps=float(z["fps"]),
                               audio_duration=float(z["duration"])))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", required=True)
    ap.add_argument("--valid-manifest", action="append", required=True)
    ap.add_argument("--variants", default="recipe,hr3,fine_split,hr3_fine_split")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from audiodl.tasks.structure import StructurePipeline
    root = data_root()
    valid = [it for m in args.valid_manifest for it in songs(resolve_data_path(m, root))]
    pipe = StructurePipeline.from_pretrained(args.card)
    cache = Path(args.cache or Path(root) / "structure" / "acts") / pipe.card.sha256[:16]
    acts = cached_activations(pipe, valid, cache)
    refs = [reference(it) for it in valid]
    rows = []
    for name in args.variants.split(","):
        grid, objective = VARIANTS[name]
        dec, s = tune_decoder(acts, refs, grid=grid, min_duration=pipe.context_seconds,
                              base=pipe.default_params, objective=objective)
        row = {"variant": name, "objective": objective, "decoder": dec,
               **{k: s[k] for k in ("hr0.5_f", "hr3_f", "pairwise_f", "hr0.5_p", "hr0.5_r",
                                    "hr3_p", "hr3_r")},
               "sum": round(s["hr0.5_f"] + s["hr3_f"] + s["pairwise_f"], 4)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_rows(args, len(valid), rows)


if __name__ == "__main__":
    main()
