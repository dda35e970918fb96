"""Music/speech benchmarks: detection throughput on one core, CLI latency.

    python bench/musicspeech.py [--minutes 10] [--repeats 5] [--json out.json]

1. Detection throughput (x real time) of the default detector on ONE core
   (torch 1 thread, numba 1 thread): (a) from samples in memory: front end +
   network + decoder; (b) from a FLAC file: + decoding and resampling;
   (c) the stages separately. Best of 3 runs after a warm-up.
2. End-to-end CLI latency: ``audiodl classify FILE`` on one 30 s WAV file
   (22.05 kHz mono), process start to answer, ``--repeats`` fresh processes
   (numba cache warm); also ``audiodl --help`` and ``python -c 'import torch'``
   for scale. Median and min reported.

The audio is real: the bundled example clips tiled to the requested length.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "assets", "examples")


def _signal(seconds, sr=22050):
    import numpy as np

    from audiodl.io.audio import load
    m, _ = load(os.path.join(EX, "music.wav"), sr)
    s, _ = load(os.path.join(EX, "speech.wav"), sr)
    base = np.concatenate([m, s, 0.5 * m[:len(s)] + s])
    reps = int(np.ceil(seconds * sr / len(base)))
    return np.tile(base, reps)[:int(seconds * sr)].astype(np.float32), sr


def throughput(minutes: float) -> dict:
    import soundfile as sf
    import torch

    from audiodl.tasks.musicspeech import MusicSpeechDetector
    torch.set_num_threads(1)
    y, sr = _signal(minutes * 60)
    dur = len(y) / sr
    pipe = MusicSpeechDetector.from_pretrained()
    pipe.decode(pipe.activations(y[:sr * 5], sr))  # warm-up (numba, torch)

    def best(f, n=3):
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return min(ts)

    res = {"model": pipe.card.name, "audio_seconds": round(dur, 1)}
    t_mem = best(lambda: pipe.decode(pipe.activations(y, sr)))
    feats = pipe.features(pipe.load(y, sr))
    t_fe = best(lambda: pipe.features(pipe.load(y, sr)))
    chunks = [feats[i:i + 8192] for i in range(0, len(feats), 8192)]
    t_net = best(lambda: pipe.runner().run(chunks))
    act = pipe.activations(y, sr)
    t_dec = best(lambda: pipe.decode(act), n=5)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "long.flac")
        sf.write(p, y, sr, subtype="PCM_16")
        t_file = best(lambda: pipe.decode(pipe.activations(p)))
    res.update({
        "x_realtime_in_memory": round(dur / t_mem, 1),
        "x_realtime_from_flac": round(dur / t_file, 1),
        "x_realtime_frontend": round(dur / t_fe, 1),
        "x_realtime_network": round(dur / t_net, 1),
        "x_realtime_decoder": round(dur / t_dec, 1),
        "seconds_per_hour_in_memory": round(3600 * t_mem / dur, 2),
    })
    return res


def latency(repeats: int) -> dict:
    import soundfile as sf
    y, sr = _signal(30)
    exe = [sys.executable, "-m", "audiodl.cli.main"]
    out = {}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "clip30.wav")
        sf.write(p, y, sr, subtype="PCM_16")
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        cmds = {"audiodl classify clip30.wav": exe + ["classify", p],
                "audiodl detect clip30.wav": exe + ["detect", p],
                "audiodl --help": exe + ["--help"],
                "python -c 'import torch'": [sys.executable, "-c", "import torch"]}
        for name, cmd in cmds.items():
            subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm caches
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                ts.append(time.perf_counter() - t)
            out[name] = {"median_s": round(statistics.median(ts), 3), "min_s": round(min(ts), 3),
                         "repeats": repeats}
            if name.startswith("audiodl classify"):
                out[name]["answer"] = r.stdout.strip().split("\t", 1)[1]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    res = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
                      "(shared)", "python": platform.python_version()}
    res["throughput_1_core"] = throughput(args.minutes)
    res["cli_latency"] = latency(args.repeats)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
