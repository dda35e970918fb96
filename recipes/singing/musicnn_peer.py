"""musicnn 0.1.0 (Pons & Serra 2019) voice tags as a frame-wise singing peer on the recipe's files.

    # 1. tag every file with musicnn, in its own venv (never imported into audiodl's):
    $MUSICNN_PYTHON recipes/singing/musicnn_peer.py tag \\
        --manifest "$AUDIODL_DATA/singing/valid2/manifest.jsonl" --out "$AUDIODL_DATA/musicnn/valid2"
    $MUSICNN_PYTHON recipes/singing/musicnn_peer.py tag \\
        --manifest "$AUDIODL_DATA/singing/test2/manifest.jsonl" --out "$AUDIODL_DATA/musicnn/test2"
    # 2. tune median + threshold on validation, score test (audiodl's scorer, as evaluate.py):
    python recipes/singing/musicnn_peer.py score \\
        --valid-manifest "$AUDIODL_DATA/singing/valid2/manifest.jsonl" --valid "$AUDIODL_DATA/musicnn/valid2" \\
        --test-manifest "$AUDIODL_DATA/singing/test2/manifest.jsonl" --test "$AUDIODL_DATA/musicnn/test2" \\
        --join-gap 0.5 --out musicnn_test2.json

``MUSICNN_PYTHON`` is the Python of a venv with ``tensorflow-cpu==2.15.1``,
``librosa==0.10.2.post1``, ``numpy==1.26.*``, ``soundfile`` and ``pip install
--no-deps musicnn==0.1.0`` (see recipes/singing/README.md). The ``tag`` side
imports only musicnn (and its TensorFlow, librosa), numpy and the standard
library; it runs musicnn's own ``extractor`` (model ``MTT_musicnn``, 3 s
patches, the length it was trained on, every ``--hop`` seconds; one
TensorFlow thread) and writes one ``.npz`` per file (resumable).

The score of a patch is ``max(voice tags) - max(no-voice tags) `` mapped to
0..1 (``(d + 1) / 2``), with the MagnaTagATune voice tags ``vocal``,
``vocals``, ``voice``, ``male vocal``, ``female vocal`` against ``no vocals``,
``no vocal``, ``no voice`` (MagnaTagATune has no ``instrumental`` tag; the
MSD model's is not used). It is placed at the patch centre and interpolated
linearly to the model's 70 fps grid. The decoder (median length and
threshold) is tuned on the validation files by the shipped model's rule
(:func:`audiodl.training.specs.singing.tune_decoder`: lowest frame error
among decoders whose false-positive rate on the validation hard negatives is
at most ``--max-negative-fp``; ``--max-negative-fp -1``: plain frame error),
on the same validation files (WORLD-sung songs left out), then test is scored
by the groups of ``evaluate.py``. ``--compare NPZ`` adds the threshold-free
frame-wise ROC AUC of another detector's activations (``evaluate.py
--save-activations``) next to musicnn's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time



def _one_thread_env() -> None:
    """One thread everywhere (numpy, numba, TensorFlow), unless set: called by the script before
    any of them is imported, never at import (a test importing this module must not change the
    thread settings of its process: numba refuses a NUMBA_NUM_THREADS change after launch)."""
    for v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(v, "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VOICE_TAGS = ("vocal", "vocals", "voice", "male vocal", "female vocal")
NO_VOICE_TAGS = ("no vocals", "no vocal", "no voice")
FPS = 22050 / 315


def _items(manifest):
    """(id, audio path, item dict) of a manifest's items; paths relative to its folder."""
    base = os.path.dirname(os.path.abspath(manifest))
    out = []
    with open(manifest, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                it = json.loads(line)
                out.append((it["id"], os.path.join(base, it["audio"]), it))
    return out


def tag(args):
    import numpy as np
    import tensorflow as tf

    # one TensorFlow thread: musicnn's extractor makes its own tf.compat.v1.Session()
    _session = tf.compat.v1.Session

    def one_thread_session(*a, **k):
        k.setdefault("config", tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                                        inter_op_parallelism_threads=1))
        return _session(*a, **k)
    tf.compat.v1.Session = one_thread_session

    import musicnn
    from musicnn import configuration as config
    from musicnn.extractor import extractor
    import librosa
    import soundfile as sf
    os.makedirs(args.out, exist_ok=True)
    step = int(librosa.time_to_frames(args.hop, sr=config.SR, n_fft=config.FFT_SIZE,
                                      hop_length=config.FFT_HOP))
    n_in = int(librosa.time_to_frames(args.length, sr=config.SR, n_fft=config.FFT_SIZE,
                                      hop_length=config.FFT_HOP)) + 1
    first = True
    for uid, path, _ in _items(args.manifest):
        dst = os.path.join(args.out, f"{uid}.npz")
        if os.path.exists(dst):
            continue
        t0 = time.perf_counter()
        taggram, tags = extractor(path, model=args.model, input_length=args.length,
                                  input_overlap=args.hop, extract_features=False)
        sec = time.perf_counter() - t0
        dur = sf.info(path).duration
        # musicnn's batch_data: patch i starts at frame i * step (librosa.time_to_frames of the
        # hop), frames centred at k * FFT_HOP / SR; the patch centre in seconds:
        centres = (np.arange(len(taggram)) * step + (n_in - 1) / 2) * config.FFT_HOP / config.SR
        np.savez(dst + ".tmp.npz", taggram=np.asarray(taggram, np.float32), times=centres,
                 tags=np.array(tags), seconds=sec, duration=dur, first_in_process=first)
        first = False
        os.replace(dst + ".tmp.npz", dst)
        print(f"{uid}: {len(taggram)} patches, {dur:.1f} s audio in {sec:.2f} s", flush=True)
    print(f"musicnn {getattr(musicnn, '__version__', '0.1.0')} {args.model}, "
          f"{n_in}-frame patches every {args.hop} s: {args.out}")
    return 0


