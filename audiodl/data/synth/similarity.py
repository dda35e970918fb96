"""Similarity corpus: several versions of one composition.

Each spec is one *work* (a procedural composition, ~30-60 s) rendered as:

``original``
    Its own soundfont, instruments and tempo.
``cover`` (2-3 of them)
    Another soundfont and/or instrument mapping (same role family pool),
    tempo x0.9-1.1, transposition -2..+2 semitones, new timing jitter.
``near-duplicate`` (1)
    An excerpt of the original with EQ, noise, reverb, codec and a small
    speed change (resampling, +-3 %, pitch and tempo together).

Items of a work share ``group`` (``"work:<id>"``) and carry ``meta.relation``
and ``meta.version``; pairs are same-group (positive) or cross-group.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms, random_augment
from audiodl.data.synth.common import FluidContext, plan_fixed, save_audio
from audiodl.data.synth.compose import POOLS, compose
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.runner import item_rng

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate"]

TASK = "similarity"
DEFAULT_SR = 22050
MEAN_SECONDS = 170.0  # per work, all versions


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"covers": [2, 3], "tempo_factor": [0.9, 1.1], "transpose": [-2, 2],
            "near_duplicate": {"speed": [0.97, 1.03], "augment": "eq/noise/reverb/codec"}}


def check():
    """Raise EngineUnavailable if FluidSynth or a soundfont is missing."""
    check_fluidsynth()


def plan(hours, seed, sr):
    """One spec per work (prefix-stable); splits are by work."""
    return plan_fixed(hours, seed, mean_seconds=MEAN_SECONDS, prefix="sim", width=5)


def make_context(sr):
    return FluidContext(sr)


def _render(ctx, score, rng, *, soundfont, tempo, transpose, program_map):
    notes, programs, _ = score.to_notes(tempo=tempo, transpose=transpose, jitter=0.008, rng=rng,
                                        program_map=program_map)
    dur = score.duration(tempo=tempo) + 1.0
    y, _ = ctx.renderer.render(notes, dur, programs=programs, soundfont=soundfont)
    return (y / (active_rms(y) + 1e-9) * 0.1).astype(np.float32), programs


def generate(spec, ctx, out_dir):
    """Render all versions of one work; returns a list of manifest items."""
    from audiodl.io.audio import resample

    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=41)
    score = compose(rng, duration=float(rng.uniform(30, 60)), tempo=float(rng.uniform(70, 160)))
    fonts = ctx.renderer.soundfonts
    group = f"work:{spec['id']}"
    items = []

    def emit(version, y, relation, meta):
        rel = f"audio/{spec['id']}-{version}.flac"
        save_audio(Path(out_dir, rel), y, sr)
        items.append({"id": f"{spec['id']}-{version}", "audio": rel, "duration": round(len(y) / sr, 4),
                      "sr": sr, "split": spec["split"], "task": TASK, "source": "synth", "group": group,
                      "labels": ["music"], "meta": dict(meta, relation=relation, version=version)})

    sf0 = fonts[int(rng.integers(len(fonts)))]
    y0, prog0 = _render(ctx, score, rng, soundfont=sf0, tempo=score.tempo, transpose=0, program_map=None)
    y0_aug, aug = random_augment(y0, sr, rng, p_reverb=0.3, p_eq=0.3, p_noise=0.2, p_codec=0.1)
    emit("v0", y0_aug, "original", {"soundfont": sf0, "tempo": round(score.tempo, 3), "transpose": 0,
                                    "programs": {str(k): v for k, v in prog0.items()}, "augment": aug})
    for k in range(1, 1 + int(rng.integers(2, 4))):
        sfk = fonts[int(rng.integers(len(fonts)))]
        pmap = {}
        for i, part in enumerate(score.parts):
            if not part.is_drum and rng.random() < 0.6:
                pool = POOLS.get(part.role, POOLS["melody"])
                pmap[i] = int(pool[rng.integers(len(pool))])
        tempo = score.tempo * float(rng.uniform(0.9, 1.1))
        tr = int(rng.integers(-2, 3))
        yk, progk = _render(ctx, score, rng, soundfont=sfk, tempo=tempo, transpose=tr, program_map=pmap)
        yk, aug = random_augment(yk, sr, rng, p_reverb=0.4, p_eq=0.4, p_noise=0.3, p_codec=0.2)
        emit(f"v{k}", yk, "cover", {"soundfont": sfk, "tempo": round(tempo, 3), "transpose": tr,
                                    "programs": {str(c): v for c, v in progk.items()}, "augment": aug})
    # near-duplicate: excerpt of the original, speed change + heavy augmentation
    speed = float(rng.uniform(0.97, 1.03))
    length = min(len(y0), int(rng.uniform(10, 20) * sr))
    start = int(rng.integers(0, max(1, len(y0) - length)))
    ex = y0[start:start + length]
    ex = resample(ex, int(round(sr * speed)), sr) if abs(speed - 1) > 1e-3 else ex
    ex, aug = random_augment(ex, sr, rng, p_reverb=0.6, p_eq=0.8, p_noise=0.6, p_codec=0.6)
    emit("nd", ex, "near-duplicate", {"of": f"{spec['id']}-v0", "start": round(start / sr, 4),
                                      "speed": round(speed, 4), "augment": aug})
    return items
