"""A melody MBROLA refuses ("Concat : PANIC") is retried folded into a safe pitch range."""

import numpy as np
import pytest

from audiodl.data.synth import singing as S
from audiodl.data.synth.engines import EngineUnavailable


def test_sing_safely_retries_with_folded_pitch(monkeypatch):
    calls = []

    def fake_sing(notes, duration, *, voice_path, rng, sr, fold=None):
        calls.append((fold, rng.integers(1 << 30)))
        if fold is None:
            raise EngineUnavailable("mbrola failed: Concat : PANIC, check your pitch :-)")
        return np.zeros(10, np.float32), [(0.0, 0.1)]

    monkeypatch.setattr(S, "sing", fake_sing)
    (y, spans), folded = S.sing_safely([(0.0, 0.5, 30)], 1.0, voice_path="v",
                                       rng=np.random.default_rng(0), sr=16000)
    assert folded and calls[1][0] == S.SAFE_F0
    assert calls[0][1] == calls[1][1], "the retry replays the same random draws"


def test_other_failures_are_not_hidden(monkeypatch):
    def broken(*a, **k):
        raise EngineUnavailable("mbrola failed: voice file missing")

    monkeypatch.setattr(S, "sing", broken)
    with pytest.raises(EngineUnavailable, match="voice file"):
        S.sing_safely([(0.0, 0.5, 60)], 1.0, voice_path="v", rng=np.random.default_rng(0),
                      sr=16000)


@pytest.mark.skipif(not S._voice_paths(), reason="MBROLA voices not installed")
def test_real_fold_keeps_pitch_classes_in_range():
    notes = [(0.2, 0.6, 30), (0.7, 1.1, 100)]  # far below and above any voice
    vp = next(iter(S._voice_paths().values()))
    y, spans = S.sing(notes, 1.5, voice_path=vp, rng=np.random.default_rng(1), sr=16000,
                      fold=S.SAFE_F0)
    assert len(spans) == 2 and np.abs(y).max() > 0.01


def test_a_long_rest_before_the_first_note_is_put_back_as_silence(monkeypatch):
    """MBROLA panics on a ~19.5 s rest before the first note (a `mixed` item, speech first)
    whatever the pitch: it sings from 1 s before the note, and the rest becomes silence."""
    calls = []

    def fake_sing(notes, duration, *, voice_path, rng, sr, fold=None):
        calls.append((notes[0][0], fold, rng.integers(1 << 30)))
        if notes[0][0] > 10.0:  # the rest, not the pitch
            raise EngineUnavailable("mbrola failed: _-_ Concat : PANIC, check your pitch :-)")
        n = int(round(duration * sr))
        return np.ones(n, np.float32), [(notes[0][0], notes[0][1])]

    monkeypatch.setattr(S, "sing", fake_sing)
    sr = 100
    (y, spans), folded = S.sing_safely([(19.5, 20.0, 60)], 30.0, voice_path="v",
                                       rng=np.random.default_rng(0), sr=sr)
    assert not folded and len(y) == 30 * sr
    assert spans == [(19.5, 20.0)]
    assert not y[:int(18.5 * sr)].any() and y[int(18.5 * sr):].all()
    assert [c[1] for c in calls] == [None, S.SAFE_F0, None]
    assert calls[2][0] == pytest.approx(1.0)
    assert len({c[2] for c in calls}) == 1, "every retry replays the same random draws"


def test_no_rest_to_cut_keeps_the_error(monkeypatch):
    def panics(*a, **k):
        raise EngineUnavailable("mbrola failed: Concat : PANIC, check your pitch :-)")

    monkeypatch.setattr(S, "sing", panics)
    with pytest.raises(EngineUnavailable, match="PANIC"):
        S.sing_safely([(0.5, 1.0, 60)], 2.0, voice_path="v", rng=np.random.default_rng(0),
                      sr=100)
