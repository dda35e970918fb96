"""Speed and memory of ``audiodl segment`` on one core.

    OMP_NUM_THREADS=1 python recipes/structure/speed.py SONG.flac --model structure_cnn

Prints CPU seconds (``time.process_time``, one torch thread) for a 4-minute
excerpt built by tiling SONG (load + front end + network + decoding, model
already loaded; best of 3), and the peak resident memory of a separate
``audiodl segment`` process on a 1-hour file built the same way (streamed
from disk in 120 s chunks), measured by GNU time (``/usr/bin/time -f %M``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def tiled(src, seconds, dest):
    y, sr = sf.read(src, dtype="float32", always_2d=False)
    if y.ndim == 2:
        y = y.mean(axis=1)
    n = int(seconds * sr)
    sf.write(dest, np.resize(y, n), sr, subtype="PCM_16")
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("song")
    ap.add_argument("--model", default=None)
    ap.add_argument("--methods", default="cnn,foote,sf")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from audiodl.tasks.structure import segmenter
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        four = tiled(args.song, 240.0, str(Path(tmp) / "four_minutes.wav"))
        for m in args.methods.split(","):
            pipe = segmenter(m, model=args.model if m == "cnn" else None)
            pipe(four)  # warm-up (numba kernels, torch)
            best = np.inf
            for _ in range(3):
                t = time.process_time()
                pipe(four)
                best = min(best, time.process_time() - t)
            out[f"{m}_cpu_seconds_4min"] = round(best, 3)
        hour = tiled(args.song, 3600.0, str(Path(tmp) / "one_hour.wav"))
        for m in ("cnn", "foote"):
            args_ = ["segment", "--method", m, hour] + \
                (["-m", args.model] if m == "cnn" and args.model else [])
            t = time.perf_counter()
            # GNU time: the child's own peak (getrusage in a forked child would report the
            # parent's high-water mark, which Linux keeps across exec)
            proc = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb %M", sys.executable,
                                   "-m", "audiodl.cli.main", *args_], capture_output=True,
                                  text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            wall = time.perf_counter() - t
            if proc.returncode:
                raise SystemExit(proc.stderr)
            peak_kb = int(proc.stderr.strip().splitlines()[-1].split()[-1])
            out[f"{m}_1h_peak_rss_mb"] = round(peak_kb / 1024, 1)
            out[f"{m}_1h_wall_seconds"] = round(wall, 1)
            out[f"{m}_1h_segments"] = len(proc.stdout.strip().splitlines())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
