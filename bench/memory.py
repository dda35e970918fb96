"""Peak memory of every task command on a long generated file (README, "Robustness").

Generates music-like test audio block by block (tones, clicks, noise; 8-part
repeat structure), then runs each command once, in turn, under
``/usr/bin/time -v`` and reports its maximum resident set size and wall time.

    python bench/memory.py --hours 3 --workdir mem-run   # ~1.5 h on 2 busy cores
    python bench/memory.py --hours 0.003 --workdir mem-run --only onsets

Writes ``WORKDIR/memory.tsv`` (label, input, peak MB, wall s, exit status, command)
and prints it. The singing command needs ``--singing-card`` (no shipped model yet).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

COMMANDS = {
    "classify": ["classify"],
    "detect": ["detect"],
    "onsets": ["onsets"],
    "onsets-superflux": ["onsets", "--method", "superflux"],
    "segment": ["segment"],
    "segment-foote": ["segment", "--method", "foote"],
    "segment-sf": ["segment", "--method", "sf"],
    "index-codes": ["index", "codes"],
    "index-build": ["index", "build", "-o", "{workdir}/index"],
    "transcribe": ["transcribe"],
    "singing": ["singing", "-m", "{singing_card}"],
}


def generate(path, seconds, sr=44100, channels=1, subtype="PCM_16"):
    """Tones with harmonics in an ``A B A C A B D B`` plan, clicks every 0.5 s, noise."""
    import soundfile as sf
    rng = np.random.default_rng(0)
    patterns = [rng.choice(np.arange(48, 72), 3, replace=False) for _ in range(4)]
    order = [0, 1, 0, 2, 0, 1, 3, 1]
    block = 10 * sr
    t = np.arange(block) / sr
    with sf.SoundFile(path, "w", sr, channels, subtype=subtype) as f:
        for b in range(max(1, int(seconds * sr) // block)):
            pat = patterns[order[(b // 3) % len(order)]]
            y = np.zeros(block)
            for k, m in enumerate(pat):
                hz = 440 * 2 ** ((m - 69) / 12)
                env = np.exp(-((t * 2 + k * 0.3) % 1.0) * 3)
                y += (0.08 * env * np.sin(2 * np.pi * hz * t)
                      + 0.03 * env * np.sin(4 * np.pi * hz * t))
            clicks = np.zeros(block)
            clicks[::sr // 2] = 0.5
            y += np.convolve(clicks, np.exp(-np.arange(200) / 30.0), mode="same")
            y += 0.01 * rng.standard_normal(block)
            if channels == 2:
                y = np.stack([y, 0.9 * y + 0.005 * rng.standard_normal(block)], axis=1)
            f.write(np.clip(y, -1, 1).astype(np.float32))


def measure(args_list, log_path) -> tuple:
    """``(peak RSS MB, wall s, exit status)`` of ``audiodl ARGS`` under /usr/bin/time -v."""
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        rc = subprocess.call(["/usr/bin/time", "-v", sys.executable, "-m", "audiodl.cli.main",
                              *args_list], stdout=subprocess.DEVNULL, stderr=log)
    wall = time.perf_counter() - t0
    text = open(log_path).read()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return (int(m.group(1)) / 1024 if m else float("nan")), wall, rc


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", nargs="*", choices=sorted(COMMANDS), default=None)
    ap.add_argument("--singing-card", default=None)
    a = ap.parse_args(argv)
    os.makedirs(a.workdir, exist_ok=True)
    mono = os.path.join(a.workdir, "long_44k.wav")
    stereo = os.path.join(a.workdir, "long_stereo.flac")
    for path, ch in ((mono, 1), (stereo, 2)):
        if not os.path.exists(path):
            generate(path, a.hours * 3600, channels=ch)
    rows = []
    for name in a.only or COMMANDS:
        if name == "singing" and not a.singing_card:
            continue
        cmd = [c.format(workdir=a.workdir, singing_card=a.singing_card) for c in COMMANDS[name]]
        inputs = [mono, stereo] if name == "onsets" else [mono]
        for inp in inputs:
            mb, wall, rc = measure(cmd + [inp], os.path.join(a.workdir, f"{name}.time"))
            rows.append((name, os.path.basename(inp), f"{mb:.0f}", f"{wall:.1f}", str(rc),
                         " ".join(cmd)))
            print("\t".join(rows[-1]), flush=True)
    with open(os.path.join(a.workdir, "memory.tsv"), "w") as f:
        f.writelines("\t".join(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
