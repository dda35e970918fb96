"""The shipped singing model answers right on freshly generated songs.

Clips come from the corpus generator with an item seed no corpus uses:
a sung line (MBROLA vocalise over an accompaniment), the same kind of song
with the melody on a lead instrument, speech over music and a choir "ooh"
pad. Skipped when no singing model is shipped or the engines are missing.
"""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def detector():
    from audiodl import pretrained
    from audiodl.errors import ModelError
    from audiodl.tasks.singing import SingingDetector
    try:
        pretrained.default_model("singing")
    except ModelError:
        pytest.skip("no shipped singing model")
    return SingingDetector.from_pretrained()


def _covered(intervals, spans):
    """Seconds of ``intervals`` inside the union of ``spans``."""
    total = 0.0
    for s, e in intervals:
        for a, b in spans:
            total += max(0.0, min(e, b) - max(s, a))
    return total


def test_shipped_card_is_complete(detector):
    card = detector.card
    assert card.task == "singing" and card.default and card.labels == ("singing",)
    assert card.frontend.fps == pytest.approx(70.0) and card.frontend.n_mels == 80
    dec = card.decoder.offline
    assert dec["median"] > 0 and 0 < dec["threshold"] < 1
    assert card.training.seed is not None and card.training.command
    assert "error" in card.metrics["test"]["all"]


def test_sung_line_yields_overlapping_segments(detector, clips):
    path, sung = clips["vocal"]
    seg = detector(path)
    assert len(seg) >= 1 and set(seg.labels) == {"singing"}
    found = float(np.sum(np.diff(seg.intervals, axis=1)))
    inside = _covered(seg.intervals, sung)
    truth = sum(b - a for a, b in sung)
    assert inside > 0.5 * truth       # most of the singing is found
    assert inside > 0.7 * found       # and what is found is mostly singing


@pytest.mark.parametrize("kind", ["instrumental", "speech"])
def test_hard_negatives_yield_no_singing(detector, clips, kind):
    path, sung = clips[kind]
    assert sung == []
    seg = detector(path)
    assert float(np.sum(np.diff(seg.intervals, axis=1))) < 1.0, seg


def test_cli_prints_mirex_rows(detector, clips):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    r = CliRunner().invoke(cli, ["singing", clips["vocal"][0]])
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.strip().splitlines()]
    assert rows and all(len(x) == 3 and x[2] == "singing" and float(x[0]) < float(x[1])
                        for x in rows)


def test_int8_graph_when_shipped_is_the_default_and_close_to_float(detector, clips):
    """`auto` runs the shipped 8-bit graph; its probabilities stay near the float graph's."""
    pytest.importorskip("onnxruntime")
    from audiodl import pretrained
    from audiodl.pretrained import onnx as ox
    from audiodl.tasks.singing import SingingDetector
    card = detector.card
    if ox.onnx_file(card, int8=True) not in ox.read_sums(pretrained.WEIGHTS_DIR):
        pytest.skip("no 8-bit graph shipped")
    auto = SingingDetector.from_pretrained(backend="auto")
    flt = SingingDetector.from_pretrained(backend="onnx")
    assert auto.backend.name == "onnx-int8" and flt.backend.name == "onnx"
    assert auto.backend.meta["weights_sha256"] == card.sha256
    a = auto.activations(clips["vocal"][0]).values
    b = flt.activations(clips["vocal"][0]).values
    assert a.shape == b.shape
    assert float(np.abs(a - b).max()) < 0.25
    assert float(np.abs(a - b).mean()) < 0.02
