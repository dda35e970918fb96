"""Files per second of ``audiodl batch`` on a local Ray cluster vs one ``audiodl`` process.

Generates N clips of D seconds (clicks + noise, 22.05 kHz WAV), then runs

* ``audiodl TASK DIR -o OUT`` (one process, one thread: the serial baseline);
* :func:`audiodl.distributed.run_batch` on a local cluster of W workers
  (1 CPU each), reporting the wall time including the cluster start and the
  steady-state rate (first to last result).

Usage::

    python bench/ray_batch.py [--files 48] [--seconds 10] [--workers 2] [--task onsets]

Writes ``bench/results/ray_batch.json`` and prints a markdown row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_files(d, n, seconds, sr=22050):
    from audiodl.io import save
    from audiodl.testing import clicks
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        times = np.sort(rng.uniform(0.1, seconds - 0.2, int(2 * seconds)))
        y = clicks(times, sr=sr, length=seconds) + 0.01 * rng.standard_normal(int(sr * seconds))
        save(os.path.join(d, f"clip{i:04d}.wav"), y.astype(np.float32), sr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--task", default="onsets")
    ap.add_argument("--method", default=None)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "ray_batch.json"))
    args = ap.parse_args(argv)

    from audiodl.distributed import run_batch
    tmp = tempfile.mkdtemp(prefix="audiodl_ray_bench_")
    try:
        src = os.path.join(tmp, "in")
        make_files(src, args.files, args.seconds)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "audiodl.cli.main", args.task, src, "-o",
               os.path.join(tmp, "serial")]
        if args.method:
            cmd[4:4] = ["--method", args.method]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        serial = time.perf_counter() - t

        stamps = []
        rep = run_batch(args.task, [src], os.path.join(tmp, "ray"), method=args.method,
                        num_workers=args.workers, num_cpus=1, batch_size=args.batch_size,
                        on_result=lambda *a: stamps.append(time.perf_counter()))
        assert not rep.failed, rep.failed
        steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
        same = all(open(os.path.join(tmp, "serial", f), "rb").read()
                   == open(os.path.join(tmp, "ray", f), "rb").read()
                   for f in os.listdir(os.path.join(tmp, "serial")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import ray
    res = {"task": args.task, "method": args.method, "files": args.files,
           "seconds_per_file": args.seconds, "workers": args.workers,
           "batch_size": args.batch_size,
           "serial_s": round(serial, 2), "serial_files_per_s": round(args.files / serial, 2),
           "ray_total_s": round(rep.seconds, 2),
           "ray_files_per_s_incl_start": round(rep.files_per_second, 2),
           "ray_files_per_s_steady": round(steady, 2), "outputs_identical": same,
           "ray": ray.__version__, "python": platform.python_version(),
           "cpus": os.cpu_count(), "loadavg_1min": round(os.getloadavg()[0], 2),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))
    print(f"| {args.task} | {args.files} x {args.seconds:g} s | {res['serial_files_per_s']} "
          f"| {args.workers} | {res['ray_files_per_s_incl_start']} | "
          f"{res['ray_files_per_s_steady']} | {res['loadavg_1min']} |")


if __name__ == "__main__":
    main()
