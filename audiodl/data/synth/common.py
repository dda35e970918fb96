"""Helpers shared by the generators: activity labels, speech rendering, saving."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms
from audiodl.data.synth.engines import EngineUnavailable, FluidRenderer, list_voices, tts
from audiodl.data.synth.text import normalize_transcript, sentence

__all__ = [
    "activity",
    "activity_segments",
    "save_audio",
    "pick_voice",
    "speak",
    "speech_voices",
    "fade",
    "render_music",
]


class FluidContext:
    """Per-worker state of the FluidSynth generators: one renderer kept alive.

    Generators with more per-worker state (voices) subclass it.
    """

    def __init__(self, sr):
        self.sr = sr
        self.renderer = FluidRenderer(sr)

    def close(self):
        self.renderer.close()


def plan_fixed(hours, seed, *, mean_seconds, prefix, width):
    """Item specs for ``hours`` of items of about ``mean_seconds`` each (prefix-stable).

    Ids are ``<prefix><index, zero-padded to width>``; splits by
    :func:`~audiodl.data.synth.runner.assign_split`.
    """
    from audiodl.data.synth.runner import assign_split
    n = int(np.ceil(hours * 3600.0 / mean_seconds))
    return [{"id": f"{prefix}{i:0{width}d}", "index": i, "seed": int(seed),
             "split": assign_split(seed, i)} for i in range(n)]


def plan_durations(hours, seed, *, prefix, salt, kinds, kind_p, duration, fields=None,
                   score_kinds=(), score_salt=0, score_fraction=0.0, decimals=2, fractions=None):
    """Item specs of random kind and duration until ``hours`` are filled (prefix-stable).

    Parameters
    ----------
    prefix : str
        Id prefix (ids are ``<prefix><index:06d>``).
    salt : int
        Random stream of the plan (``item_rng(seed, i, salt=salt)``).
    kinds, kind_p : sequences
        Item kinds and their probabilities.
    duration : (float, float) [s] or callable ``rng -> float``
        Uniform range of item durations, or a draw from the plan's stream after the kind.
    fields : callable ``(rng, i, kind) -> dict`` or None
        Extra spec fields drawn from the same stream after kind and duration.
    score_kinds, score_salt, score_fraction
        Items of these kinds get ``score=True`` with probability
        ``score_fraction``, drawn from their own stream ``score_salt`` so
        procedural items do not depend on the option.
    decimals : int
        Durations are rounded to this many decimals.
    fractions : (train, valid, test) or None
        Split fractions (:func:`~audiodl.data.synth.runner.assign_split`'s default if None).
    """
    from audiodl.data.synth.runner import assign_split, item_rng
    specs, total, i = [], 0.0, 0
    while total < hours * 3600.0:
        rng = item_rng(seed, i, salt=salt)
        kind = kinds[int(rng.choice(len(kinds), p=kind_p))]
        dur = float(np.round(duration(rng) if callable(duration) else rng.uniform(*duration),
                             decimals))
        spec = {"id": f"{prefix}{i:06d}", "index": i, "seed": int(seed), "kind": kind,
                "duration": dur}
        if fields is not None:
            spec.update(fields(rng, i, kind))
        spec["split"] = (assign_split(seed, i) if fractions is None
                         else assign_split(seed, i, fractions=fractions))
        if kind in score_kinds and item_rng(seed, i, salt=score_salt).random() < score_fraction:
            spec["score"] = True
        specs.append(spec)
        total += dur
        i += 1
    return specs


def activity(y, sr, *, threshold_db=-35.0, hop_length=None, frame_length=None, floor_db=None):
    """Frame-wise activity of a stem.

    A frame is active when its RMS is within ``threshold_db`` of the stem's
    active RMS (:func:`audiodl.data.augment.active_rms`) and, with ``floor_db``
    (for real recordings with a noise floor), more than ``floor_db`` above the
    stem's noise floor (the 10th percentile of its frame RMS).

    Returns
    -------
    active : np.ndarray [shape=(n_frames,)], bool
    hop_length : int [samples]
    """
    hop_length = hop_length or int(round(0.01 * sr))
    frame_length = frame_length or 2 * hop_length
    y = np.asarray(y, dtype=np.float64)
    n_frames = int(np.ceil(len(y) / hop_length))
    if n_frames == 0:
        return np.zeros(0, dtype=bool), hop_length
    pad = np.pad(y, (0, n_frames * hop_length + frame_length - len(y)))
    idx = np.arange(n_frames)[:, None] * hop_length + np.arange(frame_length)[None, :]
    rms = np.sqrt(np.mean(pad[idx] ** 2, axis=1))
    ref = active_rms(y) if np.any(y) else 1.0
    active = rms > ref * 10 ** (threshold_db / 20.0)
    if floor_db is not None:
        active &= rms > np.percentile(rms, 10) * 10 ** (floor_db / 20.0)
    return active, hop_length


def activity_segments(y, sr, *, label, threshold_db=-35.0, min_gap=0.3, min_duration=0.1,
                      floor_db=None):
    """Segments where a stem is active.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    label : str
    threshold_db : float [dB] relative to the stem's active RMS
    min_gap : float [seconds]
        Gaps shorter than this are closed.
    min_duration : float [seconds]
        Shorter segments are dropped.
    floor_db : float or None [dB]
        Also require frames more than this above the stem's noise floor
        (:func:`activity`; real recordings with a noise floor).

    Returns
    -------
    segments : list of (float, float, str) [seconds]
    """
    act, hop = activity(y, sr, threshold_db=threshold_db, floor_db=floor_db)
    if not np.any(act):
        return []
    edges = np.diff(np.concatenate([[0], act.astype(np.int8), [0]]))
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0]
    segs = []
    for s, e in zip(starts, ends):
        t0, t1 = s * hop / sr, min(e * hop / sr, len(y) / sr)
        if segs and t0 - segs[-1][1] < min_gap:
            segs[-1][1] = t1
        else:
            segs.append([t0, t1])
    return [(round(a, 4), round(b, 4), label) for a, b in segs if b - a >= min_duration]


def fade(y, sr, *, fade_in=0.0, fade_out=0.0):
    """Linear fades (seconds) at both ends, in place-safe (returns a copy)."""
    y = np.array(y, dtype=np.float32)
    n_in, n_out = int(fade_in * sr), int(fade_out * sr)
    if n_in:
        y[:n_in] *= np.linspace(0, 1, n_in, dtype=np.float32)
    if n_out:
        y[-n_out:] *= np.linspace(1, 0, n_out, dtype=np.float32)
    return y


def save_audio(path, y, sr):
    """Save 16-bit FLAC/WAV atomically (temp file + rename), peak-limited to 0.999."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    y = np.clip(np.asarray(y, dtype=np.float32), -0.999, 0.999)
    tmp = path.with_name(".tmp-" + path.name)
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    sf.write(os.fspath(tmp), y, int(sr), subtype="PCM_16", format=fmt)
    os.replace(tmp, path)


def speech_voices(*, formant_share=0.15):
    """Installed voices and their sampling weights.

    Returns
    -------
    voices : list of Voice
    weights : np.ndarray
        Natural voices share ``1 - formant_share``; espeak-ng formant voices
        (robotic; for variety only) share ``formant_share``.

    Raises
    ------
    EngineUnavailable
        When no TTS voice is installed.
    """
    voices = list_voices()
    if not voices:
        raise EngineUnavailable("no TTS engine found (flite, espeak-ng, mbrola); "
                                "run `sudo bash scripts/install-system-deps.sh`")
    nat = [v for v in voices if v.quality == "natural"]
    form = [v for v in voices if v.quality != "natural"]
    w = []
    for v in voices:
        if v.quality == "natural":
            w.append((1 - formant_share) / len(nat) if form else 1.0 / len(nat))
        else:
            w.append(formant_share / len(form) if nat else 1.0 / len(form))
    w = np.asarray(w, dtype=np.float64)
    return voices, w / w.sum()


def pick_voice(rng, voices, weights):
    """Draw a voice."""
    return voices[int(rng.choice(len(voices), p=weights))]


def speak(rng, voice, sr, *, text=None, n_sentences=None):
    """Render one utterance at ``sr``, trimmed to its active part.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32 (active RMS ~ 0.1)
    info : dict
        ``text`` (exact transcript), ``voice``, ``rate``, ``pitch``.
    """
    from audiodl.io.audio import resample

    if text is None:
        n = n_sentences or (1 if rng.random() < 0.7 else 2)
        text = " ".join(sentence(rng) for _ in range(n))
    rate = float(rng.uniform(0.8, 1.3))
    pitch = float(rng.uniform(0.8, 1.25))
    y, vsr = tts(voice, text, rate=rate, pitch=pitch)
    if vsr != sr:
        y = resample(y, vsr, sr)
    segs = activity_segments(y, sr, label="s", threshold_db=-40.0, min_gap=10.0, min_duration=0.0)
    if segs:
        a, b = int(segs[0][0] * sr), int(np.ceil(segs[-1][1] * sr))
        y = y[a:b]
    y = y / (active_rms(y) + 1e-9) * 0.1
    return y.astype(np.float32), {"text": normalize_transcript(text), "voice": voice.key,
                                  "rate": round(rate, 3), "pitch": round(pitch, 3)}


def render_music(rng, renderer, duration, *, fast_attack_only=False, tempo=None, drums=None,
                 soundfont=None, jitter=0.008, score=None):
    """Compose and render a random piece of ``duration`` seconds.

    ``score`` renders that :class:`~audiodl.data.synth.compose.Score` instead
    of composing one (e.g. a corpus work from
    :func:`audiodl.data.synth.scores.random_score`).

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32 (active RMS ~ 0.1; silent renders are zeros)
    score : Score
    notes : list of (start, end, pitch, velocity, channel)
        What was rendered (seconds).
    onsets : np.ndarray [shape=(len(notes),)]
        Exact rendered note-on time of each note (seconds; nan past the end).
    info : dict
        Soundfont, tempo, programs.
    """
    from audiodl.data.synth.compose import compose

    if score is None:
        score = compose(rng, duration=duration, fast_attack_only=fast_attack_only, tempo=tempo, drums=drums)
    if soundfont is None:
        fonts = renderer.soundfonts
        soundfont = fonts[int(rng.integers(len(fonts)))]
    notes, programs, _ = score.to_notes(jitter=jitter, rng=rng)
    # per-channel volume variety
    controls = [(0.0, ch, 7, int(rng.integers(70, 128))) for ch in programs]
    y, onsets = renderer.render(notes, duration, programs=programs, soundfont=soundfont,
                                controls=controls)
    level = active_rms(y) if np.any(y) else 0.0
    if level > 0:
        y = y / level * 0.1
    info = {"soundfont": soundfont, "tempo": round(score.tempo, 2), "key": score.key,
            "mode": score.mode, "programs": {str(k): int(v) for k, v in programs.items()}}
    if "work" in score.meta:
        info["score"] = {k: score.meta[k] for k in ("source", "work", "title", "family", "transpose")}
    return y.astype(np.float32), score, notes, onsets, info
