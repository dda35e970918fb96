"""Chattering decays: sparse long-decay hits whose tails flare up again (training data).

Task ``onsets_chatter`` (train/valid/test splits; pooled with the other onset corpora for
training): mostly sparse hits (70 %) and grooves (30 %) mixed, with the code of
:mod:`audiodl.data.synth.onsets_extra`, from the real one-shots of Debian's ``hydrogen-data``
(``GMRockKit``, as :mod:`audiodl.data.synth.onsets_kits`) and ``lmms-common``. The decays of
80 % of open hi-hat and cymbal hits (and 30 % of tom hits) get *chatter*
(:func:`chatter_tail`): short irregular flare-ups of the tail, each rising within 2-12 ms
and fading over 15-90 ms, 2-9 dB, every 40-180 ms, as a real open hi-hat's two cymbals
rattle against each other or a crash's wash swells. They are part of the ringing decay, not
new hits: the label stays at the hit's measured attack (start plus the sample's own -15 dB
attack time), merged within 30 ms. The false onsets of the real-drum test split
(``onsets_realdrums``, the sonic-pi kit, not used here) sit in such tails.
"""

from __future__ import annotations

__all__ = ["TASK", "DEFAULT_SR", "chatter_tail", "check", "plan", "make_context", "generate"]


import numpy as np

from audiodl.data.augment import active_rms, random_augment
from audiodl.data.synth.common import plan_durations
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.onsets_extra import (_save, check_lmms, drum_events, lmms_bank,
                                             mix_drums, rough_tail)
from audiodl.data.synth.onsets_kits import check as check_kit
from audiodl.data.synth.onsets_kits import kit_bank
from audiodl.data.synth.runner import item_rng

TASK = "onsets_chatter"
DEFAULT_SR = 44100
KINDS = ("drum_sparse", "drum_groove")
KIND_P = (0.7, 0.3)
DURATION = (12.0, 30.0)


def chatter_tail(s, sr, rng, attack, *, depth_db=(2.0, 9.0), gap=(0.04, 0.18),
                 rise=(0.002, 0.012), fall=(0.015, 0.09)):
    """The decay of ``s`` (from 40 ms after its attack) with irregular flare-ups: bursts of
    ``depth_db`` that rise within ``rise`` and fade over ``fall`` seconds, ``gap`` seconds
    apart (exponential, at least 25 ms), over a dip of the same mean so that the tail keeps
    its level. No new onset: the caller keeps the hit's own label."""
    i0 = int((attack + 0.04) * sr)
    if i0 >= len(s) - 2:
        return s
    n = len(s) - i0
    t = np.arange(n) / sr
    env = np.zeros(n)
    u = float(rng.uniform(0.0, gap[1]))
    mean_gap = float(rng.uniform(*gap))
    while u < t[-1]:
        g = float(rng.uniform(*depth_db))
        r, f = float(rng.uniform(*rise)), float(rng.uniform(*fall))
        d = t - u
        shape = np.where(d < 0, 0.0, np.where(d < r, d / r, np.exp(-(d - r) / f)))
        env = np.maximum(env, g * shape)
        u += max(0.025, float(rng.exponential(mean_gap)))
    env -= env.mean()
    ramp = np.minimum(t / 0.02, 1.0)
    out = s.copy()
    out[i0:] = s[i0:] * 10 ** (env * ramp / 20.0)
    return out


def check():
    """Raise EngineUnavailable if the kit's or LMMS's samples are missing."""
    check_kit()
    check_lmms()


def plan(hours, seed, sr):
    """Item specs (prefix-stable)."""
    return plan_durations(hours, seed, prefix="oc", salt=61, kinds=KINDS, kind_p=KIND_P,
                          duration=DURATION)


class _Context:
    def __init__(self, sr):
        self.sr, self._banks = sr, None

    @property
    def banks(self):
        if self._banks is None:
            self._banks = (kit_bank(self.sr), lmms_bank(self.sr))
        return self._banks

    def close(self):
        pass


def make_context(sr):
    return _Context(sr)


def generate(spec, ctx, out_dir):
    """Render one item; returns its manifest item."""
    sr, dur, kind = ctx.sr, spec["duration"], spec["kind"]
    rng = item_rng(spec["seed"], spec["index"], salt=62)
    mrng = item_rng(spec["seed"], spec["index"], salt=63)
    kit = int(rng.integers(2))  # 0: GMRockKit, 1: LMMS
    bank = ctx.banks[kit]
    events = drum_events(rng, kind[5:], dur, roles=set(bank.roles))

    def modulate(role, s, att):
        p = 0.8 if role in ("cymbal", "hat_open") else (0.3 if role == "tom" else 0.0)
        if mrng.random() < p:
            s = chatter_tail(s, sr, mrng, att)
            if mrng.random() < 0.3:
                s = rough_tail(s, sr, mrng, att)
        return s

    y, ons = mix_drums(rng, bank, events, dur, sr, modulate=modulate)
    y = y / (active_rms(y) if np.any(y) else 1.0) * 0.1
    merged = merge_onsets(ons[np.isfinite(ons) & (ons < dur - 0.02)])
    y, applied = random_augment(y, sr, rng, noise_snr=(15.0, 45.0), p_reverb=0.6, p_eq=0.3,
                                p_noise=0.4, p_codec=0.1, rt60=(0.2, 1.6))
    meta = {"kind": kind, "kit": "gmrock" if kit == 0 else "lmms", "chatter": True,
            "n_onsets": int(len(merged)), "augment": applied}
    return _save(dict(spec, task=TASK), out_dir, y, sr, merged, meta)


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"kinds": dict(zip(KINDS, KIND_P)), "duration": DURATION,
            "drums": "hydrogen-data GMRockKit + lmms-common", "chatter": "chatter_tail"}
