"""Deterministic inputs for the reference-output test (bundled examples + generated audio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "assets" / "examples"


def inputs() -> dict:
    """name -> (path and None, or samples float32 mono and sr)."""
    from audiodl.io.audio import load
    from audiodl.testing import clicks, piano_like

    music, sr_m = load(EXAMPLES / "music.wav", 22050)
    speech, _ = load(EXAMPLES / "speech.wav", 22050)
    rng = np.random.default_rng(1234)
    # the bundled files by path (the file route), then generated arrays
    out = {"music": (str(EXAMPLES / "music.wav"), None),
           "speech": (str(EXAMPLES / "speech.wav"), None)}
    # speech, then music, then both: segment boundaries inside one file
    both = music[:len(speech)] * 0.5 + speech * 0.5
    out["mixture"] = (np.concatenate([speech, music, both]).astype(np.float32), sr_m)
    # longer than one 120 s processing chunk: chunk seams must not show
    reps = int(np.ceil(130 * sr_m / (len(music) + len(speech))))
    out["long"] = (np.tile(np.concatenate([music, speech]), reps)[:int(130.5 * sr_m)]
                   .astype(np.float32), sr_m)
    times = np.sort(rng.uniform(0.2, 7.5, 14))
    out["piano"] = (piano_like(times, sr=44100, length=8.0).astype(np.float32), 44100)
    out["clicks"] = (clicks(np.arange(0.25, 5.0, 0.37), sr=44100, length=5.3)
                     .astype(np.float32), 44100)
    return out
