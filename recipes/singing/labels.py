"""What the label convention costs: gap statistics and the decoder's ceiling on the truth.

Usage::

    python recipes/singing/labels.py --manifest "$AUDIODL_DATA/singing/test2/manifest.jsonl" \\
        [--medians 0,0.4,0.8,1.2,1.6] [--join-gap 0.5] [--out labels.json]

For every file of the manifest it reads the ``.lab`` reference and reports

* the gaps between consecutive sung segments (count, quantiles, and how many
  seconds lie in gaps of at most 0.25 / 0.5 / 1 / 2 s);
* the **ceiling**: the frame error that the reference itself gets when it is
  fed to the decoder as a 0/1 activation (median filter of each length, then
  threshold 0.5) — what a perfect network would score with that decoder.

``--join-gap S`` scores against (and feeds) references whose gaps of at most
S seconds are closed (:func:`audiodl.evaluation.singing.join_gaps`).
"""

from __future__ import annotations

import argparse
import json
import sys


def gap_stats(refs, durations, limits=(0.25, 0.5, 1.0, 2.0)) -> dict:
    """Gaps between consecutive sung segments of ``refs`` (list of Segments)."""
    import numpy as np
    gaps = []
    for ref in refs:
        iv = ref.intervals[np.argsort(ref.intervals[:, 0])] if len(ref.intervals) else ref.intervals
        gaps += [float(b[0] - a[1]) for a, b in zip(iv[:-1], iv[1:])]
    g = np.array(gaps)
    total = float(sum(durations))
    out = {"n_gaps": len(g), "audio_seconds": round(total, 1)}
    if len(g):
        out["quantiles_s"] = {str(q): round(float(np.quantile(g, q)), 3)
                              for q in (0.1, 0.25, 0.5, 0.75, 0.9)}
    for lim in limits:
        sel = g[g <= lim] if len(g) else g
        out[f"gaps_le_{lim:g}s"] = {"count": int(len(sel)), "seconds": round(float(sel.sum()), 2),
                                    "fraction_of_audio": round(float(sel.sum()) / total, 4)}
    return out


def ceiling(refs, durations, medians, fps=70.0) -> dict:
    """Frame scores of the reference decoded by itself (median filter, threshold 0.5)."""
    import numpy as np

    from audiodl.decoders.smoothing import decode_segments
    from audiodl.evaluation.musicspeech import segments_to_frames
    from audiodl.evaluation.singing import LABEL, aggregate, evaluate
    from audiodl.types import Activations
    out = {}
    for med in medians:
        res = []
        for ref, d in zip(refs, durations):
            r = segments_to_frames(ref, duration=d, classes=(LABEL,), resolution=1 / fps)
            act = Activations(values=r.astype(np.float32), fps=fps, labels=(LABEL,),
                              audio_duration=d)
            est = decode_segments(act, method="threshold", threshold=0.5, median=med,
                                  labels=(LABEL,))
            res.append(evaluate(ref, est, duration=d))
        a = aggregate(res)
        out[f"{med:g}"] = {k: round(a[k], 5) for k in ("error", "recall", "specificity")}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", required=True, action="append")
    ap.add_argument("--medians", default="0,0.4,0.8,1.2,1.6", help="median lengths [s]")
    ap.add_argument("--join-gap", type=float, default=0.0, help="[s]")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from audiodl.data.manifest import read_manifest, read_segments
    from audiodl.evaluation.singing import as_reference, join_gaps

    refs, durs = [], []
    for man in args.manifest:
        for it in read_manifest(man):
            ref = read_segments(it["annotations"]["vocals"])
            refs.append(join_gaps(ref, args.join_gap) if args.join_gap else as_reference(ref))
            durs.append(float(it["duration"]))
    medians = [float(m) for m in args.medians.split(",")]
    out = {"manifests": args.manifest, "n_files": len(refs), "label_join_gap": args.join_gap,
           "gaps": gap_stats(refs, durs), "ceiling": ceiling(refs, durs, medians)}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
