"""Fixtures of the singing-voice tests: a tiny random model card and generated clips."""

from __future__ import annotations

import pytest

#: (kind, duration [s]) of the generated clips; item seed 1000 is used by no corpus
CLIPS = {"vocal": ("vocal", 24.0, 3), "instrumental": ("instrumental", 20.0, 1),
         "speech": ("speech", 20.0, 2), "choir": ("choir", 20.0, 4)}


@pytest.fixture(scope="session")
def tiny_card(tmp_path_factory):
    """Card path of a small randomly initialised ``svd_schlueter`` (not trained)."""
    import torch

    from audiodl import pretrained
    from audiodl.features.config import preset
    from audiodl.models.registry import build
    from audiodl.pretrained.card import build_card

    torch.manual_seed(0)
    args = {"conv": [4, 4, 8, 4], "dense": [8, 4]}
    model = build("svd_schlueter", args).eval()
    model.norm.set_stats(torch.full((80,), -4.0), torch.full((80,), 2.0))
    card = build_card(name="svd_tiny", task="singing", arch="svd_schlueter", args=args,
                      frontend=preset("svd_schlueter"), labels=["singing"], layout="same",
                      decoder={"offline": {"method": "threshold", "threshold": 0.5,
                                           "median": 0.8}},
                      training={"data": "none (random weights)", "command": "", "seed": 0,
                                "seconds": 0.0})
    return pretrained.save(model, card, tmp_path_factory.mktemp("svd_card"))


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Generated songs by kind: ``{kind: (flac path, sung segments [(start, end)])}``.

    ``vocal``: a melody sung by MBROLA over an accompaniment; ``instrumental``:
    the melody on a lead instrument; ``speech``: TTS speech over music;
    ``choir``: the melody on a GM choir/"ooh" patch. Skipped when the
    synthesis engines are missing.
    """
    from audiodl.data.manifest import read_segments
    from audiodl.data.synth import singing
    from audiodl.data.synth.engines import EngineUnavailable
    try:
        singing.check()
    except EngineUnavailable as exc:
        pytest.skip(f"singing synthesis engines missing: {exc}")
    out = tmp_path_factory.mktemp("svd_clips")
    ctx = singing.make_context(22050)
    res = {}
    for name, (kind, dur, index) in CLIPS.items():
        spec = {"id": f"clip_{name}", "index": index, "seed": 1000, "kind": kind,
                "duration": dur, "split": "test"}
        item = singing.generate(spec, ctx, out)
        sung = [(a, b) for a, b, lab in read_segments(out / item["annotations"]["vocals"])
                if lab == "sing"]
        res[name] = (str(out / item["audio"]), sung)
    return res
