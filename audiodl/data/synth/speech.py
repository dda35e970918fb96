"""Speech corpus: TTS utterances with exact transcripts.

Voices: flite (slt, awb, rms, kal16), festival (kal_diphone, through
``text2wave``, one call per utterance, text reduced to letters, digits and
``' . , ? !`` because festival crashes on some symbols), MBROLA through
espeak-ng (us1, us2, us3, en1) and, for variety only (15 % of items),
espeak-ng formant voices;
speaking rate x0.8-1.3 and pitch x0.8-1.25 per utterance. Text comes from
the template grammar of :mod:`audiodl.data.synth.text` (numbers spelled out,
sanitized), or from the sentences given to ``audiodl synth speech --texts``,
so the transcript is exact by construction. Utterances are
trimmed to their active part plus 0.1-0.5 s of silence on each side, then
augmented (EQ, reverb, noise, codec incl. telephone band, gain).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiodl.data.augment import random_augment
from audiodl.data.synth.common import pick_voice, save_audio, speak, speech_voices
from audiodl.data.synth.runner import assign_split, item_rng

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate"]

TASK = "speech"
DEFAULT_SR = 16000
TAKES_TEXTS = True  # ``audiodl synth speech --texts FILE``: spec["text"] replaces the grammar
MEAN_SECONDS = 4.0  # average utterance length used to plan the item count


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    voices, weights = speech_voices()
    return {"voices": {v.key: round(float(w), 4) for v, w in zip(voices, weights)},
            "rate": [0.8, 1.3], "pitch": [0.8, 1.25]}


def check():
    """Raise EngineUnavailable when no TTS voice is installed."""
    speech_voices()


def plan(hours, seed, sr):
    """Item specs (prefix-stable); the count assumes ~4 s per utterance."""
    n = int(np.ceil(hours * 3600.0 / MEAN_SECONDS))
    return [{"id": f"sp{i:06d}", "index": i, "seed": int(seed), "split": assign_split(seed, i)}
            for i in range(n)]


class Context:
    def __init__(self, sr):
        self.sr = sr
        self.voices, self.weights = speech_voices()


def make_context(sr):
    return Context(sr)


def generate(spec, ctx, out_dir):
    """Render one utterance; returns its manifest item (with ``text``)."""
    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=21)
    voice = pick_voice(rng, ctx.voices, ctx.weights)
    n_sent = 1 if rng.random() < 0.6 else 2
    y, info = speak(rng, voice, sr, text=spec.get("text"), n_sentences=n_sent)
    pre, post = rng.uniform(0.1, 0.5, size=2)
    y = np.concatenate([np.zeros(int(pre * sr), np.float32), y, np.zeros(int(post * sr), np.float32)])
    speech_span = (round(pre, 4), round(pre + (len(y) - int(pre * sr) - int(post * sr)) / sr, 4))
    y, aug = random_augment(y, sr, rng, p_reverb=0.4, p_eq=0.5, p_noise=0.5, p_codec=0.2,
                            noise_snr=(5.0, 40.0), rt60=(0.1, 0.7))
    rel_audio = f"audio/{spec['id']}.flac"
    save_audio(Path(out_dir, rel_audio), y, sr)
    return {
        "id": spec["id"], "audio": rel_audio, "duration": round(len(y) / sr, 4), "sr": sr,
        "split": spec["split"], "task": TASK, "source": "synth", "text": info["text"],
        "labels": ["speech"],
        "meta": {"voice": info["voice"], "engine": voice.engine, "quality": voice.quality,
                 "rate": info["rate"], "pitch": info["pitch"], "speech_span": list(speech_span),
                 "augment": aug},
    }
