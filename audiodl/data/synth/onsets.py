"""Onset corpus: GM renders with note-on ground truth.

Item kinds:

``song``
    A procedural piece (melody/chords/bass/arpeggio and drums on a beat grid,
    tempo 60-200 bpm, human timing jitter), or (a share
    :func:`audiodl.data.synth.scores.fraction` of the songs, when music21 is
    installed) a music21-corpus score (Bach chorale, Essen or O'Neill tune,
    repeats expanded) in one fast-attack GM family, random tempo and key.
``sparse``
    One or two instruments with free (off-grid) timing: Poisson note
    sequences with chords and repeated notes, inter-onset intervals down to
    ~40 ms, velocities 30-127.

Programs are drawn from fast-attack instruments (piano, mallets, plucked,
bass, drums: sound within ~6 ms of the note-on). With probability
``P_MEDIUM`` an item also uses medium-attack programs (organs, brass, reeds);
those items are flagged in ``meta.attack_classes`` so training can keep or drop
them; slow-attack programs (bowed strings, choir, pads, flutes) are never
used. Onset times are the rendered note-ons (exact to the sample: note-ons
fall on FluidSynth's 64-sample block), merged when closer than 30 ms
(the first time of a cluster is kept), written one per line to ``.onsets``.
Every note also goes to a ``.notes`` file (onset, offset, MIDI pitch,
velocity, GM program, channel) for transcription-style uses.
"""

from __future__ import annotations

__all__ = ["TASK", "DEFAULT_SR", "merge_onsets", "check", "plan", "make_context", "generate"]

from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms, random_augment
from audiodl.data.manifest import write_times
from audiodl.data.synth.common import FluidContext, plan_durations, save_audio
from audiodl.data.synth import scores
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.compose import ATTACK_CLASS, attack_class, compose
from audiodl.data.synth.runner import item_rng

TASK = "onsets"
DEFAULT_SR = 44100
MERGE_WINDOW = 0.03
P_MEDIUM = 0.2
KINDS = ("song", "sparse")
KIND_P = (0.7, 0.3)
DURATION = (15.0, 40.0)
FAST_ALL = sorted(p for p in range(128) if ATTACK_CLASS[p] == "fast")
SCORE_SALT = 113  # own random stream: procedural items are unchanged by the score option
MEDIUM_ALL = sorted(p for p in range(128) if ATTACK_CLASS[p] == "medium" and p not in range(112, 128))


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "duration": DURATION, "merge_window": MERGE_WINDOW,
            "p_medium_attack": P_MEDIUM, "slow_attack": "excluded", "music21_scores": scores.fraction()}


def merge_onsets(times, *, window=MERGE_WINDOW):
    """Merge onsets closer than ``window`` seconds (keep the first of each cluster).

    Parameters
    ----------
    times : array-like [seconds]
    window : float [seconds]

    Returns
    -------
    merged : np.ndarray [shape=(m,)], sorted
    """
    t = np.sort(np.asarray(times, dtype=np.float64))
    t = t[np.isfinite(t)]
    if len(t) == 0:
        return t
    keep = [t[0]]
    for x in t[1:]:
        if x - keep[-1] >= window:
            keep.append(x)
    return np.asarray(keep)


def check():
    """Raise EngineUnavailable if FluidSynth or a soundfont is missing."""
    check_fluidsynth()


def plan(hours, seed, sr):
    """Item specs (prefix-stable)."""
    return plan_durations(hours, seed, prefix="on", salt=11, kinds=KINDS, kind_p=KIND_P,
                          duration=DURATION,
                          fields=lambda rng, i, kind: {"medium": bool(rng.random() < P_MEDIUM)},
                          score_kinds=("song",), score_salt=SCORE_SALT,
                          score_fraction=scores.fraction())


def make_context(sr):
    return FluidContext(sr)


