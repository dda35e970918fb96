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
