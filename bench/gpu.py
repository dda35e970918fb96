"""GPU checks of audiodl, each printing a throughput (run by ``bench/gpu.sh``).

1. ``frontend``: the numba front end on the CPU against :class:`TorchFrontend`
   on the device (64 clips x 30 s, x real time);
2. ``train``: a short AMP run of ``audiodl train TASK`` (CI config, fp16 on
   CUDA, bf16 autocast on CPU) for every trainable task whose CI corpus is
   under ``$AUDIODL_DATA/ci`` (``bench/gpu.sh --prepare-data`` makes them);
3. ``onnx``: ONNX Runtime's CUDA provider against its CPU provider on every
   shipped model ``audiodl export`` can export (when onnxruntime is installed);
4. ``ctc``: torchaudio's CUDA CTC beam search (``cuda_ctc_decoder``) against
   the CPU flashlight beam search on the same random log-probabilities.

Without CUDA every check runs its CPU side (or says why it is skipped), so
``--device cpu`` proves the script before a GPU machine is at hand.
Writes ``bench/results/gpu.json`` (``--out``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
#: trainable task -> (CI config, corpus manifest under the data root)
TRAIN = {
    "onsets": ("recipes/onsets/conf/ci.toml", "ci/onsets/manifest.jsonl"),
    "musicspeech-classify": ("recipes/music_speech/conf/classify_ci.toml",
                             "ci/musicspeech/manifest.jsonl"),
    "musicspeech-detect": ("recipes/music_speech/conf/detect_ci.toml",
                           "ci/musicspeech/manifest.jsonl"),
    "singing": ("recipes/singing/conf/ci.toml", "ci/singing/manifest.jsonl"),
    "structure": ("recipes/structure/conf/ci.toml", "ci/structure/manifest.jsonl"),
    "similarity": ("recipes/similarity/conf/ci.toml", "ci/similarity/manifest.jsonl"),
    "asr": ("recipes/asr/conf/ci.toml", "ci/speech/manifest.jsonl"),
}


def _sync(device):
    import torch
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _best(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def check_frontend(device, quick):
    import torch

    from audiodl.features import spectrogram
    from audiodl.features.config import preset
    from audiodl.features.torch_frontend import TorchFrontend
    cfg = preset("librosa")
    n_clips, seconds = (8, 10.0) if quick else (64, 30.0)
    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((n_clips, int(cfg.sr * seconds)))).astype(np.float32)
    audio = n_clips * seconds
    cpu = _best(lambda: [spectrogram(c, cfg) for c in clips])
    fe = TorchFrontend(cfg).to(device)
    y = torch.from_numpy(clips).to(device)

    def run():
        with torch.no_grad():
            fe(y)
        _sync(device)
    run()
    dev = _best(run)
    diff = float(np.abs(fe(y[:1]).cpu().numpy()[0] - spectrogram(clips[0], cfg)).max())
    return [{"check": "frontend", "what": f"numba CPU, {n_clips} x {seconds:g} s",
             "seconds": round(cpu, 4), "x_realtime": round(audio / cpu)},
            {"check": "frontend", "what": f"TorchFrontend on {device}",
             "seconds": round(dev, 4), "x_realtime": round(audio / dev),
             "max_abs_diff_db": round(diff, 4)}]


def check_train(device, quick, data_root):
    rows = []
    for task, (conf, manifest) in TRAIN.items():
        if not data_root or not os.path.exists(os.path.join(data_root, manifest)):
            rows.append({"check": "train", "what": task,
                         "skipped": f"no corpus {manifest} under AUDIODL_DATA"})
            continue
        with tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "audiodl.cli.main", "train", task, "--config",
                   os.path.join(ROOT, conf), "--data-root", data_root, "--out", out,
                   "--set", "amp=true", "--set", f"device={device}", "--set", "epochs=2"]
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                                  env=dict(os.environ, AUDIODL_DATA=data_root))
            wall = time.perf_counter() - t
            if proc.returncode != 0:
                rows.append({"check": "train", "what": task, "failed":
                             proc.stderr.strip().splitlines()[-1][:300] if proc.stderr
                             else f"exit {proc.returncode}"})
                continue
            log = [json.loads(x) for x in open(os.path.join(out, "log.jsonl"))]
            cfg = json.load(open(os.path.join(out, "run.json")))["config"]
            steps = len(log) * (cfg.get("max_steps_per_epoch") or 0)
            train_s = log[-1]["elapsed"]
            rows.append({"check": "train", "what": f"{task} (AMP, {device})",
                         "seconds": round(train_s, 2), "wall_s": round(wall, 1),
                         "steps_per_s": round(steps / train_s, 2) if steps else None,
                         "batch_size": cfg["batch_size"],
                         "final_train_loss": round(log[-1]["train_loss"], 4)})
    return rows


def check_onnx(device, quick):
    try:
        import onnxruntime as ort
    except ImportError:
        return [{"check": "onnx", "what": "onnxruntime", "skipped": "not installed"}]
    providers = ort.get_available_providers()
    gpu = "CUDAExecutionProvider" in providers
    from audiodl import pretrained
    rows = []
    for name in pretrained.list_models():
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, f"{name}.onnx")
            proc = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "export", name,
                                   "-o", path], capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                rows.append({"check": "onnx", "what": name, "skipped":
                             "audiodl export failed or missing: " +
                             (proc.stderr.strip().splitlines() or ["?"])[-1][:200]})
                continue
            for prov in (["CPUExecutionProvider"] + (["CUDAExecutionProvider"] if gpu else [])):
                sess = ort.InferenceSession(path, providers=[prov])
                feeds = {}
                for inp in sess.get_inputs():
                    shape = [d if isinstance(d, int) else (8 if i == 0 else 400)
                             for i, d in enumerate(inp.shape)]
                    dtype = np.int64 if "int64" in inp.type else np.float32
                    feeds[inp.name] = np.random.default_rng(0).standard_normal(shape).astype(dtype)
                sess.run(None, feeds)
                t = _best(lambda s=sess, f=feeds: s.run(None, f), 5)
                rows.append({"check": "onnx", "what": f"{name} on {prov}",
                             "seconds": round(t, 5),
                             "input": {k: list(v.shape) for k, v in feeds.items()}})
    if not gpu:
        rows.append({"check": "onnx", "what": "CUDAExecutionProvider",
                     "skipped": f"not available (providers: {providers})"})
    return rows


def check_ctc(device, quick):
    import torch
    from torchaudio.models.decoder import ctc_decoder, cuda_ctc_decoder

    from audiodl import pretrained
    card = pretrained.card(pretrained.default_model("asr"))
    tokens = [("|" if t == " " else t) for t in card.labels]
    batch, frames, beam = (4, 200, 10) if quick else (32, 500, 10)
    torch.manual_seed(0)
    logp = torch.log_softmax(3 * torch.randn(batch, frames, len(tokens)), dim=-1)
    lengths = torch.full((batch,), frames, dtype=torch.int32)
    audio_s = batch * frames * 0.03  # ds2: 30 ms per output frame (stride 3 x 10 ms)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tok = os.path.join(d, "tokens.txt")
        with open(tok, "w") as f:
            f.write("\n".join(tokens) + "\n")
        cpu = ctc_decoder(lexicon=None, tokens=tok, lm=None, beam_size=beam,
                          blank_token=tokens[0], sil_token="|")
        t = _best(lambda: cpu(logp, lengths), 2)
        rows.append({"check": "ctc", "what": f"flashlight beam {beam} on CPU, {batch} x "
                     f"{frames} frames", "seconds": round(t, 4), "x_realtime": round(audio_s / t)})
        if not device.startswith("cuda"):
            rows.append({"check": "ctc", "what": "cuda_ctc_decoder", "skipped": "no CUDA"})
            return rows
        gpu = cuda_ctc_decoder(tok, nbest=1, beam_size=beam, blank_skip_threshold=0.95)
        lp, ln = logp.to(device), lengths.to(device)

        def run():
            gpu(lp, ln)
            _sync(device)
        run()
        t = _best(run, 3)
        rows.append({"check": "ctc", "what": f"cuda_ctc_decoder beam {beam}",
                     "seconds": round(t, 4), "x_realtime": round(audio_s / t)})
    return rows


CHECKS = {"frontend": check_frontend, "train": check_train, "onnx": check_onnx,
          "ctc": check_ctc}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto")
    ap.add_argument("--quick", action="store_true", help="small sizes (a dry run)")
    ap.add_argument("--checks", default=",".join(CHECKS))
    ap.add_argument("--data-root", default=os.environ.get("AUDIODL_DATA"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "gpu.json"))
    args = ap.parse_args(argv)
    import torch
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    env = {"device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
           "torch": torch.__version__, "cuda": torch.version.cuda,
           "python": platform.python_version(), "cpus": os.cpu_count(),
           "quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(f"# audiodl GPU checks on {device} ({env['gpu'] or platform.processor() or 'CPU'})",
          flush=True)
    rows = []
    for name in args.checks.split(","):
        t = time.perf_counter()
        try:
            if name == "train":
                got = check_train(device, args.quick, args.data_root)
            else:
                got = CHECKS[name](device, args.quick)
        except Exception as exc:  # one broken check never hides the others
            traceback.print_exc()
            got = [{"check": name, "what": name, "failed": f"{type(exc).__name__}: {exc}"}]
        for r in got:
            print(json.dumps(r), flush=True)
        rows += got
        print(f"# {name}: {time.perf_counter() - t:.1f} s", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"environment": env, "results": rows}, f, indent=1)
    print("\n| check | what | seconds | throughput | note |\n|---|---|---|---|---|")
    for r in rows:
        thr = (f"{r['x_realtime']}x real time" if "x_realtime" in r else
               f"{r['steps_per_s']} steps/s" if r.get("steps_per_s") else "")
        note = r.get("skipped") or r.get("failed") or \
            (f"input {r['input']}" if "input" in r else "")
        print(f"| {r['check']} | {r['what']} | {r.get('seconds', '')} | {thr} | {note} |")
    failed = [r for r in rows if "failed" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
