"""The singing network alone: ONNX Runtime optimisation level x chunk length, and a per-node profile.

Usage::

    python recipes/singing/net_speed.py --audio SONG.flac [--minutes 10] [--model singing_cnn] \\
        [--levels all,extended,basic] [--chunks 1500,3000,6000] [--repeat 2] [--profile]

Computes the features of ``--audio`` once, tiles them to ``--minutes``
minutes, then times the chunked runner alone (no front end, no decoder) on
one ONNX Runtime thread for the 8-bit graph (``onnx-int8``) and the float
graph (``onnx``), for each graph optimisation level and chunk length, and
prints the x real time of the network and the largest difference of the
probabilities from the first setting (outputs must not depend on the chunk
length). ``--profile`` adds ONNX Runtime's per-node profile of both graphs
(default level) on one 1500-frame chunk with its context, 20 runs:
the share of each operator type and the 12 costliest nodes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--audio", required=True)
    ap.add_argument("--model", default="singing_cnn")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--levels", default="all,extended,basic")
    ap.add_argument("--chunks", default="1500,3000,6000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    os.environ["AUDIODL_THREADS"] = "1"

    import numpy as np
    import onnxruntime as ort

    from audiodl.tasks.singing import SingingDetector
    levels = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC}
    pipe = SingingDetector.from_pretrained(args.model, backend="onnx-int8")
    x = np.concatenate(list(pipe.feature_chunks(args.audio)))
    n = int(args.minutes * 60 * pipe.fps)
    x = np.ascontiguousarray(np.tile(x, (n // len(x) + 1, 1))[:n])
    print(f"{n} frames ({args.minutes} min)")
    for b in ("onnx-int8", "onnx"):
        pipe = SingingDetector.from_pretrained(args.model, backend=b)
        be, ref = pipe.backend, None
        for rep in range(args.repeat):
            for lv in args.levels.split(","):
                o = ort.SessionOptions()
                o.intra_op_num_threads = o.inter_op_num_threads = 1
                o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                o.graph_optimization_level = levels[lv]
                be.session = ort.InferenceSession(str(be.path), o,
                                                  providers=["CPUExecutionProvider"])
                for ck in (int(c) for c in args.chunks.split(",")):
                    pipe.chunk_frames = ck
                    t0 = time.perf_counter()
                    v = pipe.activation_values(iter([x]))
                    dt = time.perf_counter() - t0
                    ref = v if ref is None else ref
                    print(f"{b:9s} rep{rep} {lv:8s} chunk {ck:5d}: {dt:5.2f} s "
                          f"{args.minutes * 60 / dt:6.1f}x  maxdiff "
                          f"{float(np.abs(v - ref).max()):.2e}", flush=True)
    if not args.profile:
        return 0
    graphs = [SingingDetector.from_pretrained(args.model, backend=b).backend.path
              for b in ("onnx-int8", "onnx")]
    with tempfile.TemporaryDirectory(prefix="svd-prof-") as tmp:
        for path in graphs:
            name = os.path.basename(path)
            o = ort.SessionOptions()
            o.intra_op_num_threads = o.inter_op_num_threads = 1
            o.enable_profiling = True
            o.profile_file_prefix = os.path.join(tmp, name)
            s = ort.InferenceSession(str(path), o,
                                     providers=["CPUExecutionProvider"])
            inp = s.get_inputs()[0].name
            for _ in range(20):
                s.run(None, {inp: x[None, :1616]})
            with open(s.end_profiling()) as fh:
                events = json.load(fh)
            per_node, kind = collections.Counter(), {}
            for e in events:
                if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                    per_node[e["name"][:-len("_kernel_time")]] += e["dur"]
                    kind[e["name"][:-len("_kernel_time")]] = e["args"].get("op_name")
            total = sum(per_node.values())
            print(f"== {name}: {total / 20 / 1000:.1f} ms of nodes per run")
            per_op = collections.Counter()
            for k, v in per_node.items():
                per_op[kind[k]] += v
            for k, v in per_op.most_common():
                print(f"  {k:24s} {100 * v / total:5.1f} %")
            for k, v in per_node.most_common(12):
                print(f"  {k[:50]:50s} {kind[k]:16s} {100 * v / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
