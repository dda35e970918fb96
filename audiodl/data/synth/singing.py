"""Singing-voice corpus: rendered accompaniment + a sung line from one of three engines.

Singing engines (``meta.engine``; ``meta.voice`` is ``engine:voice``):

``mbrola``    MBROLA "vocalise" (kind ``vocal``), described below;
``festival``  festival's singing mode (kind ``festival``): an XML score of the
              melody (one word per note) sung by a festival diphone voice;
              festival sings an octave below the written notes and its
              timing drifts from the score, so the label is the voice stem's
              activity;
``world``     WORLD-vocoded speech on the melody (kind ``world``, needs
              ``pyworld``): TTS or real (Asterisk) speech is analysed with the
              WORLD vocoder, slowed down, its F0 replaced by the melody's
              notes (with vibrato) and resynthesised; label = stem activity.

The MBROLA melody of a procedural song is sung by an MBROLA voice (us1/us2/us3):
one consonant-vowel syllable per note, exact durations, pitch points that
follow the score with vibrato and small pitch glides. MBROLA honours the .pho
durations exactly, so vocal activity is known to the sample. The voice is
mixed over the accompaniment at a vocal-to-accompaniment ratio of -6..+8 dB.

Item kinds (hard negatives included):

``vocal``         the melody sung (accompaniment without the melody part)
``instrumental``  the melody on a lead instrument, no voice
``choir``         the melody on GM "voice oohs"/"choir aahs" (not singing)
``speech``        TTS or real (Asterisk IVR prompts) speech over the
                  accompaniment, half the time with the melody on an
                  instrument (not singing: a radio host, a narrator);
                  40 % of them with the music 20-40 dB down (speech alone)
``mixed``         speech over the first part of the song, then a sung line
                  (MBROLA or festival) — the two voices in one song
``festival``      the melody sung by festival (see above)
``world``         the melody imposed on speech by the WORLD vocoder

Lead instruments of ``instrumental`` items are often flute, violin,
saxophones, clarinet, oboe, trumpet or GM synth leads (incl. the "voice"
lead); ``choir`` items use choir aahs, voice oohs, synth voice or the voice
lead.

Labels: ``.lab`` with ``sing``/``nosing`` segments (Jamendo's format),
``sing`` where a syllable is scheduled or the voice stem is audible (frame
RMS within 35 dB of its active level; diphone transitions begin a little
inside the preceding silence), pieces closer than 0.1 s joined.
"""

from __future__ import annotations

import functools
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

__all__ = ["TASK", "DEFAULT_SR", "KINDS", "ENGINE", "check", "engines", "plan", "make_context", "generate",
           "sing", "festival_sing", "world_sing", "real_speech_track", "real_voice_files"]

TASK = "singing"
DEFAULT_SR = 22050
KINDS = ("vocal", "instrumental", "choir", "speech", "mixed", "festival", "world")
KIND_P = (0.28, 0.14, 0.08, 0.2, 0.1, 0.12, 0.08)
#: kinds whose melody is sung, and their engine
ENGINE = {"vocal": "mbrola", "festival": "festival", "world": "world"}
#: GM programs of instrumental leads: flute, violin, alto/tenor sax, clarinet, oboe,
#: trumpet, square/saw/calliope/voice synth leads
LEAD_PROGRAMS = (73, 40, 65, 66, 71, 68, 56, 80, 81, 82, 85)
#: GM programs of wind/pipe/breathy leads: piccolo ... ocarina (72-79), synth leads
#: (square, saw, calliope, chiff, charang, voice, fifths), pads (new age, warm)
WIND_LEADS = (72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 88, 89)
#: GM programs of choir/"ooh" pads: choir aahs, voice oohs, synth voice, voice lead
CHOIR_PROGRAMS = (52, 53, 54, 85)
FESTIVAL_WORDS = ("la", "love", "you", "me", "oh", "day", "night", "see", "go", "home", "heart",
                  "sky", "fly", "away", "light", "sun", "rain", "time", "know", "feel", "dream",
                  "my", "so", "low", "high", "sea", "stay", "run", "one", "true", "blue")
