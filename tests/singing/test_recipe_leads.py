"""recipes/singing/leads.py and the generator's forced ``lead`` program."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location(
        "svd_leads", os.path.join(ROOT, "recipes", "singing", "leads.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plan_is_instrumental_with_wind_leads():
    from audiodl.data.synth import singing
    specs = _module().plan(0.05, seed=31)
    assert sum(s["duration"] for s in specs) >= 0.05 * 3600
    assert all(s["kind"] == "instrumental" and s["lead"] in singing.WIND_LEADS for s in specs)
    assert len({s["lead"] for s in specs}) == len(specs)     # cycles through the leads
    assert _module().plan(0.05, seed=31) == specs            # deterministic


def test_seed_1000_is_refused():
    with pytest.raises(SystemExit):
        _module().main(["-o", os.devnull, "--seed", "1000"])


def test_forced_lead_sets_the_melody_program(tmp_path):
    from audiodl.data.synth import singing
    from audiodl.data.synth.engines import EngineUnavailable, check_fluidsynth
    try:
        check_fluidsynth()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    ctx = singing.make_context(22050)
    base = {"id": "a", "index": 5, "seed": 31, "kind": "instrumental", "duration": 4.0, "split": "train"}
    free = singing.generate(base, ctx, tmp_path)
    forced = singing.generate(dict(base, id="b", lead=77), ctx, tmp_path)
    assert 77 in forced["meta"]["programs"].values()
    changed = {k for k, v in forced["meta"]["programs"].items() if free["meta"]["programs"][k] != v}
    assert len(changed) <= 1                                  # only the melody's program moves
    assert forced["meta"]["tempo"] == free["meta"]["tempo"]
    assert forced["labels"] == free["labels"] == ["music"]


def test_songs_plan_keeps_the_generator_mix_and_draws_soundfonts():
    from audiodl.data.synth import singing
    fonts = ("a.sf2", "b.sf3", "c.sf3")
    specs = _module().plan_songs(0.3, 25, 22050, soundfonts=fonts)
    plain = singing.plan(0.3, 25, 22050)
    assert [{k: v for k, v in s.items() if k != "soundfont"} for s in specs] == plain
    assert {s["soundfont"] for s in specs} <= set(fonts) and len({s["soundfont"] for s in specs}) > 1
    assert len({s["kind"] for s in specs}) > 2                # not only one kind
    assert _module().plan_songs(0.3, 25, 22050, soundfonts=fonts) == specs   # deterministic
    assert all("soundfont" not in s for s in _module().plan_songs(0.3, 25, 22050))


def test_speech_plan_is_speech_with_real_voices():
    specs = _module().plan_songs(0.2, 44, 22050, speech=0.8)
    assert specs and all(s["kind"] == "speech" and s["real_voices"] and s["real_speech_p"] == 0.8
                         for s in specs)


def test_real_voice_names():
    from audiodl.data.synth import singing
    assert singing._voice_of("/usr/share/klettres/fr/alpha/a.ogg") == "klettres:fr"
    assert singing._voice_of("/usr/share/asterisk/sounds/es/digits/1.wav") == "asterisk:es"
    assert singing._voice_of("/usr/share/asterisk/sounds/en/digits/1.wav") == "asterisk:en"
    assert isinstance(singing.real_voice_files(), list)
