"""Recipe configs load; the shipped model transcribes a synthetic utterance with word times."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "recipes", "asr", "conf",
                                                               "*.toml"))),
                         ids=os.path.basename)
def test_asr_configs_load(path):
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    cfg = load_config(get_spec("asr").config_class, path)
    assert cfg.smoke == path.endswith("ci.toml")


def _shipped():
    from audiodl import pretrained
    names = pretrained.list_models("asr")
    if not names:
        pytest.skip("no shipped ASR model")
    return pretrained.default_model("asr")


def _flite_words(words, gap=0.6, sr=16000):
    """flite (slt) speaking each word alone, joined by ``gap`` s of silence; true spans [s]."""
    import shutil
    import subprocess
    import tempfile

    from audiodl.io.audio import load
    if shutil.which("flite") is None:
        pytest.skip("flite not installed")
    parts, spans, t = [np.zeros(int(gap * sr), np.float32)], [], gap
    with tempfile.TemporaryDirectory() as d:
        for w in words:
            f = os.path.join(d, f"{w}.wav")
            subprocess.run(["flite", "-voice", "kal16", "-t", w, "-o", f], check=True)
            y, _ = load(f, sr)
            act = np.nonzero(np.abs(y) > 0.02 * np.abs(y).max())[0]
            y = y[act[0]:act[-1] + 1]
            parts += [y, np.zeros(int(gap * sr), np.float32)]
            spans.append((t, t + len(y) / sr))
            t += len(y) / sr + gap
    return np.concatenate(parts), np.asarray(spans)


def test_shipped_model_transcribes_a_sentence():
    """A grammar sentence read by flite (kal16, a training voice; new text): CER well below
    chance. The shipped CPU model is weak (test CER about 0.5, see recipes/asr/README.md):
    this guards against a broken model, front end or decoder, not for accuracy."""
    import shutil
    import subprocess
    import tempfile

    from audiodl.evaluation.asr import cer
    from audiodl.tasks.asr import AsrPipeline
    if shutil.which("flite") is None:
        pytest.skip("flite not installed")
    pipe = AsrPipeline.from_pretrained(_shipped())
    text = "the old doctor arrived early"
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "s.wav")
        subprocess.run(["flite", "-voice", "kal16", "-t", text, "-o", f], check=True)
        act = pipe.activations(f)
    greedy = pipe.decode(act, method="greedy")
    assert cer(text, greedy.text) <= 0.7, greedy.text  # measured 0.54 (chance: about 1)
    assert pipe.decode(act).text  # the card's decoder (beam + LM) answers something


def test_shipped_model_word_timestamps_inside_the_words():
    """Forced alignment of the reference: each word starts inside its spoken span."""
    from audiodl.decoders.ctc import word_timestamps
    from audiodl.tasks.asr import AsrPipeline
    words = ["the", "old", "doctor", "arrived", "early"]
    y, spans = _flite_words(words, gap=0.4)
    pipe = AsrPipeline.from_pretrained(_shipped())
    act = pipe.activations(y, 16000)
    _, times = word_timestamps(act.values, " ".join(words), pipe.labels, fps=act.fps)
    assert np.all(np.diff(times[:, 0]) > 0)
    for (s, e), (ts, te), w in zip(spans, times, words):
        assert s - 0.1 <= ts <= e, (w, s, e, ts, te)  # one output frame is 30 ms
        assert te > s and ts < e + 0.1, (w, s, e, ts, te)  # overlaps the spoken word
