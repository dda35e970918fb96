"""Throughput (x real time, one thread) and peak memory of ``audiodl singing`` on a long file.

Usage::

    python recipes/singing/speed.py --model singing_cnn --audio SONG.flac --minutes 60

Tiles ``--audio`` to ``--minutes`` minutes, writes it as a 16-bit WAV in a
temporary folder, then runs the whole pipeline on it (streamed audio,
streaming front end, chunked runner, decoder) with one torch thread, and
reports the wall time, x real time and the process's peak resident memory
(``ru_maxrss``, which includes the interpreter, torch and the model).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args(argv)

    import numpy as np
    import soundfile as sf
    import torch

    from audiodl.io.audio import load
    from audiodl.tasks.singing import SingingDetector

    torch.set_num_threads(1)
    y, sr = load(args.audio, 22050)
    n = int(args.minutes * 60 * sr)
    with tempfile.TemporaryDirectory(prefix="svd-speed-") as tmp:
        path = os.path.join(tmp, "long.wav")
        with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
            done = 0
            while done < n:
                k = min(len(y), n - done)
                f.write(y[:k])
                done += k
        del y
        pipe = SingingDetector.from_pretrained(args.model, backend="torch")
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        seg = pipe(path)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"model": pipe.card.name, "audio_minutes": args.minutes, "seconds": round(wall, 1),
           "x_real_time": round(args.minutes * 60 / wall, 1), "threads": 1,
           "peak_rss_mib": round(rss, 1), "rss_before_mib": round(rss0, 1),
           "n_segments": len(seg), "numpy": np.__version__, "torch": torch.__version__}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
