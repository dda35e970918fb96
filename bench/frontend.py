"""Front-end speed: audiodl (fused numba) vs librosa, torchaudio (CPU), scipy, FFT alone.

One interleaved run: every repeat times each contender once, in turn, so
background load hits all of them alike; we report the minimum and the median
over repeats. Workloads, for each config and thread count:

(a) one clip of ``--seconds`` s; (b) ``--clips`` clips of ``--seconds`` s;
(c) streaming, hop-sized blocks (and blocks of 8 hops) through
:class:`~audiodl.features.streaming.StreamingFrontend`.

Threads: numba's ``set_num_threads`` for audiodl and the FFT-alone kernel,
``torch.set_num_threads`` for torchaudio, a thread pool of that many workers
over the clips for librosa and scipy (numpy/scipy FFTs release the GIL; this
is the fair multi-threaded peer for them). The FFT-alone reference times
only real FFTs (DUCC0 via rocket-fft inside numba, blocks of 32 frames, same
threads; and ``scipy.fft.rfft``) of as many precomputed, cache-resident
windowed frames as ``--fft-clips`` clips hold, scaled per frame to the batch.

Usage::

    python bench/frontend.py                      # full run (~3-4 min on 2 cores)
    python bench/frontend.py --clips 8 --repeats 2 --seconds 10   # smoke run

Writes ``bench/results/frontend.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIGS = {
    "22k_2048_512_128mel_db": dict(sr=22050, n_fft=2048, hop_length=512, n_mels=128, log="db"),
    "16k_1024_160_64mel_log1p": dict(sr=16000, n_fft=1024, hop_length=160, n_mels=64,
                                     log="log1p"),
}


# ----------------------------------------------------------------- contenders
def make_contenders(cfg, Y, threads):
    """name -> (batch_fn(), single_fn()) closures for this config and thread count."""
    import librosa
    import scipy.fft
    import torch
    import torchaudio

    from audiodl.features import FrontendConfig, spectrogram
    from audiodl.features.filterbanks import filterbank_for
    from audiodl.features.reference import window

    fc = FrontendConfig(sr=cfg["sr"], n_fft=cfg["n_fft"], hop_length=cfg["hop_length"],
                        n_mels=cfg["n_mels"], log=cfg["log"])
    sr, n_fft, hop, n_mels = fc.sr, fc.n_fft, fc.hop_length, fc.n_mels
    db = cfg["log"] == "db"
    y1 = Y[0]
    pool = cf.ThreadPoolExecutor(threads) if threads > 1 else None

    def pmap(fn, clips):
        return list(pool.map(fn, clips)) if pool else [fn(c) for c in clips]

    # audiodl
    def ours_batch():
        return spectrogram(Y, fc)

    def ours_single():
        return spectrogram(y1, fc)

    # librosa
    def lib_one(y):
        S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop,
                                           n_mels=n_mels, center=True, pad_mode="constant")
        return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None) if db else np.log1p(S)

    # torchaudio (slaney mel + slaney norm + constant padding = librosa's settings)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=0.0,
        f_max=sr / 2, power=2.0, center=True, pad_mode="constant", norm="slaney",
        mel_scale="slaney")
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)
    Yt = torch.from_numpy(Y)

    def ta_one(yt):
        with torch.inference_mode():
            S = mel(yt)
            return to_db(S) if db else torch.log1p(S)

    def ta_batch():
        torch.set_num_threads(threads)
        return [ta_one(Yt[i]) for i in range(len(Yt))]

    def ta_single():
        torch.set_num_threads(threads)
        return ta_one(Yt[0])

    # scipy baseline: strided frames, rfft, dense mel matmul
    win = window("hann", n_fft, n_fft).astype(np.float32)
    fb_t = np.ascontiguousarray(filterbank_for(fc, n_fft).T)  # (n_bins, n_mels) float32

    def sp_one(y, workers=1):
        yp = np.pad(y, (n_fft // 2, n_fft // 2))
        fr = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop]
        spec = scipy.fft.rfft(fr * win, axis=1, workers=workers)
        p = spec.real ** 2 + spec.imag ** 2
        m = p @ fb_t
        return 10 * np.log10(np.maximum(m, 1e-10)) if db else np.log1p(m)

    return {
        "audiodl": (ours_batch, ours_single),
        "librosa": (lambda: pmap(lib_one, Y), lambda: lib_one(y1)),
        "torchaudio": (ta_batch, ta_single),
        "scipy": (lambda: pmap(sp_one, Y), lambda: sp_one(y1, workers=threads)),
    }, pool


def fft_alone(cfg, Y, n_clips, threads):
    """FFT-only timers: the real FFTs of ``n_clips`` clips' windowed frames.

    The frames are precomputed and kept cache-resident (a working set of 64
    frames per thread, transformed over and over), so this is the pure FFT
    compute the fused kernel cannot go below, not a memory-bound copy loop.
    """
    import numba
    import scipy.fft

    from audiodl.features.reference import window

    n_fft, hop = cfg["n_fft"], cfg["hop_length"]
    win = window("hann", n_fft, n_fft).astype(np.float32)
    yp = np.pad(Y[0], (n_fft // 2, n_fft // 2))
    work = np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop][:64 * threads] * win,
        dtype=np.float32)
    n_frames_total = n_clips * ((len(Y[0]) // hop) + 1)
    kernel = _fft_blocks_kernel()
    kernel(work, 64, 32, 1)

    def rocket():
        kernel(work, n_frames_total, 32, numba.get_num_threads())

    reps = max(1, n_frames_total // len(work))

    def scipy_rfft():
        for _ in range(reps):
            scipy.fft.rfft(work, axis=1, workers=threads)

    return {"fft_rocket": rocket, "fft_scipy": scipy_rfft}, n_frames_total


def _fft_blocks_kernel():
    import numba
    from numba import prange
    from rocket_fft.lowlevel import r2c

    @numba.njit(parallel=True, cache=True)
    def fft_blocks(work, n_total, block, n_threads):
        """``n_total`` real FFTs in blocks of ``block`` rows, cycling over ``work``
        (each thread its own 64-frame slice when there are enough rows)."""
        rows, n_fft = work.shape
        n_blocks = (n_total + block - 1) // block
        axes = np.ones(1, np.int64)
        per = max(block, rows // n_threads)
        for w in prange(n_threads):
            out = np.empty((block, n_fft // 2 + 1), np.complex64)
            base = min(w * per, rows - block)
            span = max(per // block, 1)
            for j in range(n_blocks * w // n_threads, n_blocks * (w + 1) // n_threads):
                lo = base + (j % span) * block
                r2c(work[lo:lo + block], out, axes, True, 1.0, 1)
    return fft_blocks


def stream_timers(cfg, seconds):
    """Streaming: hop-sized blocks and 8-hop blocks; a naive numpy per-hop loop as peer."""
    from audiodl.features import FrontendConfig
    from audiodl.features.filterbanks import filterbank_for
    from audiodl.features.reference import window
    from audiodl.features.streaming import StreamingFrontend

    fc = FrontendConfig(**cfg)
    hop, n_fft = fc.hop_length, fc.n_fft
    y = (0.1 * np.random.default_rng(1).standard_normal(int(fc.sr * seconds))).astype(np.float32)
    hops = [y[i:i + hop] for i in range(0, len(y) - hop + 1, hop)]
    hops8 = [y[i:i + 8 * hop] for i in range(0, len(y) - 8 * hop + 1, 8 * hop)]
    sf = StreamingFrontend(fc)
    sf.process(y[:4 * n_fft])
    sf.reset()
    win = window("hann", n_fft, n_fft).astype(np.float32)
    fb = np.array(filterbank_for(fc, n_fft))
    db = cfg["log"] == "db"

    def per_hop():
        sf.reset()
        for b in hops:
            sf.process(b)
        return len(hops)

    def per_8hops():
        sf.reset()
        for b in hops8:
            sf.process(b)
        return 8 * len(hops8)

    def numpy_per_hop():
        buf = np.zeros(n_fft, np.float32)
        for b in hops:
            buf[:-hop] = buf[hop:]
            buf[-hop:] = b
            s = np.fft.rfft(buf * win)
            m = fb @ (s.real ** 2 + s.imag ** 2)
            _ = 10 * np.log10(np.maximum(m, 1e-10)) if db else np.log1p(m)
        return len(hops)

    return {"audiodl_hop": per_hop, "audiodl_8hops": per_8hops, "numpy_hop": numpy_per_hop}


# -------------------------------------------------------------------- helpers
def timed(fn):
    """(wall seconds, CPU seconds of the whole process, result) of ``fn()``."""
    c = time.process_time()
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, time.process_time() - c, r


def summarize(ts):
    return {"min": min(ts), "median": statistics.median(ts), "n": len(ts)}


def summarize2(pairs):
    """Wall and CPU summaries of a list of (wall, cpu) pairs."""
    return {"wall": summarize([p[0] for p in pairs]), "cpu": summarize([p[1] for p in pairs])}


def set_threads(n):
    import numba
    import torch
    numba.set_num_threads(n)
    torch.set_num_threads(n)


def agreement(cfg):
    """Max |difference| (dB) vs librosa on float64 input: audiodl and torchaudio."""
    import librosa
    import torch
    import torchaudio

    from audiodl.features import FrontendConfig, spectrogram
    sr, n_fft, hop, n_mels = cfg["sr"], cfg["n_fft"], cfg["hop_length"], cfg["n_mels"]
    rng = np.random.default_rng(7)
    t = np.arange(sr * 5) / sr
    y = 0.05 * rng.standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * 440 * t)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, pad_mode="constant"),
        ref=1.0, amin=1e-10, top_db=None).T
    ours = spectrogram(y, FrontendConfig(sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels))
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=2.0, center=True,
        pad_mode="constant", norm="slaney", mel_scale="slaney")
    with torch.inference_mode():
        ta = torchaudio.transforms.AmplitudeToDB(top_db=None)(
            mel(torch.from_numpy(y.astype(np.float32)))).numpy().T
    return {"audiodl_vs_librosa_db": float(np.abs(ours - ref).max()),
            "torchaudio_vs_librosa_db": float(np.abs(ta - ref).max())}


COLD_CODE = r"""
import time
t0 = time.perf_counter()
import numpy as np
import audiodl.features as F
y = np.zeros(22050 * 30, np.float32)
pre = {pre}
if pre:
    import numba, rocket_fft  # noqa: F401
