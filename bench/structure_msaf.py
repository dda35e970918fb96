"""MSAF (Nieto & Bello 2016) as a structure peer on the recipe's test songs.

    # 1. segment with MSAF, in its own venv (never imported into audiodl's):
    $MSAF_PYTHON bench/structure_msaf.py msaf-run --manifest M1 [--manifest M2:test] --out DIR
    # 2. score those segmentations with audiodl's scorer (same as recipes/structure/evaluate.py):
    python bench/structure_msaf.py score --manifest M1 [--manifest M2] --out DIR \
        --json bench/results/structure_msaf.json

``MSAF_PYTHON`` is the Python of a venv with ``msaf==0.1.80`` (it needs
``numpy<2``, ``scipy<1.12``, ``pandas<3``); see recipes/structure/README.md.
Algorithms, with MSAF's default features (``pcp``, beat-synchronous) and
default parameters (MSAF has no validation tuning here): boundaries ``sf``
(structural features), ``foote``, ``scluster`` (spectral clustering, McFee &
Ellis 2014), ``olda``; labels ``fmc2d`` (2-D Fourier magnitude coefficients),
or ``scluster``'s own. The ``msaf-run`` side imports only msaf, numpy and the
standard library (one thread, one song at a time, resumable: one JSON per
song). Scores: mir_eval hit rates at 0.5 s / 3 s with ``trim=True``,
pairwise F and NCE F (:func:`audiodl.evaluation.segment.evaluate`), means
over songs, per manifest (test set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

#: (boundaries_id, labels_id) pairs run
ALGORITHMS = [("sf", "fmc2d"), ("foote", "fmc2d"), ("scluster", "scluster"), ("olda", "fmc2d")]


def _songs(manifest):
    """(id, audio path, sections path) of a manifest's items with sections (``PATH[:SPLIT]``)."""
    manifest, _, split = manifest.partition(":")
    base = os.path.dirname(os.path.abspath(manifest))
    out = []
    with open(manifest, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            it = json.loads(line)
            sec = (it.get("annotations") or {}).get("sections")
            if sec and (not split or it.get("split") == split):
                out.append((it["id"], os.path.join(base, it["audio"]), os.path.join(base, sec)))
    return out


def _set_name(manifest):
    manifest, _, split = manifest.partition(":")
    name = os.path.basename(os.path.dirname(os.path.abspath(manifest)))
    return f"{name}-{split}" if split else name


def msaf_run(args):
    import msaf
    import numpy as np
    os.makedirs(args.out, exist_ok=True)
    for manifest in args.manifest:
        for sid, audio, _ in _songs(manifest):
            dest = os.path.join(args.out, f"{_set_name(manifest)}__{sid}.json")
            if os.path.exists(dest):
                continue
            res = {"audio": audio, "msaf": msaf.__version__, "algorithms": {}}
            cwd = os.getcwd()
            os.chdir(args.out)  # MSAF caches the song's features in ./.features_msaf_tmp.json
            try:
                for b, lab in ALGORITHMS:
                    t0 = time.process_time()
                    times, labels = msaf.process(audio, boundaries_id=b, labels_id=lab, n_jobs=1)
                    res["algorithms"][f"{b}+{lab}"] = {
                        "times": [float(t) for t in np.asarray(times)],
                        "labels": [str(x) for x in np.asarray(labels).tolist()],
                        "cpu_seconds": round(time.process_time() - t0, 2)}
            finally:
                os.chdir(cwd)
            with open(dest + ".tmp", "w") as fh:
                json.dump(res, fh)
            os.replace(dest + ".tmp", dest)
            print(dest, flush=True)


def score(args):
    import numpy as np

    from audiodl.data.manifest import read_segments
    from audiodl.evaluation.segment import evaluate, summarize
    from audiodl.types import Segments
    keys = ("hr0.5_f", "hr3_f", "pairwise_f", "nce_f")
    results = {"trim": True, "features": "pcp (MSAF default)", "sets": {}}
    for manifest in args.manifest:
        name = _set_name(manifest)
        per = {}
        for sid, _, sec in _songs(manifest):
            path = os.path.join(args.out, f"{name}__{sid}.json")
            if not os.path.exists(path):
                raise SystemExit(f"{path}: missing (run msaf-run first)")
            with open(path) as fh:
                res = json.load(fh)
            ref_s = read_segments(sec)
            ref = Segments(intervals=np.array([[a, b] for a, b, _ in ref_s]),
                           labels=[c for *_, c in ref_s])
            for algo, r in res["algorithms"].items():
                t = np.asarray(r["times"], dtype=float)
                est = Segments(intervals=np.stack([t[:-1], t[1:]], axis=1),
                               labels=[str(x) for x in r["labels"]][:len(t) - 1])
                per.setdefault(algo, []).append(evaluate(ref, est, trim=True))
        results["sets"][name] = {
            algo: {k: round(summarize(v)[k], 4) for k in keys} | {"n_songs": len(v)}
            for algo, v in per.items()}
        results["msaf"] = res.get("msaf")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(results, fh, indent=1)
        fh.write("\n")
    for s, algos in results["sets"].items():
        print(f"\n{s}\n| MSAF boundaries+labels | HR.5F | HR3F | pairwise F | NCE F |\n|---|---|---|---|---|")
        for algo, m in algos.items():
            print(f"| {algo} | {m['hr0.5_f']:.3f} | {m['hr3_f']:.3f} | {m['pairwise_f']:.3f} | "
                  f"{m['nce_f']:.3f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("msaf-run", "score"):
        p = sub.add_parser(name)
        p.add_argument("--manifest", action="append", required=True,
                       help="PATH[:SPLIT] (only that split's items; repeatable).")
        p.add_argument("--out", required=True, help="Folder of MSAF's per-song results.")
        if name == "score":
            p.add_argument("--json", default="bench/results/structure_msaf.json")
    args = ap.parse_args(argv)
    (msaf_run if args.cmd == "msaf-run" else score)(args)


if __name__ == "__main__":
    sys.exit(main())
