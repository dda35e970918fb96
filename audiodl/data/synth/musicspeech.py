"""Music / speech corpus: clips and time-resolved mixtures with exact segments.

Item kinds (drawn per item):

``music``
    A rendered piece (FluidSynth, random GM instrumentation and soundfont):
    procedural, or (a share :func:`audiodl.data.synth.scores.fraction` of the
    items with music, when music21 is installed) a music21-corpus score.
``speech``
    TTS utterances (flite, MBROLA, espeak-ng voices; rate/pitch varied) with
    pauses.
``overlay``
    Speech over a music bed at a speech-to-music ratio of 0-25 dB; the
    music may fade in or out.
``alternation``
    Alternating music and speech stretches, with silence gaps or overlapping
    cross-fades.
``other``
    Noise or near-silence only (no class).

Labels are computed from the stems before mixing (frame RMS within 35 dB of
the stem's active level; gaps under 0.3 s (speech) / 0.5 s (music) closed),
written as ``start<TAB>end<TAB>class`` .lab files, classes ``music`` and
``speech``, overlapping allowed. The mixture is then augmented (EQ, room
reverb, noise, codec, gain).
"""

from __future__ import annotations

import numpy as np

from audiodl.data.augment import add_noise, random_augment
from audiodl.data.manifest import write_segments
from audiodl.data.synth.common import (
    FluidContext,
    plan_durations,
    activity_segments,
    fade,
    pick_voice,
    render_music,
    save_audio,
    speak,
    speech_voices,
)
from audiodl.data.synth import scores
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.runner import item_rng

TASK = "musicspeech"
DEFAULT_SR = 22050
CLASSES = ("music", "speech")
KINDS = ("music", "speech", "overlay", "alternation", "other")
KIND_P = (0.25, 0.22, 0.25, 0.23, 0.05)
DURATION = (10.0, 30.0)
SPEECH_GAP = 0.3
MUSIC_GAP = 0.5
SCORE_SALT = 101  # own random stream: procedural items are unchanged by the score option


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "duration": DURATION, "classes": CLASSES,
            "music21_scores": scores.fraction(),
            "label_rule": f"stem frame RMS > active RMS - 35 dB; gaps < {SPEECH_GAP}/{MUSIC_GAP} s closed"}


def check():
    """Raise EngineUnavailable if FluidSynth or every TTS voice is missing."""
    check_fluidsynth()
    speech_voices()


def plan(hours, seed, sr):
    """Item specs (prefix-stable)."""
    return plan_durations(hours, seed, prefix="ms", salt=1, kinds=KINDS, kind_p=KIND_P,
                          duration=DURATION, score_kinds=("music", "overlay", "alternation"),
                          score_salt=SCORE_SALT, score_fraction=scores.fraction())


class Context(FluidContext):
    """Per-worker state: one FluidSynth and the voice list."""

    def __init__(self, sr):
        super().__init__(sr)
        self.voices, self.weights = speech_voices()


def make_context(sr):
    return Context(sr)


def _speech_track(rng, ctx, duration, *, start_gap=(0.0, 1.5), pause=(0.2, 1.8)):
    """Utterances placed one after another on a silent track of ``duration``."""
    sr = ctx.sr
    n = int(round(duration * sr))
    track = np.zeros(n, dtype=np.float32)
    texts, voices = [], set()
    t = float(rng.uniform(*start_gap))
    voice = pick_voice(rng, ctx.voices, ctx.weights)
    while t < duration - 0.8:
        if rng.random() < 0.3:  # change speaker
            voice = pick_voice(rng, ctx.voices, ctx.weights)
        y, info = speak(rng, voice, sr)
        a = int(t * sr)
        b = min(n, a + len(y))
        if b - a < int(0.5 * sr):
            break
        gain = float(10 ** (rng.uniform(-4, 4) / 20.0))
        track[a:b] += y[: b - a] * gain
        texts.append(info["text"])
        voices.add(info["voice"])
        t = b / sr + float(rng.uniform(*pause))
    return track, {"texts": texts, "voices": sorted(voices)}


def _music_track(rng, ctx, duration, *, score=False):
    sc = scores.random_score(rng, duration) if score else None
    y, _, _, _, info = render_music(rng, ctx.renderer, duration, score=sc)
    return y, info


