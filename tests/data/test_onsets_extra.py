import numpy as np
import pytest

from audiodl.data.manifest import read_manifest, read_times
from audiodl.data.synth.onsets_extra import DrumBank, drum_events, measure_attack, mix_drums
from audiodl.data.synth.runner import generate_corpus

from .conftest import require_engines

SR = 8000


def test_measure_attack_click_and_swell():
    y = np.zeros(SR, np.float32)
    y[2000:2400] = np.sin(np.arange(400) * 0.3)  # hard attack at 0.25 s
    assert abs(measure_attack(y, SR) - 0.25) < 0.003
    t = np.arange(SR) / SR
    swell = np.minimum(t / 0.5, 1.0) * np.sin(2 * np.pi * 440 * t)  # linear 500 ms fade-in
    a = measure_attack(swell, SR)
    assert 0.05 < a < 0.12  # -15 dB of the peak: 0.178 x 500 ms = 89 ms, not the note-on
    assert measure_attack(np.zeros(100), SR) == 0.0


@pytest.mark.parametrize("kind", ["groove", "sparse", "hats"])
def test_drum_events_and_labels(kind):
    rng = np.random.default_rng(0)
    ev = drum_events(rng, kind, 10.0)
    assert ev and all(0 <= t < 10.0 and g > 0 for t, _, g in ev)
    if kind == "sparse":  # long-decay hits, at least 250 ms apart
        assert np.all(np.diff([t for t, _, _ in ev]) >= 0.25)
    bank = DrumBank(SR)
    for role in ("kick", "snare", "hat", "hat_open", "cymbal", "tom", "perc"):
        s = np.zeros(SR // 2, np.float32)
        s[40:] = np.exp(-np.arange(SR // 2 - 40) / 800.0) * np.sign(np.sin(np.arange(SR // 2 - 40)))
        bank.add(role, role, s)
    y, ons = mix_drums(rng, bank, ev, 10.0, SR)
    assert len(y) == 10 * SR and len(ons) == len(ev)
    starts = np.round(np.asarray([t for t, _, _ in ev]) * SR) / SR
    assert np.all((ons - starts >= 0) & (ons - starts < 0.01))  # start + measured attack


def test_realdrums_plan_is_test_only():
    from audiodl.data.synth.onsets_realdrums import plan
    specs = plan(1.0, 0, 44100)
    assert {s["split"] for s in specs} == {"test"}
    assert {(s["kind"], s["cond"]) for s in specs if s["kit"] == "drumkit"} >= {
        ("sparse", "dry"), ("hats", "reverb"), ("groove", "reverb+noise")}


@pytest.mark.slow
def test_extra_corpus(tmp_path):
    require_engines("onsets_extra")
    generate_corpus("onsets_extra", tmp_path, hours=0.012, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert items
    for it in items:
        on = read_times(tmp_path / it["annotations"]["onsets"])
        assert len(on) == it["meta"]["n_onsets"] and np.all(np.diff(on) >= 0.03)


def test_kits_roles_and_corpus(tmp_path):
    from audiodl.data.synth.onsets_kits import KIT_ROLES, plan, role_of
    assert role_of("HatOpen-Soft.wav") == "hat_open" and role_of("HatClosed-Hard.wav") == "hat"
    assert role_of("SnareRimshot-Med.wav") == "snare" and role_of("24Ride-3.wav") == "cymbal"
    assert role_of("TomFloor-Hard.wav") == "tom" and role_of("drumkit.xml") is None
    assert set(KIT_ROLES.values()) - {None} == {"kick", "snare", "perc", "hat", "hat_open",
                                                "cymbal", "tom"}
    assert role_of("HatPedal-Soft.wav") is None  # slow "chick": ambiguous attack label
    specs = plan(0.5, 0, 44100)
    assert {s["split"] for s in specs} >= {"train", "valid"}
    assert {s["kind"] for s in specs} == {"drum_sparse", "drum_groove", "drum_hats"}
    require_engines("onsets_kits")
    generate_corpus("onsets_kits", tmp_path, hours=0.004, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert items and all(it["meta"]["kit"] == "gmrock" for it in items)
    for it in items:
        on = read_times(tmp_path / it["annotations"]["onsets"])
        assert len(on) == it["meta"]["n_onsets"] > 0 and np.all(np.diff(on) >= 0.03)
        assert 0 < on[0] < it["duration"]


def test_chatter_tail_flares_up_after_the_attack_only():
    from audiodl.data.synth.onsets_chatter import chatter_tail
    rng = np.random.default_rng(0)
    n = SR
    s = (np.exp(-np.arange(n) / (0.4 * SR)) * np.sign(np.sin(np.arange(n) * 1.3))).astype(np.float32)
    out = chatter_tail(s, SR, rng, 0.01)
    i0 = int(0.05 * SR)
    assert np.array_equal(out[:i0], s[:i0])  # the attack is untouched
    gain = 20 * np.log10(np.abs(out[i0:]) / np.abs(s[i0:]))
    assert gain.max() - gain.min() > 3.0  # flare-ups of several dB
    assert abs(np.mean(gain)) < 1.0  # the tail keeps its level on average
    assert np.array_equal(chatter_tail(s[:10], SR, rng, 0.01), s[:10])  # too short: unchanged


def test_chatter_corpus(tmp_path):
    from audiodl.data.synth.onsets_chatter import plan
    specs = plan(0.5, 0, 44100)
    assert {s["split"] for s in specs} >= {"train", "valid"}
    assert {s["kind"] for s in specs} == {"drum_sparse", "drum_groove"}
    require_engines("onsets_chatter")
    generate_corpus("onsets_chatter", tmp_path, hours=0.004, seed=3, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert items and all(it["meta"]["chatter"] for it in items)
    for it in items:
        on = read_times(tmp_path / it["annotations"]["onsets"])
        assert len(on) == it["meta"]["n_onsets"] > 0 and np.all(np.diff(on) >= 0.03)
