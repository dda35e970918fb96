"""Music frame scores of a detector on the unseen-speaker mixtures, by kind of mixture.

    python recipes/music_speech/unseen_by_kind.py --run WORK/runs/musicspeech_tcn_engines/seed3

Counts summed over the files of each kind (alternation, overlay, speech) with
the run's frame decoder, as ``evaluate.py --task unseen``; plus the files whose
music recall is below ``--low`` (where music recall is lost) and the totals
without them. A diagnosis: the must-show figure keeps every file.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import activations_for, load_pipeline, reference_segments  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--low", type=float, default=0.5, help="music recall of a 'lost' file")
    args = ap.parse_args(argv)
    from audiodl.decoders import decode_segments
    from audiodl.evaluation.musicspeech import evaluate
    pipe = load_pipeline(args.run, "MusicSpeechDetector")
    dec = pipe.default_params.segment_params()
    items = common.items("unseen")
    acts = activations_for(pipe, items, os.path.join(args.run, "activations", "unseen"))
    per = []
    for it, a in zip(items, acts):
        c = evaluate(reference_segments(it), decode_segments(a, **dec),
                     duration=a.duration)["counts"]["frames"]["music"]
        per.append((it, c))
    lost = {it["id"] for it, c in per if c["tp"] + c["fn"] and c["tp"] / (c["tp"] + c["fn"]) < args.low}
    tot = collections.defaultdict(lambda: collections.Counter())
    for it, c in per:
        for k in (it["meta"]["kind"], "all") + (() if it["id"] in lost else ("all but lost",)):
            tot[k].update({n: c[n] for n in ("tp", "fp", "fn")})
    for it, c in per:
        if it["id"] in lost:
            noise = (it["meta"].get("augment") or {}).get("noise") or {}
            print(f"lost: {it['id']} ({it['meta']['kind']}, {it['meta']['music']}, added noise "
                  f"SNR {noise.get('snr_db', float('nan')):.1f} dB): music recall "
                  f"{c['tp'] / (c['tp'] + c['fn']):.3f}")
    for k, c in tot.items():
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        print(f"{k}: music P {tp / max(tp + fp, 1):.3f} R {tp / max(tp + fn, 1):.3f} "
              f"F {2 * tp / max(2 * tp + fp + fn, 1):.3f} (missed frames {fn}, false {fp})")


if __name__ == "__main__":
    main()
