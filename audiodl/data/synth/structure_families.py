"""Structure validation corpus: the test grammar's form families, none of its forms.

The forms of :mod:`audiodl.data.synth.structure_varied` (the test songs)
come in families: verse/chorus songs, rondos, strophic songs, through-composed
pieces, AABA song forms, binary/ternary dances. A validation set that only
excludes the test songs' exact forms loses whole families (every rondo and
dance of that small grammar is a test form), so it misjudges the test. This
generator draws forms of the same families with other shapes (seven-part and
arch rondos, ``A B A B A``; dances ``A A B B C C``, ``A A B B A A B B``; AABA
with a bridge repeat; strophic and pop songs with other part counts ...), and
rejects every repeat pattern the test grammar can produce
(:func:`~audiodl.data.synth.structure_varied.grammar_patterns`). Arrangement
and rendering are those of the test generator (same tempo range, instrument
pools, drums probability, augmentation).

Rendered by ``recipes/structure/make_varied.py --generator families``.
"""

from __future__ import annotations

from audiodl.data.synth.common import FluidContext, plan_fixed
from audiodl.data.synth.engines import check_fluidsynth
from audiodl.data.synth.runner import item_rng
from audiodl.data.synth.structure_random import _excluded
from audiodl.data.synth.structure_varied import canonical_form, generate_with

__all__ = ["TASK", "DEFAULT_SR", "check", "plan", "make_context", "generate", "family_form",
           "form_of"]

TASK = "structure_families"
DEFAULT_SR = 22050
MEAN_SECONDS = 100.0
SALT = 59


def describe():
    return {"forms": "test-grammar families, other shapes (see family_form)", "tempo": [60, 180]}


def check():
    check_fluidsynth()


def plan(hours, seed, sr):
    """Item specs (prefix-stable), ~100 s per song; ids ``sf000000`` ..."""
    return plan_fixed(hours, seed, mean_seconds=MEAN_SECONDS, prefix="sf", width=6)


def make_context(sr):
    return FluidContext(sr)


def family_form(rng) -> list:
    """A form of one of the test grammar's families whose repeat pattern it never produces."""
    excluded = _excluded()
    form = []
    for _ in range(100):
        kind = int(rng.integers(6))
        if kind == 0:  # verse/chorus song, other part counts
            form = ["intro"] if rng.random() < 0.5 else []
            for _ in range(int(rng.integers(1, 5))):
                form += ["verse"] * int(rng.integers(1, 4)) + ["chorus"] * int(rng.integers(1, 3))
            form += [str(rng.choice(["bridge", "solo", "breakdown"]))] if rng.random() < 0.5 else []
            form += ["chorus"] * int(rng.integers(0, 3)) + (["outro"] if rng.random() < 0.5 else [])
        elif kind == 1:  # rondos: arch (A B A C A B A), A B A B A, with a coda
            form = [["A", "B", "A", "C", "A", "B", "A"], ["A", "B", "A", "B", "A"],
                    ["A", "B", "A", "C", "A", "C", "A"], ["A", "B", "A", "B", "A", "C", "A"]][
                int(rng.integers(4))] + (["coda"] if rng.random() < 0.4 else [])
        elif kind == 2:  # strophic with one or two breaks
            n = int(rng.integers(3, 7))
            form = ["verse"] * n
            for _ in range(int(rng.integers(1, 3))):
                form.insert(int(rng.integers(1, len(form))), "interlude")
        elif kind == 3:  # through-composed with an intro or a return
            form = list("ABCDEF"[:int(rng.integers(3, 7))])
            form = (["intro"] + form) if rng.random() < 0.5 else form + ["A"]
        elif kind == 4:  # AABA variants
            form = [["A", "A", "B", "A", "B", "A"], ["A", "B", "A", "A"],
                    ["A", "A", "B", "B", "A"], ["A", "A", "B", "A", "B", "A", "coda"]][
                int(rng.integers(4))]
        else:  # dances with repeats
            form = [["A", "A", "B", "B", "C", "C"], ["A", "A", "B", "B", "A", "A", "B", "B"],
                    ["A", "A", "B", "B", "C", "C", "D", "D"], ["A", "A", "B", "B", "C", "C", "B", "B"]][
                int(rng.integers(4))]
        if canonical_form(form) not in excluded:
            return form
    return form


def form_of(spec) -> list:
    """The form :func:`generate` gives ``spec``, without rendering (same random draws)."""
    rng = item_rng(spec["seed"], spec["index"], salt=SALT)
    rng.uniform(60, 180)
    return family_form(rng)


def generate(spec, ctx, out_dir):
    """Render one song; returns its manifest item."""
    return generate_with(spec, ctx, out_dir, form_fn=family_form, salt=SALT, task=TASK)