t1 = time.perf_counter()
c1 = time.process_time()
F.spectrogram(y, "librosa")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, time.process_time() - c1)
"""


def cold_start(repeats):
    """First call in fresh processes (numba cache warm): with and without numba pre-imported."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", COLD_CODE.format(pre=False)], env=env, check=True,
                   capture_output=True)  # make sure the cache is warm
    out = {}
    for pre in (False, True):
        first, first_cpu, total = [], [], []
        for _ in range(repeats):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", COLD_CODE.format(pre=pre)], env=env,
                               check=True, capture_output=True, text=True)
            total.append(time.perf_counter() - t)
            first.append(float(r.stdout.split()[1]))
            first_cpu.append(float(r.stdout.split()[2]))
        key = "numba_preimported" if pre else "lazy_imports"
        out[key] = {"first_call_s": summarize(first), "first_call_cpu_s": summarize(first_cpu),
                    "process_s": summarize(total)}
    return out


def machine():
    import librosa
    import numba
    import scipy
    import torch
    import torchaudio
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "librosa": librosa.__version__,
            "torch": torch.__version__, "torchaudio": torchaudio.__version__,
            "loadavg_start": os.getloadavg()}


# ----------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--fft-clips", type=int, default=8)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--cold-repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "frontend.json"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "bench", "README.md"),
                    help="Markdown file whose marked section receives the printed tables "
                         "('' to skip).")
    args = ap.parse_args(argv)
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    threads = [int(t) for t in args.threads.split(",")]

    info = machine()
    results = {"machine": info, "args": dict(vars(args), out=os.path.relpath(args.out, ROOT)),
               "configs": {}}
    print(f"# {info['cpu']}, {info['cores']} cores, load {info['loadavg_start']}", flush=True)
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        rng = np.random.default_rng(0)
        n = int(cfg["sr"] * args.seconds)
        Y = (0.1 * rng.standard_normal((args.clips, n))).astype(np.float32)
        from audiodl.features import FrontendConfig
        n_frames = FrontendConfig(**cfg).n_frames(n)
        res = {"n_frames_per_clip": n_frames, "agreement": agreement(cfg), "threads": {}}
        for th in threads:
            set_threads(th)
            cont, pool = make_contenders(cfg, Y, th)
            ffts, n_fft_frames = fft_alone(cfg, Y, args.fft_clips, th)
            streams = stream_timers(cfg, min(args.seconds, 10.0))
            for fn in list(c[0] for c in cont.values()) + list(ffts.values()):
                fn()  # warm-up (compile, caches, thread pools)
            batch = {k: [] for k in cont}
            single = {k: [] for k in cont}
            fft = {k: [] for k in ffts}
            stream = {k: [] for k in streams}
            scale = (args.clips * n_frames) / n_fft_frames
            for _r in range(args.repeats):
                for k, (fb, _) in cont.items():
                    batch[k].append(timed(fb)[:2])
                for k, f in ffts.items():
                    fft[k].append(tuple(x * scale for x in timed(f)[:2]))
                for _ in range(3):
                    for k, (_, fs) in cont.items():
                        single[k].append(timed(fs)[:2])
                for k, f in streams.items():
                    dt, dc, hops = timed(f)
                    stream[k].append((dt / hops, dc / hops))
            if pool:
                pool.shutdown()
            res["threads"][th] = {
                "batch_s": {k: summarize2(v) for k, v in batch.items()},
                "fft_alone_batch_s": {k: summarize2(v) for k, v in fft.items()},
                "single_s": {k: summarize2(v) for k, v in single.items()},
                "stream_s_per_hop": {k: summarize2(v) for k, v in stream.items()},
            }
            report(name, th, res["threads"][th], args, n_frames)
        results["configs"][name] = res
        del Y
    set_threads(1)
    results["cold_start"] = cold_start(args.cold_repeats)
    c = results["cold_start"]
    lz, pre = c["lazy_imports"], c["numba_preimported"]
    print(f"\ncold start (warm cache), min (median) of {args.cold_repeats} fresh processes: "
          f"first call {lz['first_call_s']['min']:.3f} ({lz['first_call_s']['median']:.3f}) s "
          f"wall, {lz['first_call_cpu_s']['min']:.3f} s CPU, incl. lazy import of numba; "
          f"{pre['first_call_s']['min']:.3f} ({pre['first_call_s']['median']:.3f}) s wall, "
          f"{pre['first_call_cpu_s']['min']:.3f} s CPU with numba+rocket-fft already imported; "
          f"whole process {lz['process_s']['min']:.3f} s")
    for name, res in results["configs"].items():
        print(f"agreement {name}: {res['agreement']}")
    results["machine"]["loadavg_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwrote {os.path.relpath(args.out)}")
    sys.stdout = tee.stream
    if args.readme:
        write_readme_section(args.readme, "".join(tee.lines))
        print(f"updated {args.readme}")


