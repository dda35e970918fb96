"""Extra onset material with measured attacks: soft attacks and real drum samples.

Task ``onsets_extra`` (train/valid/test splits, pooled with ``onsets`` for training):

``soft``
    FluidSynth renders of slow- and medium-attack GM programs (bowed strings,
    choir and voice, pads, flutes, organs, brass, reeds; sometimes with a
    fast-attack part) with legato and detached notes.
``drum_groove`` / ``drum_sparse`` / ``drum_hats``
    Mixes of real one-shot drum samples: grooves with ghost notes and soft
    16th-note hi-hats, sparse hits with long decays (cymbals, open hi-hats,
    toms, kicks), soft 16th hi-hats under reverb. The samples come from the
    LMMS sample library (``lmms-common``) and the sampled drum kits of the
    two General-MIDI soundfonts (each drum key rendered alone).

Onset truth is the *measured attack*: the note or hit start plus the time
the sound's own envelope (4 ms RMS) first reaches :data:`ATTACK_DB` below its
maximum, measured on the note rendered alone (same soundfont, program, pitch
and velocity) or on the sample. For drums this is within a few ms of the
start; for a string swell it is where the note becomes audible (50-150 ms
after the note-on), not the note-on. Onsets closer than 30 ms are merged.

Task ``onsets_realdrums`` (:mod:`audiodl.data.synth.onsets_realdrums`) builds a
test-only split from other real drum samples (``sonic-pi-samples``) with the
same code, so nothing of it is ever trained on.
"""

from __future__ import annotations

__all__ = ["TASK", "DEFAULT_SR", "measure_attack", "check", "plan", "make_context", "generate",
           "DrumBank"]

import glob
import os
from pathlib import Path

import numpy as np

from audiodl.data.augment import active_rms, add_noise, random_augment, reverb
from audiodl.data.manifest import write_times
from audiodl.data.synth.common import FluidContext, plan_durations, save_audio
from audiodl.data.synth.compose import ATTACK_CLASS
from audiodl.data.synth.engines import EngineUnavailable, check_fluidsynth
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.runner import item_rng

TASK = "onsets_extra"
DEFAULT_SR = 44100
ATTACK_DB = -15.0
KINDS = ("soft", "drum_groove", "drum_sparse", "drum_hats")
KIND_P = (0.4, 0.25, 0.22, 0.13)
DURATION = (12.0, 30.0)
LMMS_DRUMS = "/usr/share/lmms/samples/drums"
SLOW_PROGRAMS = sorted(p for p in range(128) if ATTACK_CLASS[p] == "slow")
MEDIUM_PROGRAMS = sorted(p for p in range(128) if ATTACK_CLASS[p] == "medium" and p < 112)
FAST_PROGRAMS = [0, 1, 4, 11, 24, 25, 32, 33, 46]

#: lmms sample name prefix -> role
LMMS_ROLES = {"bassdrum": "kick", "kick": "kick", "snare": "snare", "clap": "snare",
              "nasty_snare": "snare", "rim": "perc", "sidestick": "perc", "nasty_rim": "perc",
              "hihat_closed": "hat", "hihat_foot": "hat", "shaker": "hat",
              "hihat_opened": "hat_open", "crash": "cymbal", "ride": "cymbal", "tom": "tom",
              "wood": "perc", "clav": "perc"}
#: GM drum keys -> role (rendered from the soundfonts' drum kits)
GM_DRUM_KEYS = {"kick": [35, 36], "snare": [38, 40, 37, 39], "hat": [42, 44],
                "hat_open": [46], "cymbal": [49, 57, 51, 59, 52, 55], "tom": [41, 43, 45, 47, 48, 50],
                "perc": [56, 75, 76, 60, 61, 62, 63, 64]}
LONG_DECAY = ("cymbal", "hat_open", "tom", "kick", "snare")


def measure_attack(y, sr, *, rel_db=ATTACK_DB, win=0.004, search=2.0):
    """Time [s] at which the 4 ms RMS envelope of ``y`` first reaches ``rel_db`` below its
    maximum (maximum searched over the first ``search`` seconds); 0.0 for silence."""
    y = np.asarray(y, dtype=np.float64)[: int(search * sr)]
    if not np.any(y):
        return 0.0
    w = max(1, int(win * sr))
    c = np.concatenate([[0.0], np.cumsum(y * y)])
    half = w // 2
    lo = np.clip(np.arange(len(y)) - half, 0, len(y))
    hi = np.clip(np.arange(len(y)) + w - half, 0, len(y))
    e = (c[hi] - c[lo]) / w
    return float(np.argmax(e >= e.max() * 10 ** (rel_db / 10.0)) / sr)


