"""The shipped structure model answers right on generated songs."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import SR, song


@pytest.fixture(scope="module")
def shipped():
    from audiodl import pretrained
    from audiodl.tasks.structure import StructurePipeline
    if not pretrained.list_models("structure"):
        pytest.fail("no shipped structure model (audiodl/pretrained/weights/structure_*.json)")
    return StructurePipeline.from_pretrained()


def test_shipped_card_is_complete(shipped):
    card = shipped.card
    assert card.name.startswith("structure_") and card.default
    assert card.training.seed is not None and card.training.command
    assert card.training.seconds > 0 and not card.training.extra.get("smoke")
    assert "validation" in card.decoder.tuned_on
    test = card.metrics["test"]
    assert test["trim"] is True and 0.0 <= test["varied"]["hr0.5_f"] <= 1.0


def _label_at(seg, t):
    return seg.labels[int(np.searchsorted(seg.intervals[:, 0], t, side="right")) - 1]


def test_shipped_cnn_on_aba_song(shipped):
    """A/B/A (numpy-made, unlike the training renders): both boundaries within 0.5 s and
    the repeat labelled as a repeat. The CNN splits the A sections once more each (it
    over-segments this material; see recipes/structure/README.md), so the check is
    recall within 0.5 s and the labels at the section centres, not the segment count."""
    from audiodl.evaluation.segment import evaluate
    from audiodl.types import Segments
    y, bounds = song("ABA", [20.0, 20.0, 20.0])
    seg = shipped(y, SR)
    hits = [np.min(np.abs(seg.intervals[1:, 0] - b)) for b in bounds]
    assert max(hits) <= 0.5, seg.intervals
    first, middle, last = (_label_at(seg, t) for t in (10.0, 30.0, 50.0))
    assert first == last != middle, seg
    ref = Segments(intervals=[[0, 20], [20, 40], [40, 60]], labels=("a", "b", "a"))
    assert evaluate(ref, seg)["pairwise_f"] >= 0.9


def test_shipped_cnn_on_rendered_song(tmp_path):
    """A FluidSynth song of a form the training templates lack (A A B B C C A A, no drums,
    65 bpm; a test song of the varied corpus). Four of its seven boundaries are repeats of
    exactly the same material with no cue (A | A ...). Measured with the model shipped
    later on 2026-12-01 (conf/lagconv.toml seed 0, 33 s lags + lag-stripe convolution):
    recall 0.43 at 3 s (three of seven), pairwise F 0.96, with its first decoder and with
    the repeat-split decoder shipped after it (seed 2 of that config: 0.43 and
    0.92); the one shipped before it
    (conf/random.toml seed 2) with its re-tuned decoder: 0.29 (two of seven) and 0.93
    (0.82 with its first decoder); seed 1 of that config: 0.43 and 0.80; the model before
    them: 0.71 and 0.92 (on this song; on the 18 test songs it is below all of them:
    recipes/structure/README.md); Foote 0.57 and 0.59. A weak song for the shipped
    models: the check keeps it from getting worse (a model finding nothing scores recall
    0, pairwise F about 0.5)."""
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth import structure_varied as gen
    from audiodl.evaluation.segment import evaluate
    from audiodl.io.annotations import read_segments
    try:
        gen.check()
    except EngineUnavailable as exc:
        pytest.skip(f"FluidSynth missing: {exc}")
    import audiodl
    spec = {"id": "sv_test", "index": 1, "seed": 5, "split": "test"}
    item = gen.generate(spec, gen.make_context(gen.DEFAULT_SR), tmp_path)
    ref = read_segments(str(tmp_path / item["annotations"]["sections"]), fmt="mirex")
    est = audiodl.segment(str(tmp_path / item["audio"]))
    res = evaluate(ref, est)
    assert res["hr3_r"] >= 0.25 and res["pairwise_f"] >= 0.75, (res, est)
