"""festival (text2wave) as a TTS engine (skipped when festival is not installed)."""

import numpy as np
import pytest

from audiodl.data.manifest import read_manifest
from audiodl.data.synth import common
from audiodl.data.synth.engines import Voice, festival_text, list_voices, tts
from audiodl.data.synth.runner import generate_corpus
from audiodl.data.synth.text import normalize_transcript, sentence


def _festival_voices():
    voices = list_voices(engines=("festival",))
    if not voices:
        pytest.skip("festival is not installed (text2wave, festvox-kallpc16k)")
    return voices


def test_festival_text_keeps_the_words():
    assert festival_text('He said: "3 > 2" & left; (really)!') == "He said 3 2 left really !"
    rng = np.random.default_rng(1)
    for _ in range(200):
        s = sentence(rng)
        assert normalize_transcript(festival_text(s)) == normalize_transcript(s)


def test_festival_speaks_odd_punctuation():
    _festival_voices()
    y, sr = tts(Voice("festival", "kal_diphone"), 'Dr. "Smith" said: 3 > 2 & {ok}; (really) #1 -- fine!',
                rate=1.2, pitch=0.9)
    assert sr == 16000 and len(y) > sr and np.abs(y).max() > 0.01


def test_festival_corpus_round_trips_transcripts(tmp_path, monkeypatch):
    voices = _festival_voices()
    monkeypatch.setattr(common, "list_voices", lambda: voices)  # festival only (jobs=1: in process)
    generate_corpus("speech", tmp_path, hours=0.003, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert len(items) == 3
    for it in items:
        assert it["meta"]["voice"] == "festival:kal_diphone" and it["meta"]["engine"] == "festival"
        assert it["text"] == normalize_transcript(it["text"]) and len(it["text"].split()) >= 3
        a, b = it["meta"]["speech_span"]
        assert (b - a) / len(it["text"].split()) > 0.12  # every word was spoken
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return
    from audiodl.data.realism import asr_wer

    # an independent recogniser reads the manifest transcripts back from the audio
    assert asr_wer(tmp_path / "manifest.jsonl")["wer"] < 0.5
