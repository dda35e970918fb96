"""Real-drum onset TEST split: mixes of ``sonic-pi-samples`` one-shots (never trained on).

Task ``onsets_realdrums``: every item is in split ``test``. Two real kits,
a drum kit (``drum_*``: kicks, snares, hi-hats, cymbals, splashes, toms,
cowbell, each recorded hard and soft) and a tabla (``tabla_*`` strokes), are
mixed into grooves (ghost notes, soft 16th hi-hats, fills), sparse hits with
long decays, and soft 16th hi-hats, each under four conditions: dry, room
reverb (RT60 0.8-1.6 s), noise (pink, 15-30 dB SNR) and both. Labels are the
measured attacks of :mod:`audiodl.data.synth.onsets_extra` (hit start plus the
sample's own -15 dB attack time), merged within 30 ms. ``meta.subsets`` names
the kind, condition and kit of each item for the subset tables.
"""

from __future__ import annotations

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate"]

import glob
import os

import numpy as np

from audiodl.data.augment import active_rms
from audiodl.data.synth.engines import EngineUnavailable
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.onsets_extra import (DrumBank, _load, _save, apply_condition,
                                             drum_events, mix_drums)
from audiodl.data.synth.runner import item_rng

TASK = "onsets_realdrums"
DEFAULT_SR = 44100
SONIC_PI = "/usr/share/sonic-pi/samples"
DURATION = 20.0
KINDS = ("groove", "sparse", "hats")
CONDITIONS = ("dry", "reverb", "noise", "reverb+noise")
#: sonic-pi sample name prefix -> role (drum kit)
DRUM_ROLES = {"drum_bass_": "kick", "drum_heavy_kick": "kick", "drum_snare_": "snare",
              "drum_cymbal_closed": "hat", "drum_cymbal_pedal": "hat",
              "drum_cymbal_open": "hat_open", "drum_cymbal_hard": "cymbal",
              "drum_cymbal_soft": "cymbal", "drum_splash_": "cymbal", "drum_tom_": "tom",
              "drum_cowbell": "perc"}
#: tabla strokes: bayan (low) strokes play the kick role, the rest the snare/hat roles
TABLA_ROLES = {"tabla_ghe": "kick", "tabla_dhec": "kick", "tabla_na": "snare",
               "tabla_tun": "tom", "tabla_te": "hat", "tabla_ke": "hat", "tabla_tas": "snare",
               "tabla_re": "hat"}


def _bank(sr, roles):
    bank = DrumBank(sr)
    for path in sorted(glob.glob(os.path.join(SONIC_PI, "*.flac"))):
        base = os.path.basename(path)
        role = next((r for k, r in roles.items() if base.startswith(k)), None)
        if role is not None:
            bank.add(role, base, _load(path, sr))
    return bank


def check():
    """Raise EngineUnavailable if the sonic-pi samples are missing."""
    if not glob.glob(os.path.join(SONIC_PI, "drum_*.flac")):
        raise EngineUnavailable(f"no drum samples under {SONIC_PI} "
                                "(apt-get install sonic-pi-samples)")


def plan(hours, seed, sr):
    """Kinds x conditions for the drum kit (two of each), then the tabla; ``hours`` caps it."""
    specs, i = [], 0
    combos = [(k, c, "drumkit") for k in KINDS for c in CONDITIONS for _ in range(2)]
    combos += [(k, c, "tabla") for k in ("groove", "sparse") for c in ("dry", "reverb")]
    for kind, cond, kit in combos:
        if i * DURATION >= hours * 3600.0:
            break
        specs.append({"id": f"rd{i:04d}", "index": i, "seed": int(seed), "kind": kind,
                      "cond": cond, "kit": kit, "duration": DURATION, "split": "test"})
        i += 1
    return specs


class _Context:
    def __init__(self, sr):
        self.sr, self.banks = sr, {}

    def bank(self, kit):
        if kit not in self.banks:
            self.banks[kit] = _bank(self.sr, DRUM_ROLES if kit == "drumkit" else TABLA_ROLES)
        return self.banks[kit]

    def close(self):
        pass


def make_context(sr):
    return _Context(sr)


def generate(spec, ctx, out_dir):
    sr, dur = ctx.sr, spec["duration"]
    rng = item_rng(spec["seed"], spec["index"], salt=41)
    bank = ctx.bank(spec["kit"])
    events = drum_events(rng, spec["kind"], dur, roles=set(bank.roles))
    y, ons = mix_drums(rng, bank, events, dur, sr)
    y = y / (active_rms(y) if np.any(y) else 1.0) * 0.1
    y = apply_condition(y, sr, rng, spec["cond"])
    peak = float(np.abs(y).max()) + 1e-12
    y = (y * min(1.0, 0.9 / peak)).astype(np.float32)
    merged = merge_onsets(ons[ons < dur - 0.02])
    meta = {"kind": spec["kind"], "cond": spec["cond"], "kit": spec["kit"],
            "subsets": [spec["kind"], spec["cond"], spec["kit"]], "n_onsets": int(len(merged))}
    return _save(dict(spec, task=TASK), out_dir, y, sr, merged, meta)
