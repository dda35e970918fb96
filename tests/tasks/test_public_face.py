"""Every shipped model loads through the public face and answers on a bundled file."""

from __future__ import annotations

import os

import numpy as np
import pytest

import audiodl
from audiodl import pretrained
from audiodl.tasks import TASKS, task_class

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MUSIC = os.path.join(ROOT, "assets", "examples", "music.wav")


@pytest.mark.parametrize("name", pretrained.list_models())
def test_from_pretrained_dispatches_and_answers(name):
    card = pretrained.card(name)
    pipe = audiodl.Pipeline.from_pretrained(name)
    assert isinstance(pipe, task_class(card.task))
    act = pipe.activations(MUSIC)
    assert act.fps == pytest.approx(pipe.fps) and len(act.values) > 0
    assert act.audio_duration == pytest.approx(20.0)
    result = pipe.decode(act)
    text = pipe.write(result, pipe.default_format, source=MUSIC)
    # a segment list may rightly be empty (no singing in this orchestral clip): no rows then
    empty = hasattr(result, "intervals") and len(result.intervals) == 0
    assert text.strip() or empty, name
    for fmt in pipe.formats:  # every format renders
        out = pipe.write(result, fmt, source=MUSIC)
        assert isinstance(out, str) and (out or empty), (name, fmt)
    if "json" in pipe.formats:  # JSON says so even when there are no rows
        assert pipe.write(result, "json", source=MUSIC).strip(), name
    alias = audiodl.from_pretrained(name)
    assert type(alias) is type(pipe)


def test_every_card_task_has_a_pipeline():
    for name in pretrained.list_models():
        assert pretrained.card(name).task in TASKS


def test_task_default_loading_and_wrong_task():
    from audiodl.errors import ModelError
    from audiodl.tasks.onsets import OnsetPipeline
    assert OnsetPipeline.from_pretrained().card.default
    with pytest.raises(ModelError, match="task"):
        OnsetPipeline.from_pretrained(pretrained.default_model("musicspeech-classify"))
    with pytest.raises(ModelError, match="model name"):
        audiodl.Pipeline.from_pretrained()


def test_decode_params_are_typed_and_validated():
    from audiodl.errors import ParameterError
    det = audiodl.from_pretrained(pretrained.default_model("musicspeech-detect"))
    with pytest.raises(ParameterError):
        det.params(threshold=5.0)
    with pytest.raises(ParameterError):
        det.params(min_gap=-1.0)
    with pytest.raises(ParameterError):
        det.params(nonsense=1.0)
    ons = audiodl.from_pretrained("onsets_cnn")
    with pytest.raises(ParameterError, match="threshold"):
        ons.params(threshold=5.0)
    cls = audiodl.from_pretrained(pretrained.default_model("musicspeech-classify"))
    with pytest.raises(ParameterError):
        cls.params(threshold=0.5)


def test_segments_and_onsets_end_inside_the_file():
    import soundfile as sf
    det = audiodl.from_pretrained(pretrained.default_model("musicspeech-detect"))
    dur = sf.info(MUSIC).duration
    seg = det(MUSIC)
    assert seg.intervals.max() <= dur + 1e-9
    ons = audiodl.from_pretrained("onsets_cnn")
    # a file whose last hit decays and stops: no onset at the padded edge
    from audiodl.testing import clicks
    y = clicks([0.5, 1.0], sr=44100, length=2.0)
    res = ons(y, 44100)
    assert np.all(np.abs(res.times[:, None] - [0.5, 1.0]).min(axis=1) < 0.02), res.times