class _Tee:
    """stdout wrapper keeping a copy of everything printed."""

    def __init__(self, stream):
        self.stream, self.lines = stream, []

    def write(self, text):
        self.lines.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


BEGIN, END = "<!-- bench/frontend.py:begin -->", "<!-- bench/frontend.py:end -->"


def write_readme_section(path, text):
    """Replace the text between the BEGIN/END markers of ``path`` with ``text``."""
    from readme_block import write_block
    write_block(BEGIN, END, "_Raw output of the last `python bench/frontend.py` run "
                f"(written by the script):_\n\n```text\n{text.strip()}\n```", path)


def report(name, th, r, args, n_frames):
    """Print a markdown table. With 1 thread the ratios use CPU time (robust to other
    jobs on a shared machine); with more threads they use wall time."""
    audio_s = args.clips * args.seconds
    key = "cpu" if th == 1 else "wall"
    b = r["batch_s"]
    ours = b["audiodl"][key]["min"]
    print(f"\n## {name}, {th} thread(s): {args.clips} x {args.seconds:g} s "
          f"({n_frames} frames/clip); min over {args.repeats} interleaved repeats; "
          f"ratios on {key} time")
    print("| contender | batch wall s (median) | batch CPU s | x real time | "
          "time / audiodl | one clip wall ms | one clip CPU ms |")
    print("|---|---|---|---|---|---|---|")
    for k, v in b.items():
        s = r["single_s"][k]
        print(f"| {k} | {v['wall']['min']:.3f} ({v['wall']['median']:.3f}) | "
              f"{v['cpu']['min']:.3f} | {audio_s / v[key]['min']:.0f} | "
              f"{v[key]['min'] / ours:.2f} | {s['wall']['min'] * 1e3:.2f} | "
              f"{s['cpu']['min'] * 1e3:.2f} |")
    for k, v in r["fft_alone_batch_s"].items():
        print(f"| {k} (FFT only) | {v['wall']['min']:.3f} ({v['wall']['median']:.3f}) | "
              f"{v['cpu']['min']:.3f} | {audio_s / v[key]['min']:.0f} | "
              f"{v[key]['min'] / ours:.2f} (fused/FFT {ours / v[key]['min']:.2f}) | | |")
    st = r["stream_s_per_hop"]
    print("streaming us/hop, wall min (median) / CPU min: " + ", ".join(
        f"{k} {v['wall']['min'] * 1e6:.2f} ({v['wall']['median'] * 1e6:.2f}) / "
        f"{v['cpu']['min'] * 1e6:.2f}" for k, v in st.items()), flush=True)


if __name__ == "__main__":
    main()