ASTERISK_EN = "/usr/share/asterisk/sounds/en"
#: share of ``speech`` items whose accompaniment is 20-40 dB down (speech alone)
SOLO_SPEECH_P = 0.4
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
            "engines": engines(),
            "vocal_to_accompaniment_db": [-6, 8]}


def engines():
    """Singing engines installed here (sorted list of str)."""
    out = []
    if shutil.which("mbrola") is not None and _voice_paths():
        out.append("mbrola")
    if festival_singing_voice() is not None:
        out.append("festival")
    try:
        import_pyworld()
        out.append("world")
    except EngineUnavailable:
        pass
    return sorted(out)


def import_pyworld():
    """The ``pyworld`` module (WORLD vocoder).

    pyworld 0.3.5 reads its version with ``pkg_resources``, which recent
    setuptools no longer ship; a stand-in answering from
    :mod:`importlib.metadata` is put in place for that one import.

    Raises
    ------
    EngineUnavailable
        When pyworld is not installed.
    """
    import sys
    import types
    try:
        import pyworld
        return pyworld
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise EngineUnavailable("pyworld is not installed (pip install pyworld)") from exc
    from importlib import metadata
    stub = types.ModuleType("pkg_resources")
    stub.get_distribution = lambda name: types.SimpleNamespace(version=metadata.version(name))
    sys.modules["pkg_resources"] = stub
    try:
        import pyworld
    finally:
        if sys.modules.get("pkg_resources") is stub:
            del sys.modules["pkg_resources"]
    return pyworld