def _sparse_notes(rng, duration, *, medium):
    pool = FAST_ALL + (MEDIUM_ALL if medium else [])
    n_parts = 1 if rng.random() < 0.6 else 2
    programs, notes = {}, []
    for ch in range(n_parts):
        use_drum = rng.random() < 0.2
        channel = 9 if use_drum else ch
        programs[channel] = 0 if use_drum else int(pool[rng.integers(len(pool))])
        rate = float(rng.uniform(0.7, 6.0))
        t = float(rng.uniform(0.0, 0.5))
        center = int(rng.integers(40, 80))
        while t < duration - 0.05:
            n_chord = 1 if rng.random() < 0.75 else int(rng.integers(2, 5))
            vel = int(rng.integers(30, 128))
            dur = float(rng.uniform(0.05, 1.5))
            for _ in range(n_chord):
                pitch = int(rng.choice([35, 36, 38, 40, 42, 45, 47, 49, 50, 51, 56, 60, 62, 64, 75, 76])) \
                    if use_drum else int(np.clip(center + rng.integers(-12, 13), 28, 100))
                notes.append((t, t + dur, pitch, vel, channel))
            # exponential inter-onset interval, at least 40 ms; sometimes fast repeats
            t += max(0.04, float(rng.exponential(1.0 / rate)))
    return notes, programs


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=12)
    dur = spec["duration"]
    fonts = ctx.renderer.soundfonts
    soundfont = fonts[int(rng.integers(len(fonts)))]
    score = None
    if spec["kind"] == "song":
        if spec.get("score"):
            score = scores.random_score(rng, dur, fast_attack_only=True)
        else:
            score = compose(rng, duration=dur, tempo=float(rng.uniform(60, 200)), fast_attack_only=True)
        program_map = None
        if spec["medium"]:  # swap one pitched part to a medium-attack program
            pitched = [k for k, p in enumerate(score.parts) if not p.is_drum]
            if pitched:
                program_map = {int(rng.choice(pitched)): int(rng.choice(MEDIUM_ALL))}
        notes, programs, _ = score.to_notes(jitter=0.01, rng=rng, program_map=program_map)
    else:
        notes, programs = _sparse_notes(rng, dur, medium=spec["medium"])
    controls = [(0.0, ch, 7, int(rng.integers(80, 128))) for ch in programs]
    y, onsets = ctx.renderer.render(notes, dur, programs=programs, soundfont=soundfont, controls=controls)
    level = active_rms(y) if np.any(y) else 1.0
    y = y / level * 0.1
    valid = np.isfinite(onsets) & (onsets < dur - 0.02)
    merged = merge_onsets(onsets[valid])
    classes = sorted({attack_class(programs[ch], is_drum=(ch == 9)) for ch in programs})
    y, aug = random_augment(y, sr, rng, p_reverb=0.5, p_eq=0.5, p_noise=0.4, p_codec=0.15,
                            noise_snr=(15.0, 45.0), rt60=(0.1, 0.8))
    rel_audio = f"audio/{spec['id']}.flac"
    rel_on = f"labels/{spec['id']}.onsets"
    rel_notes = f"labels/{spec['id']}.notes"
    save_audio(Path(out_dir, rel_audio), y, sr)
    Path(out_dir, "labels").mkdir(exist_ok=True)
    write_times(Path(out_dir, rel_on), merged)
    with open(Path(out_dir, rel_notes), "w", encoding="utf-8") as fh:
        fh.write("# onset\toffset\tpitch\tvelocity\tprogram\tchannel\n")
        for (_start, end, pitch, vel, ch), on in sorted(zip(notes, onsets), key=lambda z: (z[1], z[0][2])):
            if np.isfinite(on) and on < dur:
                fh.write(f"{on:.6f}\t{min(end, dur):.6f}\t{pitch}\t{vel}\t{programs[ch]}\t{ch}\n")
    n = len(y)
    meta = {"kind": spec["kind"], "soundfont": soundfont, "n_onsets": int(len(merged)),
            "programs": {str(k): int(v) for k, v in programs.items()},
            "attack_classes": classes, "augment": aug}
    if score is not None and "work" in score.meta:
        meta["score"] = {k: score.meta[k] for k in ("source", "work", "title", "family", "transpose")}
        meta["tempo"] = round(score.tempo, 2)
    return {
        "id": spec["id"], "audio": rel_audio, "duration": round(n / sr, 4), "sr": sr,
        "split": spec["split"], "task": TASK, "source": "synth",
        "annotations": {"onsets": rel_on, "notes": rel_notes},
        "meta": meta,
    }

