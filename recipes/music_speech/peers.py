"""Peers on the same test files: silero-vad (speech activity) and a classical
MFCC-statistics + logistic-regression file classifier.

    pip install silero-vad scikit-learn     # peers only; not audiodl dependencies
    python recipes/music_speech/peers.py silero
    python recipes/music_speech/peers.py mfcc

silero: speech timestamps at 16 kHz (silero's own post-processing); its
threshold is picked on the VALIDATION split from {0.3, 0.5, 0.7} (0.5 is its
default), then speech frame P/R/F on the test files (10 ms grid, counts summed
over files), split into synthetic mixtures and real recordings exactly as
evaluate.py does. Music is not silero's task.

mfcc: 20 MFCCs + deltas (librosa defaults at 22.05 kHz), mean and std over
the file (80 values), standardised, logistic regression (sklearn, C=1), fit
on the training split's single-class files (real + synthetic), scored by
file accuracy on the same test sets as evaluate.py --task classify.

Writes WORK/peers/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from evaluate import classification_sets  # noqa: E402
from common import reference_segments  # noqa: E402


def silero_segments(model, path, threshold):
    import torch
    from silero_vad import get_speech_timestamps

    from audiodl.io.audio import load
    from audiodl.types import Segments
    y, _ = load(path, 16000)
    ts = get_speech_timestamps(torch.from_numpy(y), model, threshold=threshold,
                               sampling_rate=16000, return_seconds=True)
    iv = np.array([[t["start"], t["end"]] for t in ts]).reshape(-1, 2)
    return Segments(intervals=iv, labels=("speech",) * len(iv))


def speech_scores(model, items, threshold):
    from audiodl.evaluation.musicspeech import aggregate, evaluate
    per = {}
    for it in common.progress(items, f"silero {threshold}"):
        ref = reference_segments(it)
        ref_sp = type(ref)(intervals=ref.of("speech"), labels=("speech",) * len(ref.of("speech")))
        est = silero_segments(model, it["audio"], threshold)
        group = "synth" if it["_corpus"] == "synth" else "real"
        r = evaluate(ref_sp, est, duration=it["duration"], classes=("speech",))
        per.setdefault(group, []).append(r)
        per.setdefault("all", []).append(r)
    return {g: aggregate(r) for g, r in per.items()}


def run_silero(kinds):
    import torch
    from silero_vad import load_silero_vad
    torch.set_num_threads(1)
    model = load_silero_vad()
    valid = common.items("valid", kinds=kinds)
    tuning = {t: speech_scores(model, valid, t)["all"]["speech_f"] for t in (0.3, 0.5, 0.7)}
    best = max(tuning, key=tuning.get)
    test = speech_scores(model, common.items("test", kinds=kinds), best)
    import silero_vad
    return {"peer": f"silero-vad {getattr(silero_vad, '__version__', '6.x')}",
            "valid_speech_f_by_threshold": tuning, "threshold": best, "test": test}


def mfcc_stats(path):
    import librosa

    from audiodl.io.audio import load
    y, sr = load(path, 22050)
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    d = librosa.feature.delta(m) if m.shape[1] >= 9 else np.zeros_like(m)
    f = np.concatenate([m, d])
    return np.concatenate([f.mean(1), f.std(1)])


def run_mfcc(kinds):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from audiodl.evaluation.musicspeech import file_accuracy
    train = []
    for it in common.items("train", kinds=kinds):
        lab = common.clip_label(it)
        if it["_corpus"] == "synth":
            ref = reference_segments(it)
            lab = ref.labels[0] if len(set(ref.labels)) == 1 else None
        if lab is not None:
            train.append((it, lab))
    X = np.stack([mfcc_stats(it["audio"]) for it, _ in common.progress(train, "mfcc train")])
    y = np.array([lab == "speech" for _, lab in train])
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    clf.fit(X, y)
    out, real_ref, real_est = {}, [], []
    for name, rows in sorted(classification_sets(kinds).items()):
        Xt = np.stack([mfcc_stats(it["audio"]) for it, _ in common.progress(rows, name)])
        est = ["speech" if p else "music" for p in clf.predict(Xt)]
        ref = [lab for _, lab in rows]
        out[name] = file_accuracy(ref, est)
        if name != "synth":
            real_ref += ref
            real_est += est
    out["real"] = file_accuracy(real_ref, real_est)
    return {"peer": "MFCC(20)+delta mean/std -> logistic regression (sklearn)",
            "n_train": len(train), "test": out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peer", choices=["silero", "mfcc"])
    ap.add_argument("--kinds", default="real,synth")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    t0 = time.time()
    kinds = tuple(args.kinds.split(","))
    res = run_silero(kinds) if args.peer == "silero" else run_mfcc(kinds)
    res["seconds"] = round(time.time() - t0, 1)
    common.write_json(common.WORK / "peers" / f"{args.peer}.json", res)
    print(json.dumps(res, indent=1, default=str)[:3000])


if __name__ == "__main__":
    main()
