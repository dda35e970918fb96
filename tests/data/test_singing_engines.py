"""The festival and WORLD singing engines of the singing corpus sing the score's pitches."""

import numpy as np
import pytest

from audiodl.data.synth import singing as S
from audiodl.data.synth.engines import EngineUnavailable

SR = 16000


def _median_f0(y, sr):
    pw = S.import_pyworld()
    f0, _ = pw.dio(y.astype(np.float64), sr, frame_period=10.0, f0_floor=60.0, f0_ceil=600.0)
    f0 = f0[f0 > 0]
    assert len(f0) > 20, "no voiced frames"
    return float(np.median(f0))


def _cents(a, b):
    return 1200 * abs(np.log2(a / b))


def test_festival_sings_the_written_pitch_placed_at_the_first_note():
    voice = S.festival_singing_voice()
    if voice is None:
        pytest.skip("festival or its diphone voice is not installed")
    try:
        S.import_pyworld()
    except EngineUnavailable:
        pytest.skip("pyworld not installed (used to measure the pitch)")
    notes = [(0.5, 1.3, 57), (1.4, 2.2, 57), (2.3, 3.1, 57)]  # A3 = 220 Hz
    y = S.festival_sing(notes, 4.0, voice=voice, rng=np.random.default_rng(0), sr=SR)
    assert len(y) == 4 * SR
    assert np.abs(y[: int(0.45 * SR)]).max() < 1e-6  # silent before the first note
    assert _cents(_median_f0(y, SR), 220.0) < 100


def test_world_puts_the_melody_on_speech():
    try:
        S.import_pyworld()
    except EngineUnavailable:
        pytest.skip("pyworld not installed")
    from audiodl.data.synth.engines import list_voices, tts
    voices = [v for v in list_voices(("flite", "festival")) if v.quality == "natural"]
    if not voices:
        pytest.skip("no flite/festival voice")
    sp, ssr = tts(voices[0], "the weather today is cloudy with a chance of rain")
    notes = [(0.3, 1.5, 55), (1.5, 6.0, 55)]  # G3 = 196 Hz
    y = S.world_sing(notes, 6.0, rng=np.random.default_rng(0), sr=SR, speech=(sp, ssr))
    assert len(y) == 6 * SR and np.abs(y[: int(0.25 * SR)]).max() < 1e-6
    assert _cents(_median_f0(y, SR), 196.0) < 60  # vibrato of at most 50 cents around the note