def _activations(npz_path, duration):
    """musicnn's voice score of one file on the 70 fps grid (Activations)."""
    import numpy as np

    from audiodl.types import Activations
    z = np.load(npz_path)
    tags = [str(t) for t in z["tags"]]
    tg = z["taggram"]
    pos = tg[:, [tags.index(t) for t in VOICE_TAGS]].max(1)
    neg = tg[:, [tags.index(t) for t in NO_VOICE_TAGS]].max(1)
    score = (pos - neg + 1.0) / 2.0
    n = int(round(duration * FPS))
    t = np.arange(n) / FPS
    v = np.interp(t, z["times"], score).astype(np.float32)
    return Activations(values=v[:, None], fps=FPS, labels=("singing",), audio_duration=duration), \
        float(z["seconds"])


def score(args):
    # the recipe's test groups and table printer, loaded by path: other recipes have an
    # ``evaluate`` module too, and a plain import would take whichever came first
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "audiodl_recipe_singing_evaluate",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "evaluate.py"))
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    groups_of, print_tables = ev.groups_of, ev.print_tables

    from audiodl.data.manifest import read_segments
    from audiodl.decoders.smoothing import decode_segments
    from audiodl.evaluation.singing import aggregate, evaluate, join_gaps
    from audiodl.training.specs.singing import tune_decoder

    held_out = {"world"}
    acts, refs, durs, negs = [], [], [], []
    for uid, _, it in _items(args.valid_manifest):
        meta = it.get("meta") or {}
        if meta.get("engine") in held_out or meta.get("voice") in held_out:
            continue  # the same validation files as the shipped model's decoder
        ref = read_segments(os.path.join(os.path.dirname(os.path.abspath(args.valid_manifest)),
                                         it["annotations"]["vocals"]))
        ref = join_gaps(ref, args.join_gap) if args.join_gap else ref
        z = os.path.join(args.valid, f"{uid}.npz")
        import numpy as np
        a, _ = _activations(z, float(np.load(z)["duration"]))
        acts.append(a)
        refs.append(ref)
        durs.append(a.duration)
        negs.append(meta.get("kind") in ("speech", "instrumental", "choir"))
    medians = [float(m) for m in args.medians.split(",")]
    limit = None if args.max_negative_fp < 0 else args.max_negative_fp
    dec, vscores = tune_decoder(acts, refs, durs, medians=medians, negatives=negs,
                                max_negative_fp=limit)
    print(f"decoder tuned on {len(acts)} validation files: {dec}, valid error "
          f"{vscores['error']:.4f}, F1 {vscores['f1']:.4f}")
    per, fine, audio_s, compute_s = {}, {}, 0.0, 0.0
    import numpy as np
    other = np.load(args.compare) if args.compare else None
    truth, mine, theirs = [], [], []
    for uid, _, it in _items(args.test_manifest):
        z = os.path.join(args.test, f"{uid}.npz")
        dur = float(np.load(z)["duration"])
        a, sec = _activations(z, dur)
        if not bool(np.load(z).get("first_in_process", False)):  # librosa/numba warm-up
            audio_s += dur
            compute_s += sec
        est = decode_segments(a, **dec)
        ref = read_segments(os.path.join(os.path.dirname(os.path.abspath(args.test_manifest)),
                                         it["annotations"]["vocals"]))
        res = evaluate(ref, est, duration=dur, join_gap=args.join_gap)
        # threshold-free: frame-wise ROC AUC against the (joined) reference
        y = np.zeros(len(a.values), bool)
        t = np.arange(len(y)) / FPS
        for s0, s1 in join_gaps(ref, args.join_gap).intervals:
            y[(t >= s0) & (t < s1)] = True
        k = len(y) if other is None else min(len(y), len(other[uid]))
        truth.append(y[:k])
        mine.append(a.values[:k, 0])
        if other is not None:
            theirs.append(np.asarray(other[uid])[:k, 0])
        for g in groups_of(it, held_out):
            per.setdefault(g, []).append(res)
            fine.setdefault(g, []).append(evaluate(ref, est, duration=dur))
    table = {g: aggregate(rs) for g, rs in per.items()}
    out = {"peer": "musicnn 0.1.0 MTT_musicnn, 3 s patches; max(" + ", ".join(VOICE_TAGS)
           + ") - max(" + ", ".join(NO_VOICE_TAGS) + ")",
           "decoder": dec, "decoder_rule": (f"max_negative_fp {limit}" if limit is not None
                                            else "frame error"),
           "valid": vscores, "label_join_gap": args.join_gap, "groups": table,
           "groups_fine": {g: aggregate(rs) for g, rs in fine.items()},
           "x_real_time": round(audio_s / compute_s, 1),
           "frame_auc": _auc(truth, mine),
           "frame_auc_compare": _auc(truth, theirs) if theirs else None,
           "speed_note": "musicnn extractor per file (audio loading at 16 kHz, mel, TF graph "
                         "build and restore, patches), one TF thread; the first file of each "
                         "tag process (numba/TF warm-up) left out"}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=float)
    cols = ("error", "precision", "recall", "specificity", "f1", "false_positive_rate")
    print_tables((("joined labels" if args.join_gap else "labels", table),
                  ("labels as written", out["groups_fine"])), cols)
    print(f"musicnn: {out['x_real_time']}x real time (incl. per-file graph set-up); frame-wise "
          f"ROC AUC {out['frame_auc']:.3f}" + (f" ({args.compare}: {out['frame_auc_compare']:.3f})"
                                               if theirs else ""))
    return 0