def _fit(y, n):
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def _place(track, y, start, sr):
    a = int(start * sr)
    b = min(len(track), a + len(y))
    if b > a:
        track[a:b] += y[: b - a]


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=2)
    dur = spec["duration"]
    n = int(round(dur * sr))
    kind = spec["kind"]
    music = np.zeros(n, dtype=np.float32)
    speech = np.zeros(n, dtype=np.float32)
    meta = {"kind": kind}
    use_score = bool(spec.get("score"))
    if kind == "music":
        music, meta["music"] = _music_track(rng, ctx, dur, score=use_score)
    elif kind == "speech":
        speech, meta["speech"] = _speech_track(rng, ctx, dur)
    elif kind == "overlay":
        bed, meta["music"] = _music_track(rng, ctx, dur, score=use_score)
        a = float(rng.uniform(0, dur * 0.3)) if rng.random() < 0.4 else 0.0
        b = float(rng.uniform(dur * 0.7, dur)) if rng.random() < 0.4 else dur
        seg = fade(bed[int(a * sr):int(b * sr)], sr, fade_in=float(rng.uniform(0.05, 1.5)) if a > 0 else 0.0,
                   fade_out=float(rng.uniform(0.05, 1.5)) if b < dur else 0.0)
        _place(music, seg, a, sr)
        speech, meta["speech"] = _speech_track(rng, ctx, dur)
        smr = float(rng.uniform(0.0, 25.0))
        music *= 10 ** (-smr / 20.0)
        meta["speech_to_music_db"] = round(smr, 2)
    elif kind == "alternation":
        t = float(rng.uniform(0, 1.0))
        meta["music"], meta["speech"] = [], {"texts": [], "voices": []}
        turn = "music" if rng.random() < 0.5 else "speech"
        while t < dur - 1.0:
            length = float(rng.uniform(3.0, 10.0)) if turn == "music" else float(rng.uniform(2.5, 8.0))
            length = min(length, dur - t)
            if turn == "music":
                y, info = _music_track(rng, ctx, length, score=use_score)
                y = fade(y, sr, fade_in=float(rng.uniform(0.01, 0.8)), fade_out=float(rng.uniform(0.05, 1.0)))
                y *= 10 ** (rng.uniform(-8, 4) / 20.0)
                _place(music, y, t, sr)
                meta["music"].append(info)
            else:
                y, info = _speech_track(rng, ctx, length, start_gap=(0.0, 0.2))
                _place(speech, y, t, sr)
                meta["speech"]["texts"] += info["texts"]
                meta["speech"]["voices"] = sorted(set(meta["speech"]["voices"]) | set(info["voices"]))
            gap = float(rng.uniform(-1.0, 1.5))  # negative: overlap (cross-fade)
            t = max(t + 0.5, t + length + gap)
            turn = "speech" if turn == "music" else "music"
    music, speech = _fit(music, n), _fit(speech, n)
    # labels from the stems
    segments = []
    if np.any(music):
        segments += activity_segments(music, sr, label="music", min_gap=MUSIC_GAP)
    if np.any(speech):
        segments += activity_segments(speech, sr, label="speech", min_gap=SPEECH_GAP)
    segments.sort()
    mix = music + speech
    if kind == "other" or not np.any(mix):
        mix = add_noise(np.zeros(n, dtype=np.float32) + 1e-3 * rng.standard_normal(n).astype(np.float32),
                        snr_db=float(rng.uniform(-10, 10)), rng=rng,
                        color=str(rng.choice(["white", "pink", "brown"])))
        mix *= 10 ** (rng.uniform(-50, -20) / 20.0) / (np.max(np.abs(mix)) + 1e-9)
        aug = {}
    else:
        mix, aug = random_augment(mix, sr, rng, p_reverb=0.5, p_eq=0.5, p_noise=0.4, p_codec=0.15)
    meta["augment"] = aug
    rel_audio = f"audio/{spec['id']}.flac"
    rel_lab = f"labels/{spec['id']}.lab"
    save_audio(f"{out_dir}/{rel_audio}", mix, sr)
    from pathlib import Path

    Path(out_dir, "labels").mkdir(exist_ok=True)
    write_segments(Path(out_dir, rel_lab), segments)
    item = {
        "id": spec["id"], "audio": rel_audio, "duration": round(n / sr, 4), "sr": sr,
        "split": spec["split"], "task": TASK, "source": "synth",
        "labels": sorted({s[2] for s in segments}),
        "annotations": {"segments": rel_lab}, "meta": meta,
    }
    if spec.get("keep_stems"):
        stems = {}
        for name, y in (("music", music), ("speech", speech)):
            rel = f"stems/{spec['id']}.{name}.flac"
            save_audio(f"{out_dir}/{rel}", y, sr)
            stems[name] = rel
        item["stems"] = stems
    return item
