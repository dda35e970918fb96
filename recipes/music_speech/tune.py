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

#: searched per class (classes are decoded independently), for every median length
GRID = {
    "method": ["hysteresis"],
    "median": [0.0, 0.3, 0.6, 1.0],
    "threshold": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "min_duration": [0.0, 0.3, 1.0, 2.0],
    "min_gap": [0.0, 0.3, 1.0],
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
    # classes are decoded independently (only the median is shared): search each
    # class's threshold / min_duration / min_gap for every median length
    from audiodl.decoders import decode_segments, median_filter
    from audiodl.evaluation.musicspeech import segments_to_frames
    from audiodl.types import Activations
    ref_grid = [segments_to_frames(r, duration=d) for r, d in zip(refs, durs)]

    def class_f(filtered, c, thr, mdur, mgap):
        tp = fp = fn = 0
        for act, rg, d in zip(filtered, ref_grid, durs):
            one = Activations(values=act[:, c:c + 1], fps=acts[0].fps, labels=("x",))
            est = decode_segments(one, method="hysteresis", threshold=thr, min_duration=mdur,
                                  min_gap=mgap)
            eg = segments_to_frames(est, duration=d, classes=("x",))[:, 0]
            r = rg[:, c]
            tp += int(np.sum(r & eg))
            fp += int(np.sum(~r & eg))
            fn += int(np.sum(r & ~eg))
        return 2 * tp / max(2 * tp + fp + fn, 1)

    best, best_score = None, -1.0
    for median in GRID["median"]:
        filtered = [median_filter(a.values, size=max(1, int(round(median * a.fps))))
                    if median > 0 else np.asarray(a.values, dtype=np.float64) for a in acts]
        dec = {"method": "hysteresis", "median": median, "threshold": [0.5, 0.5],
               "min_duration": [0.0, 0.0], "min_gap": [0.0, 0.0]}
        for c, _name in enumerate(common.LABELS):
            cands = itertools.product(GRID["threshold"], GRID["min_duration"], GRID["min_gap"])
            f, params = max(((class_f(filtered, c, *p), p) for p in cands), key=lambda t: t[0])
            dec["threshold"][c], dec["min_duration"][c], dec["min_gap"][c] = params
        s = frame_f(acts, refs, durs, dec)
        score = (s["music_f"] + s["speech_f"]) / 2
        logging.info("median %.1f: %s -> music F %.4f speech F %.4f", median, dec,
                     s["music_f"], s["speech_f"])
        if score > best_score:
            best, best_score = dec, score
    final = frame_f(acts, refs, durs, best)
    res = {"decoder": best, "valid_scores": final, "objective": "mean frame F "
           "(music, speech) on the validation split, 10 ms grid, counts summed over files",
           "n_files": len(items), "grid": GRID, "seconds": round(time.time() - t0, 1)}
    common.write_json(os.path.join(args.run, "decoder.json"), res)
    print(json.dumps({"decoder": res["decoder"], "music_f": final["music_f"],
                      "speech_f": final["speech_f"]}, indent=1))


if __name__ == "__main__":
    main()