def _auc(truth, scores) -> float:
    """Frame-wise ROC AUC over all files (ties count half; Mann-Whitney U)."""
    import numpy as np
    from scipy.stats import rankdata
    y = np.concatenate(truth)
    r = rankdata(np.concatenate(scores))
    n1 = int(y.sum())
    n0 = len(y) - n1
    if not n1 or not n0:
        return float("nan")
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tag", help="run musicnn (in its venv) on a manifest's files")
    t.add_argument("--manifest", required=True)
    t.add_argument("--out", required=True, help="folder of one .npz per file")
    t.add_argument("--model", default="MTT_musicnn")
    t.add_argument("--length", type=float, default=3.0, help="patch length [s]")
    t.add_argument("--hop", type=float, default=0.5, help="patch hop [s]")
    s = sub.add_parser("score", help="tune the decoder on validation, score test")
    s.add_argument("--valid-manifest", required=True)
    s.add_argument("--valid", required=True)
    s.add_argument("--test-manifest", required=True)
    s.add_argument("--test", required=True)
    s.add_argument("--join-gap", type=float, default=0.5)
    s.add_argument("--medians", default="0.4,0.8,1.2,1.6")
    s.add_argument("--max-negative-fp", type=float, default=0.05)
    s.add_argument("--compare", default=None,
                   help="another detector's test activations (.npz by item id, e.g. evaluate.py "
                        "--save-activations) for the frame-wise ROC AUC next to musicnn's")
    s.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    return tag(args) if args.cmd == "tag" else score(args)


if __name__ == "__main__":
    _one_thread_env()
    sys.exit(main())