def festival_singing_voice():
    """The festival diphone voice used for singing, or None when festival has none."""
    from audiodl.data.synth.engines import _festival_voices
    v = _festival_voices()
    return v[0].name if v else None


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
    pitch classes; the item records ``pitch_folded``. If MBROLA still aborts and
    the first note comes after a long rest, it sings from 1 s before that note
    and the rest is put back as silence (melody as written, then folded). Songs
    MBROLA sings directly are unchanged (and so are existing corpora).
    """
    state = rng.bit_generator.state

    def panicked(exc):
        return "PANIC" in str(exc) or "pitch" in str(exc)
    try:
        return sing(notes, duration, voice_path=voice_path, rng=rng, sr=sr), False
    except EngineUnavailable as exc:
        if not panicked(exc):
            raise
    rng.bit_generator.state = state
    try:
        return sing(notes, duration, voice_path=voice_path, rng=rng, sr=sr,
                    fold=SAFE_F0), True
    except EngineUnavailable as exc:
        lead = float(notes[0][0]) - 1.0 if len(notes) else 0.0
        if not panicked(exc) or lead <= 0:
            raise
    # A long rest before the first note (speech first, then singing: ~19.5 s) makes MBROLA
    # panic too, whatever the pitch: sing from 1 s before the first note, then put the
    # rest back as silence (same random draws, so the same song otherwise).
    shifted = [(s - lead, e - lead, p) for s, e, p in notes]
    for fold, folded in ((None, False), (SAFE_F0, True)):
        rng.bit_generator.state = state
        try:
            y, spans = sing(shifted, duration - lead, voice_path=voice_path, rng=rng, sr=sr,
                            fold=fold)
        except EngineUnavailable as exc:
            if fold is not None or not panicked(exc):
                raise
            continue
        n = int(round(duration * sr))
        y = np.concatenate([np.zeros(n - len(y), np.float32), y]) if len(y) < n else y[-n:]
        return (y, [(round(a + lead, 4), round(b + lead, 4)) for a, b in spans]), folded


NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def festival_sing(notes, duration, *, voice, rng, sr, timeout=120.0):
    """Sing ``notes`` with festival's singing mode.

    Parameters
    ----------
    notes : sequence of (start, end, pitch) [seconds, seconds, MIDI]
        Monophonic, sorted. Festival sings an octave below the written note,
        so the score is written an octave up.
    duration : float [seconds]
    voice : str
        Festival voice (e.g. ``kal_diphone``).
    rng : np.random.Generator
    sr : int [Hz]

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
        The voice placed at the first note's start (festival's own timing
        afterwards: it drifts from the score by up to ~15 %).
    """
    import soundfile as sf

    from audiodl.io.audio import resample
    exe = shutil.which("text2wave")
    if exe is None:
        raise EngineUnavailable(f"festival (text2wave) is not installed; {INSTALL_HINT}")
    notes = [(a, b, p) for a, b, p in notes if b - a >= 0.09]
    if not notes:
        return np.zeros(int(round(duration * sr)), np.float32)
    rows, t = [], notes[0][0]
    for a, b, pitch in notes:
        if a > t + 0.02:
            rows.append(f'<REST BEATS="{a - t:.3f}"></REST>')
        pitch = int(pitch) + 12
        while pitch > 72:  # festival segfaults on written notes above ~C5 (sung C4)
            pitch -= 12
        while pitch < 48:
            pitch += 12
        name = f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"
        word = FESTIVAL_WORDS[int(rng.integers(len(FESTIVAL_WORDS)))]
        rows.append(f'<PITCH NOTE="{name}"><DURATION BEATS="{b - max(a, t):.3f}">{word}</DURATION></PITCH>')
        t = b
    xml = ('<?xml version="1.0"?>\n<!DOCTYPE SINGING PUBLIC "-//SINGING//DTD SINGING mark up//EN" '
           '"Singing.v0_1.dtd" []>\n<SINGING BPM="60">\n' + "\n".join(rows) + "\n</SINGING>\n")
    with tempfile.TemporaryDirectory(prefix="audiodl-fsing-") as tmp:
        src, wav = os.path.join(tmp, "x.xml"), os.path.join(tmp, "x.wav")
        with open(src, "w") as fh:
            fh.write(xml)
        proc = subprocess.run([exe, "-mode", "singing", src, "-o", wav, "-eval", f"(voice_{voice})"],
                              capture_output=True, timeout=timeout)
        if proc.returncode != 0 or not os.path.exists(wav):
            raise EngineUnavailable(f"festival singing failed: {proc.stderr.decode(errors='replace')[-300:]}")
        y, vsr = sf.read(wav, dtype="float32")
    if y.ndim > 1:
        y = y.mean(1)
    if vsr != sr:
        y = resample(y, vsr, sr)
    n = int(round(duration * sr))
    out = np.zeros(n, np.float32)
    a = int(notes[0][0] * sr)
    k = min(len(y), n - a)
    if k > 0:
        out[a:a + k] = y[:k]
    return out


def _asterisk_files():
    root = Path(ASTERISK_EN)
    if not root.is_dir():
        return []
    return sorted(os.fspath(p) for p in root.rglob("*.wav"))


#: further real voices for ``real_voices`` specs (recipes/singing/leads.py --speech):
#: Asterisk's Spanish prompts and klettres' letters and syllables, one speaker per language
REAL_VOICE_ROOTS = (("/usr/share/asterisk/sounds/es", "*.wav"), ("/usr/share/klettres", "*.ogg"))


def real_voice_files():
    """Real recorded speech files installed here: the Asterisk English and Spanish prompts
    and every klettres language (sorted; empty when none is installed)."""
    return list(_real_voice_files())


@functools.lru_cache(maxsize=1)
def _real_voice_files():
    """The folders are walked once per process (a corpus asks for every speech item)."""
    files = list(_asterisk_files())
    for root, pattern in REAL_VOICE_ROOTS:
        if Path(root).is_dir():
            files += sorted(os.fspath(p) for p in Path(root).rglob(pattern))
    return tuple(files)


def _voice_of(path):
    """``asterisk:en``, ``asterisk:es`` or ``klettres:<language>`` for a real speech file."""
    parts = Path(path).parts
    if "klettres" in parts[:-1]:
        return "klettres:" + parts[parts.index("klettres") + 1]
    spanish = "sounds" in parts[:-1] and parts[parts.index("sounds") + 1].startswith("es")
    return "asterisk:es" if spanish else "asterisk:en"


def real_speech_track(rng, duration, sr, *, files=None, start_gap=(0.0, 1.5), pause=(0.2, 1.5)):
    """Real recorded speech files one after another on a silent track: the Asterisk English
    IVR prompts (one real voice), or ``files`` (e.g. :func:`real_voice_files`).

    Returns ``(track, info)`` or ``(None, None)`` when the prompts are not installed.
    """
    import soundfile as sf

    from audiodl.io.audio import resample
    files_given = files is not None
    files = files if files_given else _asterisk_files()
    if not files:
        return None, None
    n = int(round(duration * sr))
    track = np.zeros(n, np.float32)
    used = []
    t = float(rng.uniform(*start_gap))
    while t < duration - 0.8:
        f = files[int(rng.integers(len(files)))]
        y, vsr = sf.read(f, dtype="float32")
        if y.ndim > 1:
            y = y.mean(1)
        if len(y) < 0.3 * vsr:
            continue
        y = resample(y, vsr, sr) / (active_rms(y) + 1e-9) * 0.1
        a = int(t * sr)
        b = min(n, a + len(y))
        if b - a < int(0.5 * sr):
            break
        track[a:b] += y[: b - a] * float(10 ** (rng.uniform(-3, 3) / 20.0))
        used.append(f)
        t = b / sr + float(rng.uniform(*pause))
    return track, {"voices": sorted({_voice_of(f) for f in used}) if files_given
                   else ["asterisk:en"], "prompts": [Path(f).stem for f in used]}


def world_sing(notes, duration, *, rng, sr, speech):
    """Impose a melody on speech with the WORLD vocoder (``pyworld``).

    ``speech`` is ``(y, speech_sr)`` of one or more utterances. The speech is
    slowed by a random factor 1.3..2.2 (sung syllables are longer), placed
    from the first note on, and every voiced frame takes the pitch of the note
    sounding at its time (else the last one), with vibrato; unvoiced frames
    stay unvoiced.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),)], float32
    """
    pyworld = import_pyworld()
    from audiodl.io.audio import resample
    y, ssr = speech
    y = np.asarray(y, np.float64)
    if ssr != 16000:
        y = resample(y.astype(np.float32), ssr, 16000).astype(np.float64)
        ssr = 16000
    period = 5.0
    f0, tt = pyworld.dio(y, ssr, frame_period=period, f0_floor=60.0, f0_ceil=500.0)
    f0 = pyworld.stonemask(y, f0, tt, ssr)
    sp = pyworld.cheaptrick(y, f0, tt, ssr)
    ap = pyworld.d4c(y, f0, tt, ssr)
    slow = float(rng.uniform(1.3, 2.2))
    m = int(len(f0) * slow)
    idx = np.minimum((np.arange(m) / slow).astype(int), len(f0) - 1)
    voiced, sp, ap = f0[idx] > 0, np.ascontiguousarray(sp[idx]), np.ascontiguousarray(ap[idx])
    t0 = notes[0][0] if notes else 0.0
    times = t0 + np.arange(m) * period / 1000.0
    starts = np.array([a for a, _, _ in notes]) if notes else np.zeros(1)
    pitches = np.array([p for _, _, p in notes], float) if notes else np.full(1, 60.0)
    k = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(pitches) - 1)
    midi = pitches[k]
    while np.median(midi) > 67:
        midi = midi - 12
    while np.median(midi) < 45:
        midi = midi + 12
    vib = float(rng.uniform(20, 50)) * np.sin(2 * np.pi * float(rng.uniform(4.5, 6.5)) * times)
    new_f0 = np.where(voiced, 440.0 * 2 ** ((midi + vib / 100.0 - 69) / 12.0), 0.0)
    out = pyworld.synthesize(np.ascontiguousarray(new_f0), sp, ap, ssr, frame_period=period)
    out = resample(out.astype(np.float32), ssr, sr)
    n = int(round(duration * sr))
    track = np.zeros(n, np.float32)
    a = int(t0 * sr)
    k = min(len(out), n - a)
    if k > 0:
        track[a:a + k] = out[:k]
    return track


def _join(spans, gap):
    out = []
    for a, b in spans:
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _speech_for(rng, sr, seconds, *, real_p=0.3, files=None):
    """About ``seconds`` of speech at ``sr``: TTS voices or (``real_p``) real recorded speech,
    the Asterisk English prompts unless ``files`` lists others."""
    from types import SimpleNamespace

    from audiodl.data.synth.common import speech_voices
    from audiodl.data.synth.musicspeech import _speech_track
    if rng.random() < real_p:
        y, info = real_speech_track(rng, seconds, sr, files=files)
        if y is not None:
            return y, info
    voices, weights = speech_voices()
    y, info = _speech_track(rng, SimpleNamespace(sr=sr, voices=voices, weights=weights), seconds)
    return y, info


def _norm(y, gain_db=0.0):
    if not np.any(y):
        return y
    return (y / (active_rms(y) + 1e-9) * 0.1 * 10 ** (gain_db / 20.0)).astype(np.float32)


def _sung_line(kind, mel_notes, dur, ctx, rng, rng2, meta):
    """The sung stem of ``kind`` and its sung spans (label), updating ``meta``."""
    sr = ctx.sr
    if kind in ("vocal", "mixed_mbrola"):
        voice = sorted(ctx.voices)[int(rng.integers(len(ctx.voices)))]
        (vocal, spans), folded = sing_safely(mel_notes, dur, voice_path=ctx.voices[voice],
                                             rng=rng, sr=sr)
        if folded:
            meta["pitch_folded"] = list(SAFE_F0)
        meta["engine"], meta["voice"] = "mbrola", f"mbrola:{voice}"
    elif kind in ("festival", "mixed_festival"):
        voice = festival_singing_voice()
        if voice is None:
            raise EngineUnavailable(f"festival has no voice for singing; {INSTALL_HINT}")
        vocal, spans = festival_sing(mel_notes, dur, voice=voice, rng=rng2, sr=sr), []
        meta["engine"], meta["voice"] = "festival", f"festival:{voice}"
    elif kind == "world":
        t0 = mel_notes[0][0] if mel_notes else 0.0
        sp, info = _speech_for(rng2, 16000, max(2.0, (dur - t0) / 1.6), real_p=0.3)
        vocal = world_sing(mel_notes, dur, rng=rng2, sr=sr, speech=(sp, 16000))
        spans = []
        meta["engine"] = "world"
        meta["voice"] = "world:" + "+".join(info.get("voices", []))
    else:
        raise ValueError(kind)
    # diphones start a consonant's transition inside the preceding silence:
    # the label is the union of the syllable spans and the stem's activity
    heard = [(a, b) for a, b, _ in activity_segments(vocal, sr, label="sing", threshold_db=-35.0,
                                                      min_gap=JOIN_GAP, min_duration=0.02)]
    return vocal, _join(sorted(list(spans) + heard), JOIN_GAP)


def lead_expression(notes, channel, rng, *, step=0.01):
    """Singer-like expression for a lead instrument's melody (hard negatives).

    Per note on ``channel``: a pitch scoop into the note (half the notes,
    30-150 cents below, 50-150 ms), vibrato that grows in after 0.15-0.4 s
    (4.5-7 Hz, 15-70 cents, rate and depth drawn per item, jittered per
    note) and an expression (CC 11) swell. Returns ``(controls, bends)`` for
    :meth:`~audiodl.data.synth.engines.FluidRenderer.render`.
    """
    rate0 = float(rng.uniform(4.5, 7.0))
    depth0 = float(rng.uniform(15.0, 70.0))
    scoop_p = float(rng.uniform(0.2, 0.8))
    controls, bends = [], []
    per_cent = 4096.0 / 100.0  # default bend range: two semitones over 8192
    for start, end, _, _, ch in sorted(x for x in notes if x[4] == channel):
        dur = end - start
        rate = rate0 * float(rng.uniform(0.9, 1.1))
        depth = depth0 * float(rng.uniform(0.7, 1.3))
        delay = float(rng.uniform(0.15, 0.4))
        scoop = float(rng.uniform(30, 150)) if rng.random() < scoop_p else 0.0
        scoop_t = float(rng.uniform(0.05, 0.15))
        phase = float(rng.uniform(0, 2 * np.pi))
        t = np.arange(0.0, dur, step)
        cents = -scoop * np.clip(1.0 - t / scoop_t, 0.0, 1.0)
        grow = np.clip((t - delay) / 0.3, 0.0, 1.0)
        cents = cents + depth * grow * np.sin(2 * np.pi * rate * t + phase)
        bends += [(start + float(a), ch, int(round(c * per_cent))) for a, c in zip(t, cents)]
        lo, hi = int(rng.integers(60, 100)), int(rng.integers(105, 128))
        for a in np.arange(0.0, dur, 0.05):
            x = min(1.0, a / max(0.1, 0.6 * dur))
            controls.append((start + float(a), ch, 11, int(lo + (hi - lo) * x)))
    return controls, bends


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=52)
    rng2 = item_rng(spec["seed"], spec["index"], salt=53)  # draws added after the first version
    dur = spec["duration"]
    kind = spec["kind"]
    score = compose(rng, duration=dur, tempo=float(rng.uniform(70, 150)),
                    roles=["melody", "chords", "bass"] + (["arp"] if rng.random() < 0.3 else []))
    mel = score.melody_part
    fonts = ctx.renderer.soundfonts
    soundfont = fonts[int(rng.integers(len(fonts)))]
    if spec.get("soundfont") is not None:  # forced (recipes/singing/leads.py); draws unchanged
        soundfont = spec["soundfont"]
    accomp = [k for k in range(len(score.parts)) if k != mel]
    sung_kind = kind in ENGINE or kind == "mixed"
    with_melody = kind in ("instrumental", "choir") or (kind == "speech" and rng2.random() < 0.5)
    program_map = None
    if kind == "choir":
        program_map = {mel: int(rng.choice([52, 53, 54]))}
        if rng2.random() < 0.3:
            program_map = {mel: int(rng2.choice(CHOIR_PROGRAMS))}
    elif kind in ("instrumental", "speech") and rng2.random() < 0.6:
        program_map = {mel: int(rng2.choice(LEAD_PROGRAMS))}
    if kind == "instrumental" and spec.get("lead") is not None:
        # a forced lead program (recipes/singing/leads.py); the draws above stay as they were
        program_map = {mel: int(spec["lead"])}
    notes, programs, _ = score.to_notes(jitter=0.008, rng=rng, parts=None if with_melody else accomp,
                                        program_map=program_map)
    controls, bends = (), ()
    if kind == "instrumental" and spec.get("expression"):
        # singer-like lead (recipes/singing/leads.py): register shift, scoops, vibrato, swells
        rng3 = item_rng(spec["seed"], spec["index"], salt=54)
        ch = score.parts[mel].channel
        shift = int(rng3.choice([-12, 0, 0, 12]))
        notes = [(a, b, int(np.clip(p + shift, 36, 96)) if c == ch else p, v, c)
                 for a, b, p, v, c in notes]
        controls, bends = lead_expression(notes, ch, rng3)
    acc, _ = ctx.renderer.render(notes, dur, programs=programs, soundfont=soundfont,
                                 controls=controls, bends=bends)
    acc = acc / (active_rms(acc) + 1e-9) * 0.1
    n = len(acc)
    vocal = np.zeros(n, dtype=np.float32)
    meta = {"kind": kind, "soundfont": soundfont, "tempo": round(score.tempo, 3),
            "programs": {str(k): int(v) for k, v in programs.items()}}
    if bends:
        meta["lead_expression"] = {"shift": shift, "bends": len(bends)}
    sing_spans = []
    if sung_kind:
        mel_notes, _, _ = score.to_notes(jitter=0.01, rng=rng, parts=[mel],
                                         transpose=int(rng.choice([-12, 0, 0])))
        mel_notes = sorted((a, b, p) for a, b, p, _, _ in mel_notes)
        if kind == "mixed":
            # speech over the first part (a host talking over the intro), then the sung line
            t_switch = float(rng2.uniform(0.3, 0.6)) * dur
            sp, info = _speech_for(rng2, sr, t_switch - 0.3)
            sp = _norm(np.pad(sp, (0, max(0, n - len(sp))))[:n], float(rng2.uniform(-3, 3)))
            meta["speech"] = info
            mel_notes = [x for x in mel_notes if x[0] >= t_switch]
            sub = "mixed_mbrola" if rng2.random() < 0.6 or festival_singing_voice() is None \
                else "mixed_festival"
            sung, sing_spans = _sung_line(sub, mel_notes, dur, ctx, rng, rng2, meta)
            vocal = sp + _norm(sung)
        else:
            vocal, sing_spans = _sung_line(kind, mel_notes, dur, ctx, rng, rng2, meta)
    elif kind == "speech":
        if spec.get("real_voices"):  # recipes/singing/leads.py --speech: more real voices
            vocal, info = _speech_for(rng2, sr, dur, real_p=float(spec.get("real_speech_p", 0.7)),
                                      files=real_voice_files())
        else:
            vocal, info = _speech_for(rng2, sr, dur)
        vocal = vocal[:n] if len(vocal) >= n else np.pad(vocal, (0, n - len(vocal)))
        meta["speech"] = info
        if rng2.random() < SOLO_SPEECH_P:  # speech alone: the music 20-40 dB down
            solo_db = float(rng2.uniform(20, 40))
            acc = acc * 10 ** (-solo_db / 20.0)
            meta["accompaniment_db"] = round(-solo_db, 2)
    if np.any(vocal):
        vocal = vocal / (active_rms(vocal) + 1e-9) * 0.1
        vac = float(rng.uniform(-6, 8))
        vocal *= 10 ** (vac / 20.0)
        meta["vocal_to_accompaniment_db"] = round(vac, 2)
    mix = acc + vocal
    # p_noise: a spec may ask for more noise (recipes/singing/leads.py); the draws stay the same
    mix, aug = random_augment(mix, sr, rng, p_reverb=0.5, p_eq=0.4,
                              p_noise=float(spec.get("p_noise", 0.3)), p_codec=0.15)
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
    has_speech = kind == "speech" or kind == "mixed"
    item = {"id": spec["id"], "audio": rel_audio, "duration": round(n / sr, 4), "sr": sr,
            "split": spec["split"], "task": TASK, "source": "synth",
            "labels": ["music"] + (["singing"] if sing_spans else []) + (["speech"] if has_speech else []),
            "annotations": {"vocals": rel_lab}, "meta": meta}
    if spec.get("keep_stems"):
        item["stems"] = {}
        for name, y in (("accompaniment", acc), ("vocals", vocal)):
            rel = f"stems/{spec['id']}.{name}.flac"
            save_audio(Path(out_dir, rel), y, sr)
            item["stems"][name] = rel
    return item
