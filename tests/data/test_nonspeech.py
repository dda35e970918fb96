"""The 'neither' data: the nonspeech generator and the sound-effects / klettres importers."""

import struct

import numpy as np
import pytest
import soundfile as sf

from audiodl.data.manifest import read_manifest, read_segments
from audiodl.data.synth import nonspeech
from audiodl.data.synth.runner import generate_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("ns")
    generate_corpus("nonspeech", out, hours=0.01, seed=3, jobs=1)
    return out


def test_items_hold_neither_music_nor_speech(corpus):
    items = read_manifest(corpus / "manifest.jsonl", check_files=True)
    assert len(items) >= 3
    for it in items:
        assert it["labels"] == [] and it["task"] == "nonspeech"
        assert read_segments(it["annotations"]["segments"]) == []
        assert it["meta"]["kind"] in nonspeech.KINDS
        y, sr = sf.read(it["audio"])
        assert sr == 22050 and abs(len(y) / sr - it["duration"]) < 1e-3
        assert np.max(np.abs(y)) < 1.0


def test_plan_is_prefix_stable_and_covers_every_kind():
    small = nonspeech.plan(0.05, 1, 22050)
    big = nonspeech.plan(1.0, 1, 22050)
    assert big[:len(small)] == small
    assert {s["kind"] for s in big} == set(nonspeech.KINDS)
    assert {s["split"] for s in big} == {"train", "valid", "test"}
    durs = np.array([s["duration"] for s in big])
    assert durs.min() < 0.1 and durs.max() > 10  # 50 ms beeps as well as long noise


@pytest.mark.parametrize("kind", nonspeech.KINDS)
def test_every_kind_renders_finite_audio(kind):
    rng = np.random.default_rng(0)
    y = nonspeech.render(kind, rng, 22050 * 2, 22050)
    assert y.shape == (44100,) and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.max(np.abs(y)) <= 1.0
    if kind != "silence":
        assert np.max(np.abs(y)) > 0.005


def test_opensfx_archive_reader(tmp_path):
    from audiodl.data.importers import _opensfx_sounds
    import io
    wavs = []
    for n in (100, 300):
        buf = io.BytesIO()
        sf.write(buf, np.zeros(n, np.float32), 11025, format="WAV", subtype="PCM_16")
        wavs.append(buf.getvalue())
    names = [b'"Wind". Original "wind1.wav"', b'"Beep"']
    entries = [bytes([len(nm) + 1]) + nm + b"\0" + w for nm, w in zip(names, wavs)]
    table, off = b"", 8 * len(entries)
    for e in entries:
        table += struct.pack("<II", off | 0x80000000, len(e))
        off += len(e)
    path = tmp_path / "sfx.cat"
    path.write_bytes(table + b"".join(entries))
    got = _opensfx_sounds(path)
    assert [g[0] for g in got] == [nm.decode() for nm in names]
    assert sf.info(io.BytesIO(got[1][1])).frames == 300


def test_sound_effect_and_voice_splits_are_disjoint_by_source():
    from audiodl.data.importers import KLETTRES_SPLIT, SOUND_EFFECTS
    by_split = {}
    for pkg, (split, *_rest) in SOUND_EFFECTS.items():
        by_split.setdefault(split, set()).add(pkg)
    assert {"train", "valid", "test"} <= set(by_split)
    assert not by_split["train"] & by_split["test"]
    langs = {s: {k for k, v in KLETTRES_SPLIT.items() if v == s} for s in ("train", "test")}
    assert langs["train"] and langs["test"] and not langs["train"] & langs["test"]


# --- machinery: engines, motors, fans, rhythmic mechanics (the negatives a detector calls music)

def test_machinery_plan_has_every_kind_and_no_test_split():
    from audiodl.data.synth import machinery
    small = machinery.plan(0.05, 1, 22050)
    big = machinery.plan(0.6, 1, 22050)
    assert big[:len(small)] == small
    assert {s["kind"] for s in big} == set(machinery.KINDS)
    # train/valid only: the neither test set stays unchanged (nonspeech + unseen packages)
    assert {s["split"] for s in big} == {"train", "valid"}
    assert {s["id"] for s in big}.isdisjoint({s["id"] for s in nonspeech.plan(0.6, 1, 22050)})


def _modulation_peak(y, sr, lo, hi):
    """Frequency [Hz] of the strongest envelope modulation between lo and hi."""
    hop = 64
    env = np.sqrt(np.convolve(y.astype(np.float64) ** 2, np.ones(hop) / hop, "same")[::hop])
    env = env - env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env))))
    f = np.fft.rfftfreq(len(env), hop / sr)
    m = (f >= lo) & (f <= hi)
    return f[m][np.argmax(spec[m])]


