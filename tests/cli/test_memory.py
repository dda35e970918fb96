"""Peak memory of a task command on a long file stays bounded (issue 14, item 3).

The file is generated block by block (soundfile), the command runs in a
fresh process, and its peak resident set size is read with
``resource.getrusage(RUSAGE_CHILDREN)`` in an intermediate process whose only
child is the command. Decoding the 20-minute 44.1 kHz stereo FLAC whole
would take ~420 MB of float32 samples before any analysis; streamed, the
command needs well under :data:`BOUND_MB`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINUTES = 20
BOUND_MB = 400


def write_long(path, seconds, sr=44100, channels=2):
    """Tones + clicks + noise, written in 10 s blocks (bounded memory)."""
    import soundfile as sf
    rng = np.random.default_rng(0)
    block = 10 * sr
    t = np.arange(block) / sr
    with sf.SoundFile(path, "w", sr, channels) as f:
        for b in range(int(seconds) // 10):
            hz = 220.0 * 2 ** ((b % 12) / 12)
            y = 0.2 * np.sin(2 * np.pi * hz * t) * np.exp(-((t * 2) % 1.0) * 3)
            y[::sr // 2] += 0.5
            y += 0.01 * rng.standard_normal(block)
            f.write(np.repeat(y[:, None], channels, axis=1).astype(np.float32))


def peak_rss_mb(cmd) -> tuple:
    """``(peak RSS of cmd in MB, exit status)``, measured in a fresh intermediate process."""
    probe = ("import json, resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
             " r.returncode]))\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                         env=env, check=True)
    kb, rc = json.loads(out.stdout.strip().splitlines()[-1])
    return kb / 1024.0, rc


@pytest.mark.slow
def test_onsets_on_a_long_stereo_flac_stays_bounded(tmp_path):
    path = str(tmp_path / "long.flac")
    write_long(path, MINUTES * 60)
    mb, rc = peak_rss_mb([sys.executable, "-m", "audiodl.cli.main", "onsets", "--method",
                          "superflux", path, "-o", str(tmp_path / "out.txt")])
    assert rc == 0
    times = np.loadtxt(tmp_path / "out.txt")
    assert len(times) > MINUTES * 60  # clicks every 0.5 s: the whole file was analysed
    assert times[-1] > MINUTES * 60 - 30
    assert mb < BOUND_MB, f"peak RSS {mb:.0f} MB on {MINUTES} min of stereo FLAC"
