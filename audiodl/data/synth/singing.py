"""Singing-voice corpus: rendered accompaniment + an MBROLA "vocalise" line.

The melody of a procedural song is sung by an MBROLA voice (us1/us2/us3):
one consonant-vowel syllable per note, exact durations, pitch points that
follow the score with vibrato and small pitch glides. MBROLA honours the .pho
durations exactly, so vocal activity is known to the sample. The voice is
mixed over the accompaniment at a vocal-to-accompaniment ratio of -6..+8 dB.

Item kinds (hard negatives included):

``vocal``         the melody sung (accompaniment without the melody part)
``instrumental``  the melody on a lead instrument, no voice
``choir``         the melody on GM "voice oohs"/"choir aahs" (not singing)
``speech``        TTS speech over the accompaniment (not singing)

Labels: ``.lab`` with ``sing``/``nosing`` segments (Jamendo's format),
``sing`` where a syllable is scheduled or the voice stem is audible (frame
RMS within 35 dB of its active level; diphone transitions begin a little
inside the preceding silence), pieces closer than 0.1 s joined.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms, random_augment
from audiodl.data.manifest import write_segments
from audiodl.data.synth.common import FluidContext, plan_durations, activity_segments, save_audio
from audiodl.data.synth.compose import compose
from audiodl.data.synth.engines import (
    INSTALL_HINT,
    MBROLA_DIRS,
    EngineUnavailable,
    check_fluidsynth,
)
from audiodl.data.synth.runner import item_rng

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate", "sing"]

TASK = "singing"
DEFAULT_SR = 22050
KINDS = ("vocal", "instrumental", "choir", "speech")
KIND_P = (0.6, 0.15, 0.1, 0.15)
DURATION = (20.0, 40.0)
VOICES = ("us1", "us2", "us3")
VOWELS = ("A", "i", "u", "E", "O", "@", "I", "U")
CONSONANTS = ("l", "m", "n", "d", "t", "b", "s", "h", "w", "j")
JOIN_GAP = 0.1


def _voice_paths():
    out = {}
    for v in VOICES:
        for d in MBROLA_DIRS:
            p = Path(d, v, v)
            if p.is_file():
                out[v] = os.fspath(p)
                break
    return out


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "voices": sorted(_voice_paths()), "duration": DURATION,
            "vocal_to_accompaniment_db": [-6, 8]}


def check():
    """Raise EngineUnavailable when FluidSynth or the MBROLA voices are missing."""
    check_fluidsynth()
    if shutil.which("mbrola") is None or not _voice_paths():
        raise EngineUnavailable(f"MBROLA (mbrola + mbrola-us1/us2/us3) is not installed; {INSTALL_HINT}")


def plan(hours, seed, sr):
    """Item specs (prefix-stable)."""
    return plan_durations(hours, seed, prefix="sg", salt=51, kinds=KINDS, kind_p=KIND_P,
                          duration=DURATION)


class Context(FluidContext):
    def __init__(self, sr):
        super().__init__(sr)
        self.voices = _voice_paths()


def make_context(sr):
    return Context(sr)


def sing(notes, duration, *, voice_path, rng, sr, fold=None):
    """Sing ``notes`` with MBROLA.

    Parameters
    ----------
    notes : sequence of (start, end, pitch) [seconds, seconds, MIDI]
        Monophonic, sorted; overlaps are cut.
    duration : float [seconds]
    voice_path : str
        MBROLA voice database.
    rng : np.random.Generator
    sr : int [Hz] output rate
    fold : (float, float) or None [Hz]
        Move each note by octaves into this range (used by :func:`sing_safely`
        when MBROLA refuses a melody's pitches).

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
    spans : list of (float, float)
        Exact sung time spans (one per syllable).
    """
    from audiodl.io.audio import resample

    lines, spans = [], []
    t = 0.0
    vib_rate = float(rng.uniform(4.5, 6.5))
    vib_depth = float(rng.uniform(20, 60))  # cents
    for k, (start, end, pitch) in enumerate(notes):
        nxt = notes[k + 1][0] if k + 1 < len(notes) else duration
        end = min(end, nxt - 0.02, duration - 0.05)
        if end - start < 0.09 or start < t:
            continue
        if start > t:
            lines.append(f"_ {1000 * (start - t):.1f}")
        cons_ms = float(min(70.0, 0.3 * 1000 * (end - start)))
        vow_ms = 1000 * (end - start) - cons_ms
        f0 = 440.0 * 2 ** ((pitch - 69) / 12.0)
        if fold is not None:
            while f0 < fold[0]:
                f0 *= 2.0
            while f0 > fold[1]:
                f0 /= 2.0
        c = CONSONANTS[int(rng.integers(len(CONSONANTS)))]
        v = VOWELS[int(rng.integers(len(VOWELS)))]
        lines.append(f"{c} {cons_ms:.1f} 50 {f0:.2f}")
        pts = []
        n_pts = max(2, int(vow_ms / 40))
        for j in range(n_pts + 1):
            pos = 100.0 * j / n_pts
            tt = (cons_ms + vow_ms * j / n_pts) / 1000.0
            depth = vib_depth * min(1.0, tt / 0.25)  # vibrato grows in
            cents = depth * np.sin(2 * np.pi * vib_rate * tt)
            if j == 0:
                cents -= float(rng.uniform(0, 40))  # scoop into the note
            pts.append(f"{pos:.0f} {f0 * 2 ** (cents / 1200):.2f}")
        lines.append(f"{v} {vow_ms:.1f} " + " ".join(pts))
        spans.append((round(start, 4), round(end, 4)))
        t = end
    if duration > t:
        lines.append(f"_ {1000 * (duration - t):.1f}")
    with tempfile.TemporaryDirectory(prefix="audiodl-sing-") as tmp:
        pho = os.path.join(tmp, "x.pho")
        wav = os.path.join(tmp, "x.wav")
        with open(pho, "w") as fh:
            fh.write("_ 1\n" + "\n".join(lines) + "\n")
        proc = subprocess.run(["mbrola", "-e", voice_path, pho, wav], capture_output=True, timeout=120)
        if proc.returncode != 0 or not os.path.exists(wav):
            raise EngineUnavailable(f"mbrola failed: {proc.stderr.decode(errors='replace')[-300:]}")
        import soundfile as sf

        y, vsr = sf.read(wav, dtype="float32")
    y = y[int(0.001 * vsr):]  # the leading 1 ms silence
    if vsr != sr:
        y = resample(y, vsr, sr)
    n = int(round(duration * sr))
    y = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
    return y.astype(np.float32), spans


#: pitch range MBROLA's diphone voices sing without "Concat : PANIC, check your pitch" [Hz]
SAFE_F0 = (110.0, 330.0)


def sing_safely(notes, duration, *, voice_path, rng, sr):
    """:func:`sing`, retried once with the melody folded by octaves into :data:`SAFE_F0`.

    MBROLA aborts on some melodies whose pitches leave the voice's range; one
    such song used to abort a whole corpus. The retry keeps the rhythm and the
    pitch classes; the item records ``pitch_folded``. Songs MBROLA sings
    directly are unchanged (and so are existing corpora).
    """
    state = rng.bit_generator.state
    try:
        return sing(notes, duration, voice_path=voice_path, rng=rng, sr=sr), False
    except EngineUnavailable as exc:
        if "PANIC" not in str(exc) and "pitch" not in str(exc):
            raise
        rng.bit_generator.state = state
        return sing(notes, duration, voice_path=voice_path, rng=rng, sr=sr,
                    fold=SAFE_F0), True


def _join(spans, gap):
    out = []
    for a, b in spans:
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    from types import SimpleNamespace

    from audiodl.data.synth.common import speech_voices
    from audiodl.data.synth.musicspeech import _speech_track

    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=52)
    dur = spec["duration"]
    kind = spec["kind"]
    score = compose(rng, duration=dur, tempo=float(rng.uniform(70, 150)),
                    roles=["melody", "chords", "bass"] + (["arp"] if rng.random() < 0.3 else []))
    mel = score.melody_part
    fonts = ctx.renderer.soundfonts
    soundfont = fonts[int(rng.integers(len(fonts)))]
    accomp = [k for k in range(len(score.parts)) if k != mel]
    notes, programs, _ = score.to_notes(jitter=0.008, rng=rng, parts=accomp if kind in ("vocal", "speech") else None,
                                        program_map={mel: int(rng.choice([52, 53, 54]))} if kind == "choir" else None)
    acc, _ = ctx.renderer.render(notes, dur, programs=programs, soundfont=soundfont)
    acc = acc / (active_rms(acc) + 1e-9) * 0.1
    n = len(acc)
    vocal = np.zeros(n, dtype=np.float32)
    meta = {"kind": kind, "soundfont": soundfont, "tempo": round(score.tempo, 3),
            "programs": {str(k): int(v) for k, v in programs.items()}}
    sing_spans = []
    if kind == "vocal":
        mel_notes, _, _ = score.to_notes(jitter=0.01, rng=rng, parts=[mel],
                                         transpose=int(rng.choice([-12, 0, 0])))
        mel_notes = sorted((a, b, p) for a, b, p, _, _ in mel_notes)
        voice = sorted(ctx.voices)[int(rng.integers(len(ctx.voices)))]
        (vocal, spans), folded = sing_safely(mel_notes, dur, voice_path=ctx.voices[voice],
                                             rng=rng, sr=sr)
        if folded:
            meta["pitch_folded"] = list(SAFE_F0)
        # diphones start a consonant's transition inside the preceding silence:
        # the label is the union of the syllable spans and the stem's activity
        heard = [(a, b) for a, b, _ in activity_segments(vocal, sr, label="sing", threshold_db=-35.0,
                                                          min_gap=JOIN_GAP, min_duration=0.02)]
        sing_spans = _join(sorted(spans + heard), JOIN_GAP)
        meta["voice"] = f"mbrola:{voice}"
    elif kind == "speech":
        voices, weights = speech_voices()
        sctx = SimpleNamespace(sr=sr, voices=voices, weights=weights)
        vocal, info = _speech_track(rng, sctx, dur)
        vocal = vocal[:n] if len(vocal) >= n else np.pad(vocal, (0, n - len(vocal)))
        meta["speech"] = info
    if np.any(vocal):
        vocal = vocal / (active_rms(vocal) + 1e-9) * 0.1
        vac = float(rng.uniform(-6, 8))
        vocal *= 10 ** (vac / 20.0)
        meta["vocal_to_accompaniment_db"] = round(vac, 2)
    mix = acc + vocal
    mix, aug = random_augment(mix, sr, rng, p_reverb=0.5, p_eq=0.4, p_noise=0.3, p_codec=0.15)
    meta["augment"] = aug
    segs, t = [], 0.0
    for a, b in sing_spans:
        if a > t:
            segs.append((t, a, "nosing"))
        segs.append((a, b, "sing"))
        t = b
    if n / sr > t:
        segs.append((t, round(n / sr, 4), "nosing"))
    rel_audio = f"audio/{spec['id']}.flac"
    rel_lab = f"labels/{spec['id']}.lab"
    save_audio(Path(out_dir, rel_audio), mix, sr)
    Path(out_dir, "labels").mkdir(exist_ok=True)
    write_segments(Path(out_dir, rel_lab), segs)
    item = {"id": spec["id"], "audio": rel_audio, "duration": round(n / sr, 4), "sr": sr,
            "split": spec["split"], "task": TASK, "source": "synth",
            "labels": ["music"] + (["singing"] if sing_spans else []) + (["speech"] if kind == "speech" else []),
            "annotations": {"vocals": rel_lab}, "meta": meta}
    if spec.get("keep_stems"):
        item["stems"] = {}
        for name, y in (("accompaniment", acc), ("vocals", vocal)):
            rel = f"stems/{spec['id']}.{name}.flac"
            save_audio(Path(out_dir, rel), y, sr)
            item["stems"][name] = rel
    return item
