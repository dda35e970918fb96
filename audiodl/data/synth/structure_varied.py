"""Structure corpus with forms outside :data:`~audiodl.data.synth.compose.FORMS`.

Songs for judging structure models on forms and arrangements they have not
seen: each song's form is drawn from a small grammar (verse/chorus songs with
a random number of repeats, pre-choruses, solos and breakdowns; rondos
``A B A C A D A``; strophic ``A A A A``; through-composed ``A B C D``; AABA
with a coda ...), so that almost no form equals one of the seven templates of
:mod:`audiodl.data.synth.structure`. Tempo 60-180 bpm, 3/4 or 4/4, 4 or 8
bars per section type, any instrument pools and soundfonts, the same
room/EQ/noise/codec augmentation. Same protocol and files as
:mod:`audiodl.data.synth.structure` (``.sections``, ``.beats``, ``.onsets``).

Register it as a synth task by adding ``"structure_varied"`` to
:data:`audiodl.data.synth.runner.TASKS`; until then
``recipes/structure/make_varied.py`` runs it.
"""

from __future__ import annotations

from audiodl.data.synth.common import FluidContext, plan_fixed
from audiodl.data.synth.compose import FORMS, compose
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.runner import item_rng
from audiodl.data.synth.structure import render_song

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate", "random_form",
           "form_of", "canonical_form", "grammar_patterns"]

TASK = "structure_varied"
DEFAULT_SR = 22050
MEAN_SECONDS = 100.0


def describe():
    """Generator parameters recorded in corpus.json (dict)."""
    return {"forms": "grammar (see random_form)", "tempo": [60, 180]}


def check():
    """Raise EngineUnavailable if FluidSynth or a soundfont is missing."""
    check_fluidsynth()


def plan(hours, seed, sr):
    """Item specs (prefix-stable), ~100 s per song; ids ``sv000000`` ..."""
    return plan_fixed(hours, seed, mean_seconds=MEAN_SECONDS, prefix="sv", width=6)


def make_context(sr):
    return FluidContext(sr)


def random_form(rng) -> list:
    """A song form from the grammar (list of section labels), avoiding the fixed templates."""
    known = {tuple(f) for f in FORMS}
    for _ in range(50):
        kind = int(rng.integers(6))
        if kind == 0:  # verse/chorus pop song with optional parts
            form = ["intro"] if rng.random() < 0.6 else []
            pre = rng.random() < 0.4
            for _ in range(int(rng.integers(2, 4))):
                form += ["verse"] * int(rng.integers(1, 3))
                form += (["prechorus"] if pre else []) + ["chorus"]
            if rng.random() < 0.6:
                form += [str(rng.choice(["bridge", "solo", "breakdown"]))]
            form += ["chorus"] * int(rng.integers(1, 3))
            form += ["outro"] if rng.random() < 0.6 else []
        elif kind == 1:  # rondo
            n = int(rng.integers(2, 5))
            form = ["A"]
            for e in "BCDE"[:n]:
                form += [e, "A"]
        elif kind == 2:  # strophic with an instrumental break
            n = int(rng.integers(3, 6))
            form = ["verse"] * n
            form.insert(int(rng.integers(1, n)), "interlude")
        elif kind == 3:  # through-composed
            form = list("ABCDE"[:int(rng.integers(3, 6))])
        elif kind == 4:  # AABA (32-bar song form) with an optional coda, repeated
            form = ["A", "A", "B", "A"] * int(rng.integers(1, 3)) + \
                (["coda"] if rng.random() < 0.5 else [])
        else:  # binary / ternary dances with repeats
            form = (["A", "A", "B", "B"] + (["C", "C", "A", "A"] if rng.random() < 0.5 else
                                            ["A"]))
        if tuple(form) not in known:
            return form
    return form


def canonical_form(form) -> tuple:
    """A form as its repeat pattern: labels renamed ``A``, ``B`` ... by first appearance."""
    names = {}
    return tuple(names.setdefault(lab, chr(ord("A") + len(names)) if len(names) < 26
                                  else f"Z{len(names)}") for lab in form)


def grammar_patterns(n_draws: int = 20000, seed: int = 0) -> frozenset:
    """Repeat patterns (:func:`canonical_form`) the grammar of :func:`random_form` produces.

    Every pattern reachable is reached within the default draws (the grammar
    has a few hundred); training generators exclude them.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    return frozenset(canonical_form(random_form(rng)) for _ in range(n_draws))


def form_of(spec) -> list:
    """The form :func:`generate` gives ``spec``, without rendering (same random draws)."""
    rng = item_rng(spec["seed"], spec["index"], salt=47)
    rng.uniform(60, 180)
    return random_form(rng)


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    return generate_with(spec, ctx, out_dir, form_fn=random_form, salt=47, task=TASK)


def compose_song(rng, form_fn):
    """The score of one song: tempo, form, roles and drums drawn from ``rng`` in this order
    (recipes/structure/repeat_cues.py re-composes the rendered songs' scores with it)."""
    tempo = float(rng.uniform(60, 180))
    form = form_fn(rng)
    roles = ["melody", "chords", "bass"] + (["arp"] if rng.random() < 0.4 else [])
    if rng.random() < 0.25:
        roles.remove(str(rng.choice(["melody", "bass"])))
    return compose(rng, form=form, tempo=tempo, roles=roles, drums=bool(rng.random() < 0.7))


def generate_with(spec, ctx, out_dir, *, form_fn, salt, task):
    """Render one song with forms from ``form_fn(rng)`` (shared by the form families)."""
    rng = item_rng(spec["seed"], spec["index"], salt=salt)
    score = compose_song(rng, form_fn)
    return render_song(spec, ctx, out_dir, score, rng, jitter=0.01,
                       augment_p=dict(p_reverb=0.5, p_eq=0.5, p_noise=0.3, p_codec=0.2),
                       meta={"generator": task})
