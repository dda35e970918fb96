#!/usr/bin/env python
"""What a bag costs at inference: size on disk, cold start, peak RSS, speed on one thread.

    python recipes/onsets/bag_cost.py --card single=RUN_A/onsets_cnn.json \
        --card bag2=RUN_BAG/onsets_cnn.json [--repeat 5] [--seconds 300]

Per card (its ONNX graph is exported next to it first when missing, as ``audiodl export``
does, so every card runs on the default backend, ONNX Runtime, as a shipped model would):

* size: the card's weights + ONNX graph [MB, 2^20 bytes];
* cold start: ``audiodl onsets --model CARD`` as a fresh process on a 30 s mono 44.1 kHz WAV
  (``bench/cli.py``'s file), wall time and peak RSS (``ru_maxrss`` from ``os.wait4``);
  every round runs every card once, in turn (one warm-up round not counted), medians of
  ``--repeat`` rounds; children get one thread (``OMP/MKL/OPENBLAS_NUM_THREADS``,
  ``AUDIODL_THREADS``);
* speed on one thread, in this process, after a warm-up call, on ``--seconds`` of the same
  audio: the network alone (the backend on the file's features) and the whole
  ``OnsetPipeline.activations`` (front end + network); x real time = audio seconds / wall
  seconds, the median of 3 calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def ensure_onnx(card_path: str) -> Path:
    """The card's ONNX graph next to it (exported and recorded when missing; run in a child
    process, so that this one has not imported torch when it starts the cold-start runs)."""
    from audiodl import pretrained
    from audiodl.pretrained import onnx as ox
    card, wdir = pretrained.resolve(card_path)
    path = Path(wdir) / ox.onnx_file(card)
    if not path.exists() or ox.onnx_file(card) not in ox.read_sums(wdir):
        path = ox.export(card_path)
        ox.check_export(card_path, path)
    return Path(path)


def size_mb(card_path: str) -> float:
    from audiodl import pretrained
    card, wdir = pretrained.resolve(card_path)
    files = [Path(wdir) / card.weights, ensure_onnx(card_path)]
    return sum(f.stat().st_size for f in files) / 2**20


def _median_time(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def speed(card_path: str, y, sr: int) -> tuple:
    """``(x real time of the network, of the pipeline, backend name)`` on ``y``, one thread.

    Network: the backend on the whole file's features (context padded as the runner pads);
    pipeline: ``OnsetPipeline.activations`` (front end, runner, network).
    """
    import numpy as np

    from audiodl.features.frontend import spectrogram
    from audiodl.tasks.onsets import OnsetPipeline
    pipe = OnsetPipeline.from_pretrained(card_path)  # ONNX Runtime: AUDIODL_THREADS=1
    pipe.activations(y[: 10 * sr], sr)  # warm-up (kernels, graph)
    past, fut = pipe.backend.past_frames, pipe.backend.future_frames
    x = np.pad(spectrogram(y, pipe.card.frontend, sr=sr), ((0, 0), (past, fut), (0, 0)),
               mode="edge")[None]
    seconds = len(y) / sr
    return (seconds / _median_time(lambda: pipe.backend(x)),
            seconds / _median_time(lambda: pipe.activations(y, sr)), pipe.backend.name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", action="append", default=[], metavar="LABEL=CARD.json")
    ap.add_argument("--repeat", type=int, default=5, help="measured cold-start rounds")
    ap.add_argument("--seconds", type=float, default=300.0, help="audio for the speed test")
    ap.add_argument("--export-only", metavar="CARD", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.export_only:
        ensure_onnx(args.export_only)
        return
    if not args.card:
        ap.error("give at least one --card LABEL=CARD.json")
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "AUDIODL_THREADS"):
        os.environ[k] = "1"
    import importlib.util

    import numpy as np
    import soundfile as sf

    # bench/cli.py by path: bench/ also holds modules named like packages (onnx.py)
    spec = importlib.util.spec_from_file_location("bench_cli", ROOT / "bench" / "cli.py")
    bench_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_cli)
    cards = dict(spec.split("=", 1) for spec in args.card)
    for path in cards.values():  # export in a child: torch stays out of this process
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--export-only", path],
                       check=True)
    sizes = {label: size_mb(path) for label, path in cards.items()}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    with tempfile.TemporaryDirectory() as tmp:
        wav = bench_cli.make_wav(os.path.join(tmp, "cold.wav"))
        runs = {label: [] for label in cards}
        for r in range(args.repeat + 1):
            for label, path in cards.items():
                m = bench_cli.run_measured([sys.executable, "-m", "audiodl.cli.main", "onsets",
                                            "--model", path, wav], env)
                if m["rc"] != 0:
                    raise SystemExit(f"{label}: audiodl onsets failed:\n{m['err']}")
                if r:
                    runs[label].append(m)
        y, sr = sf.read(wav, dtype="float32")
    y = np.tile(y, -(-int(args.seconds * sr) // len(y)))[: int(args.seconds * sr)]
    print(f"cold start: `audiodl onsets --model CARD` on a 30 s WAV, medians of {args.repeat} "
          f"interleaved rounds; speed: pipeline activations on {args.seconds:g} s, one thread\n")
    print("| model | size [MB] | cold start wall [s] | CPU [s] | peak RSS [MB] "
          "| x real time, network (backend) | x real time, pipeline |")
    print("|---|---|---|---|---|---|---|")
    for label, path in cards.items():
        med = {k: statistics.median(m[k] for m in runs[label]) for k in ("wall", "cpu", "rss_mb")}
        net, whole, backend = speed(path, y, sr)
        print(f"| {label} | {sizes[label]:.2f} | {med['wall']:.2f} | {med['cpu']:.2f} "
              f"| {med['rss_mb']:.0f} | {net:.0f}x ({backend}) | {whole:.0f}x |")


if __name__ == "__main__":
    main()
