"""Throughput of every shipped model: ONNX Runtime next to torch, one thread, from memory.

For each registry entry, the model's features of a 30 s clip (music then speech,
the file of ``bench/cli.py``) are computed once; then the shared runner
(:class:`audiodl.runtime.runner.ContextRunner`, as the task commands use it)
runs them through the ONNX Runtime backend and the torch backend in turn
(interleaved, ``--repeat`` rounds after one warm-up). ``classify`` is also
timed end to end from audio in memory (front end + model + decision).

One thread everywhere: ONNX Runtime ``intra_op_num_threads=1``,
``torch.set_num_threads(1)``, ``OMP/MKL/OPENBLAS_NUM_THREADS=1``. The figure is
the process CPU time (min over rounds), which on a shared machine measures
the work better than wall time; wall-clock minima are stored too.

    python bench/onnx.py        # bench/results/onnx.json + markdown table
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ["AUDIODL_THREADS"] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
MARK_BEGIN = "<!-- bench/onnx.py begin -->"
MARK_END = "<!-- bench/onnx.py end -->"


def _timed(fn, repeat):
    fn()  # warm-up
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return min(cpu), min(wall)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "onnx.json"))
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, HERE)
    from cli import make_wav

    from audiodl import Pipeline, pretrained
    from audiodl.io.audio import load_signal

    wav = make_wav(os.path.join(tempfile.mkdtemp(prefix="audiodl_bench_onnx_"), "mix30.wav"))
    dur = 30.0
    rows = {}
    for name in pretrained.list_models():
        pipes = {b: Pipeline.from_pretrained(name, backend=b) for b in ("onnx", "torch")}
        p0 = pipes["onnx"]
        feats = p0.features(p0.load(wav))
        ref = None
        row = {"task": pretrained.card(name).task, "layout": pretrained.card(name).layout}
        for b, p in pipes.items():
            out = p.activation_values([feats])
            ref = out if ref is None else ref
            row[f"{b}_max_abs_diff"] = float(np.abs(out - ref).max())
        res = {b: [] for b in pipes}
        for _ in range(args.repeat):  # interleaved rounds: each backend once per round
            for b, p in pipes.items():
                res[b].append(_timed(lambda p=p, f=feats: p.activation_values([f]), 1))
        for b in pipes:
            cpu, wall = min(c for c, _ in res[b]), min(w for _, w in res[b])
            row[b] = {"cpu_s": cpu, "wall_s": wall, "x_realtime_cpu": dur / cpu,
                      "x_realtime_wall": dur / wall}
        rows[name] = row
        print(f"{name}: onnx {row['onnx']['x_realtime_cpu']:.0f}x, torch "
              f"{row['torch']['x_realtime_cpu']:.0f}x real time (CPU)", file=sys.stderr)

    # classify end to end from audio in memory (front end + model + decision)
    from audiodl.tasks.musicspeech import MusicSpeechClassifier
    y = load_signal(wav, 22050)
    e2e = {}
    for b in ("onnx", "numpy", "torch"):
        try:
            clf = MusicSpeechClassifier.from_pretrained(backend=b)
        except Exception as exc:  # a backend missing here
            print(f"classify {b}: {exc}", file=sys.stderr)
            continue
        cpu, wall = _timed(lambda clf=clf: clf(y.y, y.sr), args.repeat)
        e2e[b] = {"cpu_s": cpu, "wall_s": wall, "x_realtime_cpu": dur / cpu,
                  "x_realtime_wall": dur / wall}

    import onnxruntime
    doc = {"info": {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__,
                    "numpy": np.__version__, "threads": 1, "repeat": args.repeat,
                    "load_avg": os.getloadavg()[0],
                    "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())},
           "models": rows, "classify_end_to_end": e2e}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)

    md = ["| model | layout | ONNX Runtime [x real time] | torch [x real time] | "
          "ONNX / torch | max abs diff |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        o, t = r["onnx"]["x_realtime_cpu"], r["torch"]["x_realtime_cpu"]
        md.append(f"| {name} | {r['layout']} | {o:,.0f} | {t:,.0f} | {o / t:.1f} | "
                  f"{r['torch_max_abs_diff']:.1g} |")
    md.append("")
    md.append("`audiodl classify` end to end from audio in memory (front end + model + "
              "decision), one thread:")
    md.append("")
    md.append("| backend | x real time (CPU) | x real time (wall) |")
    md.append("|---|---|---|")
    for b, r in e2e.items():
        md.append(f"| {b} | {r['x_realtime_cpu']:,.0f} | {r['x_realtime_wall']:,.0f} |")
    table = "\n".join(md)
    print(table)
    if not args.no_readme:
        from readme_block import write_block
        write_block(MARK_BEGIN, MARK_END,
                    f"{table}\n\nRecorded {doc['info']['date_utc']} UTC, {args.repeat} "
                    "interleaved rounds, min CPU time; load average "
                    f"{doc['info']['load_avg']:.1f} at the end.")

if __name__ == "__main__":
    main()
