"""Throughput (x real time, one thread) and peak memory of ``audiodl singing`` on a long file.

Usage::

    python recipes/singing/speed.py --model singing_cnn --audio SONG.flac --minutes 60 \
        [--backend auto|onnx|onnx-int8|torch] [--format wav|flac] [--profile] [--chunk-frames N]

Tiles ``--audio`` to ``--minutes`` minutes, writes it as a 16-bit WAV (or
FLAC) in a temporary folder, then runs the whole pipeline on it (streamed
audio, streaming front end, chunked runner, decoder) on one thread (torch
and ONNX Runtime: ``AUDIODL_THREADS=1``), and reports the wall time, x real
time, the time of each stage (audio decoding and front end, network,
decoder: a second pass over the same file with the stages timed apart) and
the process's peak resident memory (``ru_maxrss``, which includes the
interpreter and the model; torch is imported only for ``--backend torch``,
as ``audiodl singing`` imports it only then). ``--profile`` prints the functions that
take the most time (cProfile) of the timed call. ``--chunk-frames N`` overrides the
pipeline's frames per network call (outputs do not depend on it; memory and
speed do).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time


def stage_times(pipe, path) -> dict:
    """Seconds spent in each stage of one pass over ``path``, the stages run one after another.

    ``features`` (audio decoding, resampling and the streaming front end),
    ``network`` (the chunked runner) and ``decoder`` (median filter and
    threshold).
    """
    import numpy as np

    from audiodl.types import Activations
    t0 = time.perf_counter()
    chunks = list(pipe.feature_chunks(path))
    t1 = time.perf_counter()
    values = pipe.activation_values(iter(chunks))
    t2 = time.perf_counter()
    pipe.decode(Activations(values=values, fps=pipe.fps, labels=pipe.labels,
                            audio_duration=sum(len(c) for c in chunks) / pipe.config.fps))
    t3 = time.perf_counter()
    del chunks
    return {"features": round(t1 - t0, 2), "network": round(t2 - t1, 2),
            "decoder": round(t3 - t2, 2), "frames": int(np.asarray(values).shape[0])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--backend", default="auto", choices=("auto", "onnx", "onnx-int8", "torch"),
                    help="auto: ONNX Runtime on the 8-bit graph when shipped, else the float "
                         "graph, when installed")
    ap.add_argument("--format", default="wav", choices=("wav", "flac"))
    ap.add_argument("--profile", action="store_true", help="print a cProfile summary")
    ap.add_argument("--chunk-frames", type=int, default=None,
                    help="frames per network call (default: the pipeline's)")
    args = ap.parse_args(argv)
    os.environ["AUDIODL_THREADS"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import numpy as np
    import soundfile as sf

    from audiodl.io.audio import load
    from audiodl.tasks.singing import SingingDetector

    if args.backend == "torch":
        import torch
        torch.set_num_threads(1)
    y, sr = load(args.audio, 22050)
    n = int(args.minutes * 60 * sr)
    with tempfile.TemporaryDirectory(prefix="svd-speed-") as tmp:
        path = os.path.join(tmp, f"long.{args.format}")
        with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
            done = 0
            while done < n:
                k = min(len(y), n - done)
                f.write(y[:k])
                done += k
        del y
        pipe = SingingDetector.from_pretrained(args.model, backend=args.backend)
        if args.chunk_frames:
            pipe.chunk_frames = args.chunk_frames
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        prof = None
        if args.profile:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        seg = pipe(path)
        wall = time.perf_counter() - t0
        if prof is not None:
            prof.disable()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stages = stage_times(pipe, path)
    if prof is not None:
        import pstats
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    out = {"model": pipe.card.name, "audio_minutes": args.minutes, "seconds": round(wall, 1),
           "x_real_time": round(args.minutes * 60 / wall, 1), "threads": 1,
           "peak_rss_mib": round(rss, 1), "rss_before_mib": round(rss0, 1),
           "n_segments": len(seg), "backend": pipe.backend.name,
           "chunk_frames": pipe.chunk_frames,
           "graph": str(getattr(pipe.backend, "path", "")).rsplit("/", 1)[-1],
           "stage_seconds": stages, "numpy": np.__version__,
           "torch_imported": "torch" in sys.modules}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