def _load(path, sr):
    import soundfile as sf
    from scipy.signal import resample_poly
    y, s = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if s != sr:
        g = np.gcd(int(s), int(sr))
        y = resample_poly(y, sr // g, s // g).astype(np.float32)
    return y


class DrumBank:
    """One-shot drum samples by role: ``role -> [(name, y, attack_s)]`` (peak 1)."""

    def __init__(self, sr):
        self.sr, self.roles = sr, {}

    def add(self, role, name, y):
        y = np.asarray(y, dtype=np.float32)
        # trim leading digital silence (keeps sample-exact attack times short) and trailing
        nz = np.flatnonzero(np.abs(y) > 1e-4 * (np.abs(y).max() + 1e-12))
        if len(nz) == 0:
            return
        y = y[max(0, nz[0] - 32): nz[-1] + 1]
        y = y / (np.abs(y).max() + 1e-12)
        self.roles.setdefault(role, []).append((name, y, measure_attack(y, self.sr)))

    def pick(self, rng, role):
        pool = self.roles.get(role) or self.roles["snare"]
        return pool[int(rng.integers(len(pool)))]


def lmms_bank(sr, renderer=None):
    """Training drum bank: LMMS drum samples plus the GM soundfonts' drum keys."""
    bank = DrumBank(sr)
    for path in sorted(glob.glob(os.path.join(LMMS_DRUMS, "*.ogg"))):
        base = os.path.basename(path)
        role = next((r for k, r in sorted(LMMS_ROLES.items(), key=lambda kv: -len(kv[0]))
                     if base.startswith(k)), None)
        if role is None:
            continue
        try:
            y = _load(path, sr)
        except RuntimeError:  # a few files of the package are malformed WAVs named .ogg
            continue
        bank.add(role, "lmms:" + base, y)
    if renderer is not None:
        for font in renderer.soundfonts:
            for role, keys in GM_DRUM_KEYS.items():
                for key in keys:
                    for vel in (50, 110):
                        y, _ = renderer.render([(0.0, 0.3, key, vel, 9)], 3.0,
                                               programs={9: 0}, soundfont=font)
                        bank.add(role, f"{font}:{key}:{vel}", y)
    return bank


def check():
    """Raise EngineUnavailable if FluidSynth, a soundfont or the LMMS samples are missing."""
    check_fluidsynth()
    check_lmms()


def check_lmms():
    """Raise EngineUnavailable if LMMS's drum samples are missing."""
    if not glob.glob(os.path.join(LMMS_DRUMS, "*.ogg")):
        raise EngineUnavailable(f"no drum samples under {LMMS_DRUMS} "
                                "(apt-get install lmms-common)")


def plan(hours, seed, sr):
    """Item specs (prefix-stable)."""
    return plan_durations(hours, seed, prefix="ox", salt=31, kinds=KINDS, kind_p=KIND_P,
                          duration=DURATION)


class _Context(FluidContext):
    def __init__(self, sr):
        super().__init__(sr)
        self._bank = None
        self.attacks = {}

    @property
    def bank(self):
        if self._bank is None:
            self._bank = lmms_bank(self.sr, self.renderer)
        return self._bank

    def note_attack(self, font, program, pitch, vel):
        """Measured attack delay [s] of one note rendered alone (cached)."""
        key = (font, int(program), int(pitch), int(vel) // 16)
        if key not in self.attacks:
            y, _ = self.renderer.render([(0.0, 1.5, int(pitch), int(vel) // 16 * 16 + 8, 0)], 2.0,
                                        programs={0: int(program)}, soundfont=font)
            self.attacks[key] = measure_attack(y, self.sr)
        return self.attacks[key]


def make_context(sr):
    return _Context(sr)


# --- drum items (shared with onsets_realdrums) ---------------------------------------------

def _db(rng, lo, hi):
    return float(10 ** (rng.uniform(lo, hi) / 20.0))


def drum_events(rng, kind, duration, *, roles=None):
    """``[(time_s, role, gain)]`` of one drum item of ``kind`` (groove, sparse, hats)."""
    ev = []
    have = roles or {"kick", "snare", "hat", "hat_open", "cymbal", "tom", "perc"}
    if kind == "sparse":
        rate = float(rng.uniform(0.3, 2.0))
        pool = [r for r in LONG_DECAY if r in have] or sorted(have)
        t = float(rng.uniform(0.1, 1.0))
        while t < duration - 0.3:
            ev.append((t, pool[int(rng.integers(len(pool)))], _db(rng, -24, 0)))
            t += max(0.25, float(rng.exponential(1.0 / rate)))
        return ev
    tempo = float(rng.uniform(70, 170) if kind == "groove" else rng.uniform(80, 140))
    step = 60.0 / tempo / 4
    t0 = float(rng.uniform(0.05, 0.5))
    n_steps = int((duration - t0 - 0.3) / step)
    pattern = int(rng.integers(4))
    hat16 = kind == "hats" or rng.random() < 0.5
    hat_role = "hat" if "hat" in have else sorted(have)[0]
    for s in range(n_steps):
        t = t0 + s * step + float(rng.normal(0, 0.004))
        pos = s % 16
        if kind == "hats":
            ev.append((t, hat_role, _db(rng, -30, -8) if pos % 4 else _db(rng, -10, 0)))
            if pos in (0, 8) and rng.random() < 0.5:
                ev.append((t, "kick", _db(rng, -6, 0)))
            continue
        if hat16 or pos % 2 == 0:
            g = _db(rng, -6, 0) if pos % 4 == 0 else _db(rng, -28, -10)
            ev.append((t, "hat_open" if (pos == 14 and rng.random() < 0.3) else hat_role, g))
        kicks = [[0, 8], [0, 10], [0, 3, 8, 11], [0, 4, 8, 12]][pattern]
        if pos in kicks:
            ev.append((t, "kick", _db(rng, -4, 0)))
        if pos in (4, 12):
            ev.append((t, "snare", _db(rng, -4, 0)))
        elif pos % 2 == 1 and rng.random() < 0.12:
            ev.append((t, "snare", _db(rng, -30, -16)))  # ghost note
        if pos == 0 and (s // 16) % 4 == 0 and rng.random() < 0.5:
            ev.append((t, "cymbal", _db(rng, -8, 0)))
        if (s // 16) % 4 == 3 and pos >= 12 and rng.random() < 0.6:
            ev.append((t, "tom", _db(rng, -10, 0)))
    return [e for e in ev if 0 <= e[0] < duration - 0.05 and e[1] in have]


def mix_drums(rng, bank, events, duration, sr, *, modulate=None):
    """Mix the events' samples; returns (y, onsets) with onset = start + measured attack.

    ``modulate(role, samples, attack_s)`` (optional) may change a sample's decay."""
    n = int(round(duration * sr))
    y = np.zeros(n, np.float32)
    onsets = []
    for t, role, gain in events:
        _name, s, att = bank.pick(rng, role)
        if modulate is not None:
            s = modulate(role, s, att)
        i = int(round(t * sr))
        m = min(len(s), n - i)
        if m <= 0:
            continue
        y[i:i + m] += gain * s[:m]
        onsets.append(i / sr + att)
    return y, np.asarray(onsets)


def rough_tail(s, sr, rng, attack, *, depth_db=(2.0, 7.0), rate=(5.0, 25.0)):
    """The decay of ``s`` (from 30 ms after its attack) under a random smooth amplitude
    modulation (chatter of open hi-hats, shimmer of cymbals): no new onset."""
    i0 = int((attack + 0.03) * sr)
    if i0 >= len(s) - 2:
        return s
    n = len(s) - i0
    hop = max(1, int(sr / float(rng.uniform(*rate))))
    knots = rng.standard_normal(n // hop + 2)
    m = np.interp(np.arange(n) / hop, np.arange(len(knots)), knots)
    m = m / (np.abs(m).max() + 1e-9) * float(rng.uniform(*depth_db))
    ramp = np.minimum(np.arange(n) / (0.02 * sr), 1.0)  # fade the modulation in over 20 ms
    out = s.copy()
    out[i0:] = s[i0:] * 10 ** (m * ramp / 20.0)
    return out


# --- soft-attack items -------------------------------------------------------------------

def _soft_notes(rng, duration):
    n_parts = 1 if rng.random() < 0.5 else 2
    notes, programs = [], {}
    for ch in range(n_parts):
        u = rng.random()
        pool = SLOW_PROGRAMS if (ch == 0 or u < 0.5) else (MEDIUM_PROGRAMS if u < 0.8
                                                             else FAST_PROGRAMS)
        programs[ch] = int(pool[int(rng.integers(len(pool)))])
        rate = float(rng.uniform(0.4, 3.0))
        legato = rng.random() < 0.5
        center = int(rng.integers(45, 80))
        t = float(rng.uniform(0.1, 0.8))
        while t < duration - 0.5:
            ioi = max(0.15, float(rng.exponential(1.0 / rate)))
            dur = ioi * (1.0 if legato else float(rng.uniform(0.3, 0.9)))
            n_chord = 1 if rng.random() < 0.8 else int(rng.integers(2, 4))
            vel = int(rng.integers(35, 128))
            for _ in range(n_chord):
                pitch = int(np.clip(center + rng.integers(-12, 13), 30, 96))
                notes.append((t, t + dur, pitch, vel, ch))
            t += ioi
    return notes, programs


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr = ctx.sr
    rng = item_rng(spec["seed"], spec["index"], salt=32)
    dur, kind = spec["duration"], spec["kind"]
    meta = {"kind": kind}
    if kind == "soft":
        fonts = ctx.renderer.soundfonts
        font = fonts[int(rng.integers(len(fonts)))]
        notes, programs = _soft_notes(rng, dur)
        controls = [(0.0, ch, 7, int(rng.integers(80, 128))) for ch in programs]
        y, ons = ctx.renderer.render(notes, dur, programs=programs, soundfont=font,
                                     controls=controls)
        att = np.array([ctx.note_attack(font, programs[n[4]], n[2], n[3]) for n in notes])
        ons = ons + att
        meta.update(soundfont=font, programs={str(k): v for k, v in programs.items()},
                    attack_classes=sorted({ATTACK_CLASS[p] for p in programs.values()}),
                    attack_delay_ms=[round(float(np.median(att)) * 1000, 1),
                                     round(float(att.max()) * 1000, 1)] if len(att) else [])
        aug = dict(p_reverb=0.5, p_eq=0.5, p_noise=0.4, p_codec=0.1, rt60=(0.1, 0.8))
    else:
        events = drum_events(rng, kind[5:], dur)
        mrng = item_rng(spec["seed"], spec["index"], salt=33)  # own stream: events unchanged

        def modulate(role, s, att):
            if role in ("cymbal", "hat_open", "tom") and mrng.random() < 0.6:
                return rough_tail(s, sr, mrng, att)
            return s

        y, ons = mix_drums(rng, ctx.bank, events, dur, sr, modulate=modulate)
        aug = dict(p_reverb=1.0 if kind == "drum_hats" else 0.6, p_eq=0.3, p_noise=0.4,
                   p_codec=0.1, rt60=(0.2, 1.6))
    level = active_rms(y) if np.any(y) else 1.0
    y = y / level * 0.1
    merged = merge_onsets(ons[np.isfinite(ons) & (ons < dur - 0.02)])
    y, applied = random_augment(y, sr, rng, noise_snr=(15.0, 45.0), **aug)
    meta.update(n_onsets=int(len(merged)), augment=applied)
    return _save(spec, out_dir, y, sr, merged, meta)


def _save(spec, out_dir, y, sr, onsets, meta):
    rel_audio, rel_on = f"audio/{spec['id']}.flac", f"labels/{spec['id']}.onsets"
    save_audio(Path(out_dir, rel_audio), y, sr)
    Path(out_dir, "labels").mkdir(exist_ok=True)
    write_times(Path(out_dir, rel_on), onsets)
    return {"id": spec["id"], "audio": rel_audio, "duration": round(len(y) / sr, 4), "sr": sr,
            "split": spec["split"], "task": spec.get("task", TASK), "source": "synth",
            "annotations": {"onsets": rel_on}, "meta": meta}


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "duration": DURATION, "attack_db": ATTACK_DB,
            "drums": "lmms-common samples + GM soundfont drum keys"}


def apply_condition(y, sr, rng, cond):
    """Test conditions of the real-drum split: ``dry``, ``reverb``, ``noise``, ``reverb+noise``."""
    if "reverb" in cond:
        y = reverb(y, sr, rt60=float(rng.uniform(0.8, 1.6)), wet=float(rng.uniform(0.3, 0.5)),
                   rng=rng)
    if "noise" in cond:
        y = add_noise(y, snr_db=float(rng.uniform(15, 30)), rng=rng)
    return y
