"""Structure corpus: procedural songs from form templates with exact sections.

Each song follows a form template (intro/verse/chorus/bridge/outro, AABA
...); every section *type* has its own progression, melody motif, bass and
drum patterns, density and active instruments, reused whenever it repeats, so
repeated sections sound alike and different ones differ. Boundaries fall on
bar starts. Written per song:

``.sections``  ``start<TAB>end<TAB>label`` (seconds)
``.beats``     ``time<TAB>position-in-bar`` (1 = downbeat)
``.onsets``    merged note-ons (30 ms), as the onset corpus
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms, random_augment
from audiodl.data.manifest import write_segments, write_times
from audiodl.data.synth.compose import FORMS, compose
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.common import FluidContext, plan_fixed, save_audio
from audiodl.data.synth.runner import item_rng

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate", "render_song"]

TASK = "structure"
DEFAULT_SR = 22050
MEAN_SECONDS = 100.0


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"forms": [" ".join(f) for f in FORMS], "tempo": [70, 160]}


def check():
    """Raise EngineUnavailable if FluidSynth or a soundfont is missing."""
    check_fluidsynth()


def plan(hours, seed, sr):
    """Item specs (prefix-stable), ~100 s per song."""
    return plan_fixed(hours, seed, mean_seconds=MEAN_SECONDS, prefix="st", width=6)


def make_context(sr):
    return FluidContext(sr)


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    rng = item_rng(spec["seed"], spec["index"], salt=31)
    tempo = float(rng.uniform(70, 160))
    form = FORMS[int(rng.integers(len(FORMS)))]
    roles = ["melody", "chords", "bass"] + (["arp"] if rng.random() < 0.4 else [])
    score = compose(rng, form=form, tempo=tempo, roles=roles, drums=bool(rng.random() < 0.8))
    return render_song(spec, ctx, out_dir, score, rng, jitter=0.008,
                       augment_p=dict(p_reverb=0.4, p_eq=0.4, p_noise=0.3, p_codec=0.1))


def render_song(spec, ctx, out_dir, score, rng, *, jitter, augment_p, meta=None):
    """Render a composed song, write its section/beat/onset labels; return its manifest item.

    Shared by the structure generators (same draws in the same order: soundfont,
    note jitter, augmentation). ``meta`` adds fields to the item's ``meta``.
    """
    sr = ctx.sr
    fonts = ctx.renderer.soundfonts
    soundfont = fonts[int(rng.integers(len(fonts)))]
    notes, programs, _ = score.to_notes(jitter=jitter, rng=rng)
    dur = score.duration() + 1.5  # tail
    y, onsets = ctx.renderer.render(notes, dur, programs=programs, soundfont=soundfont)
    y = y / (active_rms(y) + 1e-9) * 0.1
    y, aug = random_augment(y, sr, rng, **augment_p)
    sections = [(a, b, lab) for a, b, lab in score.section_times()]
    spb = 60.0 / score.tempo
    beats = [(k * spb, k % score.beats_per_bar + 1) for k in range(int(round(score.n_beats)))]
    base = f"labels/{spec['id']}"
    Path(out_dir, "labels").mkdir(parents=True, exist_ok=True)
    write_segments(Path(out_dir, base + ".sections"), sections)
    with open(Path(out_dir, base + ".beats"), "w", encoding="utf-8") as fh:
        for t, pos in beats:
            fh.write(f"{t:.6f}\t{pos}\n")
    write_times(Path(out_dir, base + ".onsets"), merge_onsets(onsets[np.isfinite(onsets)]))
    rel_audio = f"audio/{spec['id']}.flac"
    save_audio(Path(out_dir, rel_audio), y, sr)
    return {
        "id": spec["id"], "audio": rel_audio, "duration": round(len(y) / sr, 4), "sr": sr,
        "split": spec["split"], "task": TASK, "source": "synth", "labels": ["music"],
        "annotations": {"sections": base + ".sections", "beats": base + ".beats", "onsets": base + ".onsets"},
        "meta": {"form": [s[2] for s in sections], **(meta or {}), "tempo": round(score.tempo, 3),
                 "beats_per_bar": score.beats_per_bar, "key": score.key, "mode": score.mode,
                 "soundfont": soundfont, "programs": {str(k): int(v) for k, v in programs.items()},
                 "augment": aug},
    }
