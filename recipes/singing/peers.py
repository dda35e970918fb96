"""Peer on the same test files: librosa ``pyin``'s voiced flag as a "singing" detector.

Usage::

    python recipes/singing/peers.py --manifest "$AUDIODL_DATA/singing/test/manifest.jsonl" \\
        [--out peers.json] [--median 0.8] [--join-gap 0.5]

pyin is a monophonic pitch tracker: its voiced flag fires on any pitched
lead (flute, violin, synth lead, speech), which is why a dedicated detector
is needed. It runs at 22.05 kHz with a 315-sample hop (70 fps, the same grid
as the model), fmin 65 Hz, fmax 1047 Hz; the voiced flag is median filtered
(``--median`` seconds, the model's default 0.8 s) and scored frame-wise with
:mod:`audiodl.evaluation.singing`, by the same groups as ``evaluate.py``.
``--join-gap S`` scores against references whose gaps of at most S seconds
between sung segments are closed (as ``evaluate.py``; the labels as written
are reported too, under ``groups_fine``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--median", type=float, default=0.8, help="[s]")
    ap.add_argument("--join-gap", type=float, default=0.0,
                    help="label convention [s]: close reference gaps up to this length")
    args = ap.parse_args(argv)

    import librosa
    import numpy as np

    from audiodl.data.manifest import read_manifest, read_segments
    from audiodl.decoders.smoothing import decode_segments
    from audiodl.evaluation.singing import aggregate, evaluate
    from audiodl.io.audio import load
    from audiodl.types import Activations

    sr, hop = 22050, 315
    groups, fine, audio_s, compute_s = {}, {}, 0.0, 0.0
    for it in read_manifest(args.manifest):
        y, _ = load(it["audio"], sr)
        t0 = time.perf_counter()
        _, voiced, _ = librosa.pyin(y, fmin=65.0, fmax=1047.0, sr=sr, frame_length=2048,
                                    hop_length=hop)
        compute_s += time.perf_counter() - t0
        dur = len(y) / sr
        audio_s += dur
        act = Activations(values=voiced.astype(np.float32)[:, None], fps=sr / hop,
                          labels=("singing",), audio_duration=dur)
        est = decode_segments(act, method="threshold", threshold=0.5, median=args.median)
        ref = read_segments(it["annotations"]["vocals"])
        res = evaluate(ref, est, duration=dur, join_gap=args.join_gap)
        kind = (it.get("meta") or {}).get("kind", "?")
        for g in ["all", kind]:
            groups.setdefault(g, []).append(res)
            fine.setdefault(g, []).append(evaluate(ref, est, duration=dur))
    table = {g: aggregate(rs) for g, rs in groups.items()}
    out = {"peer": f"librosa {librosa.__version__} pyin voiced flag, median {args.median} s",
           "label_join_gap": args.join_gap, "groups": table,
           "groups_fine": {g: aggregate(rs) for g, rs in fine.items()},
           "x_real_time": round(audio_s / compute_s, 1)}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=float)
    cols = ("error", "precision", "recall", "specificity", "f1", "false_positive_rate")
    print("| group | files | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for g, r in table.items():
        print(f"| {g} | {r['n_files']} | " + " | ".join(f"{r[c]:.4f}" for c in cols) + " |")
    print(f"pyin: {out['x_real_time']}x real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