@pytest.mark.parametrize("kind", ["engine", "motor", "fan", "hum", "mechanism", "rotor", "jet", "crowd"])
def test_every_machinery_kind_renders_finite_audible_audio(kind):
    from audiodl.data.synth import machinery
    for seed in range(3):
        y = machinery.render(kind, np.random.default_rng(seed), 22050 * 3, 22050)
        assert y.shape == (66150,) and y.dtype == np.float32 and np.all(np.isfinite(y))
        assert 10 ** (-31 / 20) <= np.max(np.abs(y)) <= 10 ** (-1 / 20) + 1e-6
        assert np.std(y[: 22050 // 2]) + np.std(y[-22050 // 2:]) > 0  # sound, not silence


def test_engine_pulses_fire_at_the_planned_rate():
    from audiodl.data.synth.machinery import _pulses
    sr, n = 22050, 22050 * 4
    rng = np.random.default_rng(0)
    y = _pulses(rng, n, sr, np.full(n, 25.0), lambda g: np.hanning(40), jitter=0.0)
    assert abs(_modulation_peak(y, sr, 5, 100) - 25.0) < 1.0
    onsets = np.flatnonzero((y[1:] > 0) & (y[:-1] == 0))
    assert 98 <= len(onsets) <= 101


def test_machinery_items_hold_neither_music_nor_speech(tmp_path):
    from audiodl.data.synth import machinery
    generate_corpus("machinery", tmp_path, hours=0.005, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert len(items) >= 2
    for it in items:
        assert it["labels"] == [] and it["task"] == "nonspeech" and it["id"].startswith("mc")
        assert read_segments(it["annotations"]["segments"]) == []
        assert it["meta"]["kind"] in machinery.KINDS


def test_new_effect_packages_are_train_or_valid_only():
    from audiodl.data.importers import SOUND_EFFECTS
    for pkg in ("simutrans-pak64", "freeciv-data", "scorched3d-data"):
        assert SOUND_EFFECTS[pkg][0] in ("train", "valid")
    assert SOUND_EFFECTS["scorched3d-data"][0] == "valid"  # engines/rotors to tune the gate on
    # round 4: real engine/vehicle recordings of other games, never in the test split
    for pkg in ("torcs-data", "supertuxkart-data", "stormbaancoureur-data"):
        assert SOUND_EFFECTS[pkg][0] == "train"
    for pkg in ("btanks-data", "dustracing2d-data"):
        assert SOUND_EFFECTS[pkg][0] == "valid"


def test_effect_name_filters_leave_out_voices_and_jingles():
    import re

    from audiodl.data.importers import SOUND_EFFECTS
    left_out = {"supertuxkart-data": ["WilhelmScream.ogg", "sara_airport_pa.ogg", "gp_end.ogg",
                                      "race_finish_victory.ogg", "gnu_flute.ogg"],
                "btanks-data": ["laugh01.ogg", "zombie-dead.ogg", "kamikaze-scream.ogg"],
                "dustracing2d-data": ["bell.ogg"], "torcs-data": ["locked.wav"]}
    kept = {"supertuxkart-data": ["engine_large.ogg", "airplane_jetEngine.ogg", "car_revup.ogg"],
            "btanks-data": ["helicopter.ogg", "train.ogg", "engine-start.ogg"],
            "dustracing2d-data": ["carEngine.ogg"], "torcs-data": ["f360.wav"]}
    for pkg, names in left_out.items():
        assert all(re.search(SOUND_EFFECTS[pkg][3], n) for n in names), pkg
    for pkg, names in kept.items():
        assert not any(re.search(SOUND_EFFECTS[pkg][3], n) for n in names), pkg


def test_activity_floor_rule_drops_a_recordings_noise_floor():
    from audiodl.data.synth.common import activity, activity_segments
    sr = 16000
    rng = np.random.default_rng(0)
    y = rng.standard_normal(2 * sr) * 10 ** (-30 / 20) * 0.1  # a noise floor 30 dB down
    y[sr // 2:sr] += 0.1 * np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr) * np.sqrt(2)
    plain, _ = activity(y, sr)
    floor, _ = activity(y, sr, floor_db=10.0)
    assert plain.mean() > 0.95  # the 35 dB rule alone: the whole recording is "speech"
    assert 0.22 < floor.mean() < 0.28  # with the floor rule: the 0.5 s burst only
    segs = activity_segments(y * np.repeat(floor, 160)[:len(y)], sr, label="speech")
    assert len(segs) == 1 and abs(segs[0][0] - 0.5) < 0.03 and abs(segs[0][1] - 1.0) < 0.03
    direct = activity_segments(y, sr, label="speech", floor_db=10.0)
    assert len(direct) == 1 and abs(direct[0][0] - 0.5) < 0.03 and abs(direct[0][1] - 1.0) < 0.03
    assert activity_segments(y, sr, label="speech")[0][1] - activity_segments(
        y, sr, label="speech")[0][0] > 1.9


def test_importer_labels_with_the_floor_rule(tmp_path):
    from audiodl.data import importers
    from audiodl.data.manifest import read_segments
    sr = 16000
    rng = np.random.default_rng(1)
    y = (rng.standard_normal(2 * sr) * 10 ** (-30 / 20) * 0.1).astype(np.float32)
    y[sr // 2:sr] += 0.1 * np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr).astype(np.float32)
    rel = importers._write_item(tmp_path, "audio/x.flac", y, sr, "speech", min_gap=0.3,
                                floor_db=importers.KLETTRES_FLOOR_DB)
    segs = read_segments(tmp_path / rel)
    assert len(segs) == 1 and 0.45 < segs[0][0] < 0.55 and 0.95 < segs[0][1] < 1.05
