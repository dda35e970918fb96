"""Structure training corpus: random forms and arrangements with real section cues.

Training songs for structure models that must generalise to forms they have
not seen. Each song's form is a random walk over 2-6 section types (a new
section, a return to an earlier one, or a direct repeat of the last one, as
``verse verse``), with an optional intro and outro; every repeat pattern the
test grammar of :mod:`audiodl.data.synth.structure_varied` can produce is
excluded (:func:`~audiodl.data.synth.structure_varied.grammar_patterns`), so
those test and validation forms stay unseen. Arrangement: 4-16 bars per
section type, tempo 55-190 bpm, 3/4 or 4/4, any instrument pools, and the
cues real songs have at section starts, each drawn per song
(:func:`~audiodl.data.synth.compose.compose`'s ``cues``): crash cymbals,
drum fills, a beat of "stop" before a section, repeats with variation
(melody rhythm, dynamics, an instrument in or out, drum pattern). Same files
and room/EQ/noise/codec augmentation as :mod:`audiodl.data.synth.structure`.

Rendered by ``recipes/structure/make_varied.py --generator random``.
"""

from __future__ import annotations

from functools import lru_cache

from audiodl.data.synth.common import FluidContext, plan_fixed
from audiodl.data.synth.compose import compose
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.runner import item_rng
from audiodl.data.synth.structure import render_song
from audiodl.data.synth.structure_varied import canonical_form, grammar_patterns

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate", "random_form",
           "form_of"]

TASK = "structure_random"
DEFAULT_SR = 22050
MEAN_SECONDS = 100.0
NAMES = ["verse", "chorus", "bridge", "prechorus", "solo", "breakdown"]


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"forms": "random walk over 2-6 section types, test-grammar patterns excluded",
            "tempo": [55, 190], "bars": [4, 16]}


def check():
    """Raise EngineUnavailable if FluidSynth or a soundfont is missing."""
    check_fluidsynth()


def plan(hours, seed, sr):
    """Item specs (prefix-stable), ~100 s per song; ids ``sr000000`` ..."""
    return plan_fixed(hours, seed, mean_seconds=MEAN_SECONDS, prefix="sr", width=6)


def make_context(sr):
    return FluidContext(sr)


@lru_cache(maxsize=1)
def _excluded():
    return grammar_patterns(100000)


def random_form(rng, doubled_p: float = 0.0) -> list:
    """A random form (list of labels) whose repeat pattern the test grammar never produces.

    ``doubled_p``: probability that every part of the body is played twice
    (``A A B B ...``, as dances are); 0 draws nothing for it.
    """
    excluded = _excluded()
    form = []
    for _ in range(100):
        n_types = int(rng.integers(2, 7))
        names = list(rng.permutation(NAMES))[:n_types]
        length = int(rng.integers(3, 11))
        body = [names[0]]
        used = 1
        while len(body) < length:
            u = rng.random()
            others = [x for x in names[:used] if x != body[-1]]
            if u < 0.25 and body[-2:] != body[-1:] * 2:  # direct repeat (verse | verse)
                body.append(body[-1])
            elif (u < 0.6 or used == n_types) and others:  # return to an earlier section
                body.append(others[int(rng.integers(len(others)))])
            elif used < n_types:                           # a new section
                body.append(names[used])
                used += 1
            else:
                body.append(body[-1])
        if doubled_p and rng.random() < doubled_p:
            runs = [b for i, b in enumerate(body) if i == 0 or b != body[i - 1]]
            body = [x for b in runs[:max(2, len(runs) // 2 + 1)] for x in (b, b)]
        form = (["intro"] if rng.random() < 0.5 else []) + body + \
            (["outro"] if rng.random() < 0.4 else [])
        if canonical_form(form) not in excluded:
            return form
    return form


def form_of(spec) -> list:
    """The form :func:`generate` gives ``spec``, without rendering (same random draws)."""
    rng = item_rng(spec["seed"], spec["index"], salt=53)
    rng.uniform(55, 190)
    return random_form(rng, spec.get("doubled_p", 0.0))


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    rng = item_rng(spec["seed"], spec["index"], salt=53)
    tempo = float(rng.uniform(55, 190))
    form = random_form(rng, spec.get("doubled_p", 0.0))
    roles = ["melody", "chords", "bass"] + (["arp"] if rng.random() < 0.4 else [])
    if rng.random() < 0.25:
        roles.remove(str(rng.choice(["melody", "bass", "chords"])))
    cues = {"bars": [4, 6, 8, 8, 12, 16], "crash_p": float(rng.uniform(0.2, 0.9)),
            "fill_p": float(rng.choice([0.0, 0.3, 0.7])), "vary_p": float(rng.choice([0.0, 0.3, 0.6])),
            "lead_in_p": float(rng.choice([0.0, 0.0, 0.2]))}
    score = compose(rng, form=form, tempo=tempo, roles=roles, drums=bool(rng.random() < 0.75),
                    cues=cues)
    return render_song(spec, ctx, out_dir, score, rng, jitter=0.01,
                       augment_p=dict(p_reverb=0.5, p_eq=0.5, p_noise=0.3, p_codec=0.2),
                       meta={"generator": TASK, "cues": cues,
                             "doubled_p": spec.get("doubled_p", 0.0)})
