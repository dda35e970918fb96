"""Stage 3: tune the detection decoder (smoothing + thresholds) on VALIDATION.

    python recipes/music_speech/tune.py --run WORK/runs/musicspeech_tcn/seed0

Runs the model once over every validation file (activations cached in
RUN/activations/valid/), then grid-searches the decoder parameters maximising
the mean of the music and speech frame F-measures (10 ms grid, counts summed
over files). Writes RUN/decoder.json. The test split is never touched here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

GRID = {
    "method": ["hysteresis"],
    "threshold_music": [0.3, 0.4, 0.5, 0.6, 0.7],
    "threshold_speech": [0.3, 0.4, 0.5, 0.6, 0.7],
    "median": [0.0, 0.3, 0.6, 1.2],
    "min_duration": [0.0, 0.3],
    "min_gap": [0.0, 0.5],
}


def load_pipeline(run, cls_name="MusicSpeechDetector"):
    from audiodl import pretrained
    from audiodl.tasks import musicspeech as T
    model, card = pretrained.load(os.path.join(run, "model.json"))
    return getattr(T, cls_name)(model, card)


def activations_for(pipe, items, cache_dir):
    """Activations of every item (cached as .npz by item id)."""
    from audiodl.types import Activations
    os.makedirs(cache_dir, exist_ok=True)
    out = []
    for it in common.progress(items, "activations"):
        p = os.path.join(cache_dir, it["id"] + ".npz")
        if os.path.exists(p):
            out.append(Activations.load(p))
            continue
        act = pipe.activations(it["audio"])
        act.save(p)
        out.append(act)
    return out


def reference_segments(item):
    from audiodl.data.dataset import _item_segments
    from audiodl.types import Segments
    segs = [s for s in _item_segments(item) if s[2] in common.LABELS]
    return Segments(intervals=np.array([[s[0], min(s[1], item["duration"])] for s in segs])
                    .reshape(-1, 2), labels=tuple(s[2] for s in segs))


def decoder_from(params):
    return {"method": params["method"],
            "threshold": [params["threshold_music"], params["threshold_speech"]],
            "median": params["median"], "min_duration": params["min_duration"],
            "min_gap": params["min_gap"]}


def frame_f(acts, refs, durations, decoder):
    from audiodl.decoders import decode_segments
    from audiodl.evaluation.musicspeech import _scores_from_frame_counts, frame_counts
    tot = {}
    for act, ref, dur in zip(acts, refs, durations):
        est = decode_segments(act, **decoder)
        c = frame_counts(ref, est, duration=dur)
        for k, v in c.items():
            acc = tot.setdefault(k, dict.fromkeys(v, 0))
            for kk, vv in v.items():
                acc[kk] += vv
    return _scores_from_frame_counts(tot)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--kinds", default="real,synth")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch
    torch.set_num_threads(args.threads)
    t0 = time.time()
    pipe = load_pipeline(args.run)
    items = common.items("valid", kinds=tuple(args.kinds.split(",")))
    acts = activations_for(pipe, items, os.path.join(args.run, "activations", "valid"))
    refs = [reference_segments(it) for it in items]
    durs = [a.duration for a in acts]
    best, best_score, table = None, -1.0, []
    keys = list(GRID)
    for combo in itertools.product(*(GRID[k] for k in keys)):
        params = dict(zip(keys, combo))
        s = frame_f(acts, refs, durs, decoder_from(params))
        score = (s["music_f"] + s["speech_f"]) / 2
        table.append((score, params))
        if score > best_score:
            best, best_score = params, score
    final = frame_f(acts, refs, durs, decoder_from(best))
    res = {"decoder": decoder_from(best), "valid_scores": final, "objective": "mean frame F "
           "(music, speech) on the validation split, 10 ms grid, counts summed over files",
           "n_files": len(items), "grid": GRID, "seconds": round(time.time() - t0, 1)}
    common.write_json(os.path.join(args.run, "decoder.json"), res)
    print(json.dumps({"decoder": res["decoder"], "music_f": final["music_f"],
                      "speech_f": final["speech_f"]}, indent=1))


if __name__ == "__main__":
    main()
