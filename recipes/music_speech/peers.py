"""Peers on the same test files: silero-vad (speech activity), pyAudioAnalysis's
speech/music SVM and a classical MFCC-statistics + logistic-regression file classifier.

    pip install scikit-learn                 # mfcc (peers only; not audiodl dependencies)
    python recipes/music_speech/peers.py mfcc
    # silero-vad in its own venv that sees this environment's torch and audiodl:
    python -m venv --system-site-packages $VENVS/silero
    $VENVS/silero/bin/pip install silero-vad 'torch==2.14.1' 'torchaudio==2.11.0'
    $VENVS/silero/bin/python recipes/music_speech/peers.py silero
    # pyAudioAnalysis 0.3.14 in its own Python 3.9 venv (its pickles want scikit-learn 0.24.2):
    python3.9 -m venv $VENVS/paa
    $VENVS/paa/bin/pip install pyAudioAnalysis==0.3.14 numpy==1.23.5 scipy==1.9.3 \
        scikit-learn==0.24.2 hmmlearn==0.2.8 eyed3 pydub 'matplotlib<3.8' \
        imbalanced-learn==0.8.1 plotly tqdm
    python recipes/music_speech/peers.py paa --python $VENVS/paa/bin/python

paa: pyAudioAnalysis's shipped ``svm_rbf_sm`` (speech vs music) through its
own functions (``paa_run.py``, run by the venv's Python on 16 kHz WAV copies):
the file decision of ``file_classification`` scored by file accuracy on the
same test sets as evaluate.py --task classify, and the 1 s mid-term labels of
``mid_term_file_classification`` as segments (its file label over the whole
file where that function fails: files of one or two mid-term windows), scored
by frame P/R/F (10 ms grid, counts summed) on the same detection test files, the unseen-speaker
mixtures (make_unseen.py) and the neither files (it has no neither answer:
every file gets music or speech).

silero: speech timestamps at 16 kHz (silero's own post-processing); its
threshold is picked on the VALIDATION split from {0.3, 0.5, 0.7} (0.5 is its
default), then speech frame P/R/F on the test files (10 ms grid, counts summed
over files), split into synthetic mixtures and real recordings exactly as
evaluate.py does, on the unseen-speaker mixtures (make_unseen.py), and the
share of the neither files' duration it calls speech. Music is not silero's task.

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
from audiodl.data.paths import resolve_data_path  # noqa: E402


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
    out = {"valid_speech_f_by_threshold": tuning, "threshold": best, "test": test}
    if os.path.exists(resolve_data_path(common.SPLITS["unseen"][0])):
        out["unseen"] = speech_scores(model, common.items("unseen"), best)["all"]
    if os.path.exists(resolve_data_path(common.SPLITS["neither"][0])):
        out["neither"] = neither_speech_share(model, common.neither_items("test"), best)
    from importlib.metadata import version
    return {"peer": f"silero-vad {version('silero-vad')}", **out}


def run_silero_unseen(previous):
    """Re-score only the unseen-speaker mixtures (new labels), at the threshold that the
    previous full run picked on validation (``previous``: its silero.json)."""
    import torch
    from silero_vad import load_silero_vad
    torch.set_num_threads(1)
    model = load_silero_vad()
    out = dict(previous)
    out["unseen"] = speech_scores(model, common.items("unseen"), previous["threshold"])["all"]
    return out


def neither_speech_share(model, items, threshold):
    """Share of files (and of their duration) that silero labels speech (any speech at all)."""
    n_any, sec, total = 0, 0.0, 0.0
    for it in common.progress(items, "silero neither"):
        est = silero_segments(model, it["audio"], threshold)
        d = float(np.sum(np.diff(est.intervals, axis=1))) if len(est.intervals) else 0.0
        n_any += d > 0
        sec += d
        total += it["duration"]
    return {"n_files": len(items), "files_without_speech": 1 - n_any / max(len(items), 1),
            "speech_share": sec / max(total, 1e-9)}


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


def _paa_segments(labels, step, duration):
    from audiodl.types import Segments
    iv, labs = [], []
    for k, lab in enumerate(labels):
        a, b = k * step, min(duration, (k + 1) * step)
        if k == len(labels) - 1:
            b = duration
        if b > a:
            iv.append([a, b])
            labs.append(lab)
    return Segments(intervals=np.array(iv).reshape(-1, 2), labels=tuple(labs))


def run_paa(kinds, python):
    """pyAudioAnalysis svm_rbf_sm on the test files (through paa_run.py in its venv)."""
    import subprocess

    from audiodl.evaluation.musicspeech import aggregate, evaluate, file_accuracy
    from audiodl.io.audio import load
    import soundfile as sf
    wav_dir = common.WORK / "peers" / "paa_wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    sets = classification_sets(kinds)
    det = common.items("test", kinds=kinds)
    unseen = common.items("unseen") if os.path.exists(
        resolve_data_path(common.SPLITS["unseen"][0])) else []
    neither = common.neither_items("test") if os.path.exists(
        resolve_data_path(common.SPLITS["neither"][0])) else []
    every = {it["id"]: it for rows in sets.values() for it, _ in rows}
    every.update({it["id"]: it for it in det + unseen + neither})
    rows = []
    for iid, it in common.progress(sorted(every.items()), "paa wav"):
        wav = wav_dir / f"{iid}.wav"
        if not wav.exists():
            y, _ = load(it["audio"], 16000)
            sf.write(str(wav), np.clip(y, -1, 1), 16000, subtype="PCM_16")
        rows.append({"id": iid, "wav": str(wav)})
    lst, res_path = wav_dir / "list.json", common.WORK / "peers" / "paa_raw.json"
    lst.write_text(json.dumps(rows))
    raw = json.loads(res_path.read_text()) if res_path.exists() else {"files": {}}
    if set(raw["files"]) != {r["id"] for r in rows}:  # else: reuse the finished run
        subprocess.run([python, os.path.join(os.path.dirname(__file__), "paa_run.py"),
                        str(lst), str(res_path)], check=True)
        raw = json.loads(res_path.read_text())
    files, step = raw["files"], raw["mid_step"]
    out, real_ref, real_est = {}, [], []
    for name, rows_ in sorted(sets.items()):
        est = [files[it["id"]].get("label", "error") for it, _ in rows_]
        ref = [lab for _, lab in rows_]
        out[name] = file_accuracy(ref, est)
        if name != "synth":
            real_ref += ref
            real_est += est
    out["real"] = file_accuracy(real_ref, real_est)

    def frame_scores(items):
        per = {}
        for it in items:
            f = files[it["id"]]
            # mid-term labels; where pyAudioAnalysis's segmentation fails (files of one or
            # two mid-term windows), its file label over the whole file
            mid = f.get("mid_labels") or ([f["label"]] if "label" in f else [])
            est = _paa_segments(mid, step if "mid_labels" in f else it["duration"],
                                it["duration"])
            r = evaluate(reference_segments(it), est, duration=it["duration"])
            group = "synth" if it["_corpus"] == "synth" else "real"
            per.setdefault(group, []).append(r)
            per.setdefault("all", []).append(r)
        return {g: aggregate(r) for g, r in per.items()}
    res = {"peer": f"pyAudioAnalysis {raw['version']} svm_rbf_sm", "mid_step": step,
           "test_classify": out, "test_detect": frame_scores(det),
           "errors": {k: v for k, v in files.items() if "error" in v or "mid_error" in v}}
    if unseen:
        res["unseen"] = frame_scores(unseen)["all"]
    if neither:
        res["neither"] = {"n_files": len(neither), "neither_accuracy": 0.0,
                          "note": "no neither answer: every file is music or speech"}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peer", choices=["silero", "mfcc", "paa"])
    ap.add_argument("--python", default=sys.executable,
                    help="paa: the Python of the pyAudioAnalysis venv")
    ap.add_argument("--kinds", default="real,synth")
    ap.add_argument("--unseen-only", action="store_true",
                    help="silero: re-score only the unseen mixtures, at the threshold of the "
                         "previous run's WORK/peers/silero.json (picked on validation)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    t0 = time.time()
    kinds = tuple(args.kinds.split(","))
    if args.peer == "silero" and args.unseen_only:
        res = run_silero_unseen(json.loads((common.WORK / "peers" / "silero.json").read_text()))
    elif args.peer == "silero":
        res = run_silero(kinds)
    elif args.peer == "paa":
        res = run_paa(kinds, args.python)
    else:
        res = run_mfcc(kinds)
    res["seconds"] = round(time.time() - t0, 1)
    common.write_json(common.WORK / "peers" / f"{args.peer}.json", res)
    print(json.dumps(res, indent=1, default=str)[:3000])


if __name__ == "__main__":
    main()
