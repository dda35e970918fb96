"""Cold start of the task commands next to madmom's ``CNNOnsetDetector single``.

Every command runs as a fresh process on the same 30 s mono 44.1 kHz WAV
(music then speech, made from ``assets/examples``), in ONE interleaved run:
each round runs every contender once, in turn, so that machine load hits all
of them alike. Per run: wall time (``time.perf_counter`` around the child),
CPU time (user + system) and peak resident memory (``ru_maxrss`` of that child
from ``os.wait4``). One warm-up round (byte-code compilation, disk cache) is
not counted; the table gives medians of ``--repeat`` rounds and ratios to
madmom.

madmom 0.16.1 runs from its own Python 3.9 venv::

    python3.9 -m venv "$MADMOM_VENV"    # any Python 3.9, e.g. pyenv's 3.9.18
    "$MADMOM_VENV"/bin/pip install 'numpy<1.24' 'cython<3' 'scipy<1.11' mido
    "$MADMOM_VENV"/bin/pip install --no-build-isolation madmom==0.16.1
    MADMOM_PYTHON="$MADMOM_VENV/bin/python" python bench/cli.py

All children get ``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1``
(and audiodl's ONNX Runtime its default of one thread). Results go to
``bench/results/cli.json``; the markdown table is printed and written into the
marked section of ``bench/README.md``.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARK_BEGIN = "<!-- bench/cli.py begin -->"
MARK_END = "<!-- bench/cli.py end -->"


def make_wav(path: str, seconds: float = 30.0, sr: int = 44100) -> str:
    """music.wav (20 s) then speech.wav, at ``sr``, mono PCM16, ``seconds`` long."""
    import numpy as np
    import soundfile as sf
    import soxr
    parts = []
    for name in ("music", "speech"):
        y, r = sf.read(os.path.join(ROOT, "assets", "examples", f"{name}.wav"),
                       dtype="float32", always_2d=True)
        parts.append(soxr.resample(y.mean(axis=1), r, sr).astype(np.float32))
    y = np.concatenate(parts)
    n = int(seconds * sr)
    y = np.tile(y, -(-n // len(y)))[:n]
    sf.write(path, y, sr, subtype="PCM_16")
    return path


def contenders(wav: str, madmom_python: str, with_torch: bool) -> dict:
    py = [sys.executable, "-m", "audiodl.cli.main"]
    out = {
        "audiodl classify": py + ["classify", wav],
        "audiodl detect": py + ["detect", wav],
        "audiodl onsets": py + ["onsets", wav],
        "audiodl segment": py + ["segment", wav],
        "audiodl index codes": py + ["index", "codes", wav],
        "audiodl transcribe": py + ["transcribe", wav],
    }
    from audiodl import pretrained
    if any(pretrained.card(n).task == "singing" for n in pretrained.list_models()):
        out["audiodl singing"] = py + ["singing", wav]
    if with_torch:
        out["audiodl onsets --backend torch"] = py + ["onsets", "--backend", "torch", wav]
    if madmom_python:
        exe = os.path.join(os.path.dirname(madmom_python), "CNNOnsetDetector")
        out["madmom CNNOnsetDetector single"] = [madmom_python, exe, "single", wav]
    return out


def run_measured(cmd, env) -> dict:
    """Wall, CPU time and peak RSS of one child (``os.wait4``)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # read the pipes in threads so that a chatty child never blocks
    import threading
    bufs = {"out": b"", "err": b""}

    def drain(name, f):
        bufs[name] = f.read()
    th = [threading.Thread(target=drain, args=("out", p.stdout)),
          threading.Thread(target=drain, args=("err", p.stderr))]
    for x in th:
        x.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    for x in th:
        x.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "rc": p.returncode, "out": bufs["out"].decode(errors="replace"),
            "err": bufs["err"].decode(errors="replace")}


def table(res: dict, ref: str) -> str:
    rows = ["| command | wall [s] | CPU [s] | peak RSS [MB] | wall / madmom | CPU / madmom "
            "| RSS / madmom |", "|---|---|---|---|---|---|---|"]
    r0 = res.get(ref)
    for name, r in res.items():
        cells = [f"`{name}`", f"{r['wall']:.2f}", f"{r['cpu']:.2f}", f"{r['rss_mb']:.0f}"]
        if r0:
            cells += [f"{r['wall'] / r0['wall']:.2f}", f"{r['cpu'] / r0['cpu']:.2f}",
                      f"{r['rss_mb'] / r0['rss_mb']:.2f}"]
        else:
            cells += ["", "", ""]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-torch", action="store_true",
                    help="Skip the 'onsets --backend torch' row.")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "cli.json"))
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args(argv)

    madmom_py = os.environ.get("MADMOM_PYTHON", "")
    if madmom_py and not os.path.exists(madmom_py):
        print(f"MADMOM_PYTHON={madmom_py} missing: madmom skipped", file=sys.stderr)
        madmom_py = ""
    tmp = tempfile.mkdtemp(prefix="audiodl_bench_cli_")
    wav = make_wav(os.path.join(tmp, "mix30.wav"))
    cmds = contenders(wav, madmom_py, not args.no_torch)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    env.setdefault("PYTHONPATH", ROOT)
    raw = {k: [] for k in cmds}
    load = [os.getloadavg()[0]]
    for rnd in range(args.repeat + 1):
        for name, cmd in cmds.items():
            r = run_measured(cmd, env)
            if r["rc"] != 0:
                raise SystemExit(f"{name} failed ({r['rc']}): {r['err'][-2000:]}")
            if rnd:  # round 0: warm-up
                raw[name].append({k: r[k] for k in ("wall", "cpu", "rss_mb")})
        load.append(os.getloadavg()[0])
        print(f"round {rnd}/{args.repeat} done (load {load[-1]:.1f})", file=sys.stderr)
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("wall", "cpu", "rss_mb")}
           for k, v in raw.items()}
    ref = "madmom CNNOnsetDetector single"
    import numpy
    info = {"python": platform.python_version(), "numpy": numpy.__version__,
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "load_avg_during": [round(x, 1) for x in load],
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "repeat": args.repeat, "file": "30 s mono 44.1 kHz PCM16 WAV (bench/cli.py)"}
    try:
        import onnxruntime
        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    doc = {"info": info, "commands": {k: " ".join(os.path.basename(c) if i < 2 else c
                                                  for i, c in enumerate(v))
                                      for k, v in cmds.items()},
           "median": med, "runs": raw}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    md = table(med, ref)
    print(md)
    if not args.no_readme:
        from readme_block import write_block
        write_block(MARK_BEGIN, MARK_END,
                    f"{md}\n\nRecorded {info['date_utc']} UTC, medians of {args.repeat} "
                    f"interleaved rounds, load average {min(load):.1f}-{max(load):.1f} "
                    "during the run.")

if __name__ == "__main__":
    main()
