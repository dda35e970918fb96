"""Structure corpora: random training forms never equal a test-grammar pattern; cues."""

from __future__ import annotations

import numpy as np


def test_canonical_form_is_the_repeat_pattern():
    from audiodl.data.synth.structure_varied import canonical_form
    assert canonical_form(["intro", "verse", "verse", "chorus", "verse"]) == tuple("ABBCB")
    assert canonical_form(list("XYX")) == canonical_form(["a", "b", "a"])


def test_random_forms_avoid_every_test_grammar_pattern():
    from audiodl.data.synth import structure_random as tr
    from audiodl.data.synth import structure_varied as te
    patterns = te.grammar_patterns(100000)
    assert te.canonical_form(["verse", "chorus", "verse", "chorus", "chorus"]) in patterns
    rng = np.random.default_rng(0)
    forms = [tr.random_form(rng) for _ in range(300)]
    assert not any(te.canonical_form(f) in patterns for f in forms)
    # direct repeats (verse | verse) are common, never more than two in a row of the body
    assert sum(any(a == b for a, b in zip(f, f[1:])) for f in forms) > 100
    assert len({tuple(f) for f in forms}) > 250


def test_form_of_matches_generate_draws():
    from audiodl.data.synth import structure_random, structure_varied
    from audiodl.data.synth.runner import item_rng
    spec = {"id": "x", "index": 3, "seed": 6, "split": "valid"}
    rng = item_rng(6, 3, salt=47)
    rng.uniform(60, 180)
    assert structure_varied.form_of(spec) == structure_varied.random_form(rng)
    rng = item_rng(6, 3, salt=53)
    rng.uniform(55, 190)
    assert structure_random.form_of(spec) == structure_random.random_form(rng)


def _drum_starts(score, pitches):
    drum = [i for i, p in enumerate(score.parts) if p.is_drum][0]
    return [n.start for n in score.notes if n.part == drum and n.pitch in pitches]


def test_compose_cues_fills_crashes_and_varied_repeats():
    from audiodl.data.synth.compose import compose
    form = ["A", "A", "B", "A"]
    plain = compose(np.random.default_rng(3), form=form, drums=True, beats_per_bar=4)
    again = compose(np.random.default_rng(3), form=form, drums=True, beats_per_bar=4, cues=None)
    assert plain.notes == again.notes  # no cues: the plain generator's draws
    cued = compose(np.random.default_rng(3), form=form, drums=True, beats_per_bar=4,
                   cues={"crash_p": 1.0, "fill_p": 1.0, "vary_p": 1.0, "bars": [4]})
    starts = [s.start for s in cued.sections]
    crashes = _drum_starts(cued, {49, 57})
    assert all(s in crashes for s in starts)
    toms = _drum_starts(cued, {41, 43, 45, 47, 48, 50})
    fill = set(toms) | set(_drum_starts(cued, {37, 38, 40}))
    for s in starts[1:]:  # a snare/tom fill on every 16th of the last beat before each section
        assert all(s - k / 4 in fill for k in (1, 2, 3, 4)), s
    assert not any(t >= starts[-1] for t in toms)  # none after the last section start
