#!/usr/bin/env python
"""Onset detection benchmark: audiodl's CNN vs madmom's CNNOnsetDetector on one core.

Subcommands
-----------
``throughput FILES...`` (audiodl environment)
    End-to-end time (audio loading, front end, network, peak picking) of
    ``audiodl onsets`` and of madmom 0.16.1 (run in its own venv via
    subprocess, never imported here) on the same files, one thread each;
    reports x real time. Also times SuperFlux and librosa.onset.onset_detect.
``online FILE`` (audiodl environment)
    Feeds a file hop by hop (441 samples) to the causal streaming detector
    and reports the compute time per hop (median, p95, p99, max) next to the
    algorithmic latency.
``madmom-activations --list L --out DIR`` / ``madmom-time --list L`` (madmom venv)
    Helpers executed under ``$MADMOM_PYTHON`` (the Python of a separate venv
    with madmom 0.16.1): they import only madmom and numpy, so this file stays
    Python 3.9 compatible.
``basicpitch-onsets --list L --out DIR`` (basic-pitch venv)
    Executed under ``$BASICPITCH_PYTHON`` (a venv with basic-pitch 0.4.0 installed with
    ``--no-deps`` plus onnxruntime, librosa, mir_eval, pretty_midi, resampy<0.4.3, scipy,
    scikit-learn; no TensorFlow, so it runs the ONNX model that ships in the wheel): the
    network runs once per file, then its note events are decoded at several onset
    thresholds (frame threshold 0.3 and minimum note length 127.7 ms, its defaults), and
    ``DIR/KEY.json`` gets ``{threshold: sorted note start times}`` (onsets = note starts).

Results go to ``bench/results/onsets.json`` and a markdown table on stdout.
Run with ``OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1`` (set here
before any import) so both systems use one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
#: Python of a venv with madmom 0.16.1 (its own Python 3.9 environment); unset: madmom skipped
MADMOM_PY = os.environ.get("MADMOM_PYTHON", "")


# ------------------------------------------------------- madmom side (py3.9)
def _read_list(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                key, _, p = line.partition("\t")
                out.append((key, p) if p else (os.path.basename(key), key))
    return out


def cmd_madmom_activations(args):
    import numpy as np
    from madmom.features.onsets import CNNOnsetProcessor
    proc = CNNOnsetProcessor()
    os.makedirs(args.out, exist_ok=True)
    for key, path in _read_list(args.list):
        act = proc(path)
        np.save(os.path.join(args.out, key + ".npy"), np.asarray(act, dtype=np.float32))


#: onset thresholds at which basic-pitch's notes are decoded (0.5: its default)
BASICPITCH_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def cmd_basicpitch_onsets(args):
    import numpy as np
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import Model, run_inference
    from basic_pitch.note_creation import model_output_to_notes
    if not str(ICASSP_2022_MODEL_PATH).endswith(".onnx"):
        raise SystemExit(f"basic-pitch would run {ICASSP_2022_MODEL_PATH}, not its ONNX model")
    model = Model(ICASSP_2022_MODEL_PATH)
    os.makedirs(args.out, exist_ok=True)
    min_len = int(np.round(127.70 / 1000 * (22050 / 256)))  # predict()'s default, in frames
    for key, path in _read_list(args.list):
        out = run_inference(path, model)
        res = {}
        for thr in BASICPITCH_THRESHOLDS:
            _, notes = model_output_to_notes(out, onset_thresh=thr, frame_thresh=0.3,
                                             min_note_len=min_len)
            res[str(thr)] = sorted(float(n[0]) for n in notes)
        with open(os.path.join(args.out, key + ".json"), "w") as f:
            json.dump(res, f)


def cmd_madmom_time(args):
    import madmom
    from madmom.features.onsets import CNNOnsetProcessor, OnsetPeakPickingProcessor
    from madmom.processors import SequentialProcessor
    t0 = time.perf_counter()
    proc = SequentialProcessor([CNNOnsetProcessor(), OnsetPeakPickingProcessor(
        threshold=0.54, smooth=0.05, pre_max=0.01, post_max=0.01, combine=0.03, fps=100)])
    setup = time.perf_counter() - t0
    files = _read_list(args.list)
    proc(files[0][1])  # warm-up
    times, n_onsets = [], 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        for _, path in files:
            n_onsets += len(proc(path))
        times.append(time.perf_counter() - t)
    json.dump({"seconds": min(times), "setup": setup, "madmom": madmom.__version__,
               "n_onsets": n_onsets // args.repeat}, sys.stdout)


# -------------------------------------------------------- audiodl side
def _durations(files):
    import soundfile as sf
    return sum(sf.info(p).frames / sf.info(p).samplerate for p in files)


def _wav_copies(files, outdir):
    """madmom reads WAV natively (other formats need ffmpeg): give both the same WAVs."""
    import soundfile as sf
    os.makedirs(outdir, exist_ok=True)
    out = []
    for p in files:
        if p.lower().endswith(".wav"):
            out.append(p)
            continue
        q = os.path.join(outdir, os.path.splitext(os.path.basename(p))[0] + ".wav")
        if not os.path.exists(q):
            y, sr = sf.read(p, dtype="int16")
            sf.write(q, y, sr, subtype="PCM_16")
        out.append(q)
    return out


def _time(fn, files, repeat):
    fn(files[0])  # warm-up (JIT, caches)
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = sum(len(fn(p)) for p in files)
        best = min(best, time.perf_counter() - t)
    return best, n


def cmd_throughput(args):
    import subprocess
    import tempfile

    import torch
    torch.set_num_threads(1)
    files = _wav_copies(args.files, os.path.join(tempfile.gettempdir(), "audiodl_bench_wav"))
    dur = _durations(files)
    rows = {}
    t0 = time.perf_counter()
    from audiodl.tasks.onsets import SuperFlux, detector
    cnn = detector("cnn", model=args.model)
    setup = time.perf_counter() - t0
    sec, n = _time(lambda p: cnn(p).times, files, args.repeat)
    rows["audiodl CNN (onsets)"] = {"seconds": sec, "setup": setup, "n_onsets": n}
    sf = SuperFlux()
    sec, n = _time(lambda p: sf(p).times, files, args.repeat)
    rows["audiodl SuperFlux"] = {"seconds": sec, "n_onsets": n}

    def lib(p):
        import librosa
        y, sr = librosa.load(p, sr=22050)
        return librosa.onset.onset_detect(y=y, sr=sr, units="time")
    sec, n = _time(lib, files, args.repeat)
    rows["librosa.onset.onset_detect"] = {"seconds": sec, "n_onsets": n}
    if MADMOM_PY and os.path.exists(MADMOM_PY):
        lst = os.path.join(tempfile.gettempdir(), "audiodl_bench_madmom.txt")
        with open(lst, "w") as f:
            f.write("\n".join(files) + "\n")
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1")
        p = subprocess.run([MADMOM_PY, os.path.abspath(__file__), "madmom-time", "--list", lst,
                            "--repeat", str(args.repeat)], capture_output=True, text=True,
                           env=env, check=True)
        r = json.loads(p.stdout)
        rows[f"madmom {r['madmom']} CNNOnsetProcessor + peak picking"] = r
    else:
        print(f"madmom venv {MADMOM_PY or '(MADMOM_PYTHON unset)'} missing: skipped",
              file=sys.stderr)
    for r in rows.values():
        r["x_realtime"] = dur / r["seconds"]
    mm = [r for k, r in rows.items() if k.startswith("madmom")]
    speedup = rows["audiodl CNN (onsets)"]["x_realtime"] / mm[0]["x_realtime"] if mm else None
    res = {"files": len(files), "audio_seconds": dur, "threads": 1, "repeat": args.repeat,
           "rows": rows, "speedup_cnn_vs_madmom": speedup, "machine": _machine()}
    _write("throughput", res)
    print(f"{len(files)} files, {dur / 60:.1f} min of audio, 1 thread, best of {args.repeat}\n")
    print("| system | seconds | x real time |\n|---|---|---|")
    for k, r in rows.items():
        print(f"| {k} | {r['seconds']:.2f} | {r['x_realtime']:.0f} |")
    if speedup:
        print(f"\naudiodl CNN vs madmom CNN: {speedup:.1f}x faster")


def cmd_online(args):
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from audiodl.io.audio import load
    from audiodl.tasks.onsets import SuperFlux, detector
    y, _ = load(args.file, 44100)
    y = y[: int(args.seconds * 44100)]
    res = {}
    for name, det in (("cnn", detector("cnn", model=args.model)), ("superflux", SuperFlux())):
        online = det.online()
        for i in range(0, 44100, 441):  # warm-up second
            online.process(y[i:i + 441])
        online.reset()
        per_hop = []
        for i in range(0, len(y) - 441 + 1, 441):
            t = time.perf_counter()
            online.process(y[i:i + 441])
            per_hop.append(time.perf_counter() - t)
        a = np.array(per_hop) * 1000
        res[name] = {"algorithmic_latency_ms": online.latency * 1000, "hops": len(a),
                     "median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
                     "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max()),
                     "hop_ms": 10.0}
    _write("online", res)
    print("| method | algorithmic latency | compute per 10 ms hop: median | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for k, r in res.items():
        print(f"| {k} | {r['algorithmic_latency_ms']:.1f} ms | {r['median_ms']:.2f} ms | "
              f"{r['p95_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['max_ms']:.2f} ms |")


def _machine():
    import platform
    return {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None}


def _write(kind, res):
    d = os.path.join(HERE, "results")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "onsets.json")
    data = {}
    if os.path.exists(p):
        with open(p) as f:
            data = json.load(f)
    data[kind] = res
    with open(p, "w") as f:
        json.dump(data, f, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default=None)
    p.add_argument("--repeat", type=int, default=2)
    p = sub.add_parser("online")
    p.add_argument("file")
    p.add_argument("--model", default=None)
    p.add_argument("--seconds", type=float, default=30.0)
    p = sub.add_parser("madmom-activations")
    p.add_argument("--list", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("basicpitch-onsets")
    p.add_argument("--list", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("madmom-time")
    p.add_argument("--list", required=True)
    p.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    {"throughput": cmd_throughput, "online": cmd_online,
     "madmom-activations": cmd_madmom_activations, "madmom-time": cmd_madmom_time,
     "basicpitch-onsets": cmd_basicpitch_onsets}[args.cmd](args)


if __name__ == "__main__":
    main()
