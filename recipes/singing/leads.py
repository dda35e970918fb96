"""Generate a corpus of instrumental-lead hard negatives (no voice).

Every item is of kind ``instrumental`` with its melody forced onto a lead
program drawn from ``singing.WIND_LEADS`` (piccolo, flute, recorder, pan
flute, blown bottle, shakuhachi, whistle, ocarina, synth leads): breathy
and wind leads that a singing detector tends to call singing.

    python recipes/singing/leads.py -o DIR --hours 0.2 --seed 31
    python recipes/singing/leads.py -o DIR --hours 1.0 --seed 33 --expression 0.7 \\
        --soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 --soundfont ...

Items are rendered exactly as ``audiodl synth singing`` renders them
(``singing.generate``); the spec carries the forced ``lead`` program.
``--expression P`` gives a share P of the items a singer-like lead: the
melody moved an octave down or up at random (into the singers' register),
pitch scoops into notes, vibrato that grows in, expression swells
(``singing.lead_expression``). ``--soundfont PATH`` (repeatable) adds
soundfonts beyond the generator's two (e.g. Debian's
``musescore-general-soundfont-small``, ``fluidr3mono-gm-soundfont``,
``csound-soundfont``); each item then draws its soundfont from all of them.
``--noise P`` adds noise to a share P of the items (the generator's default
is 0.3): a pitched lead under broadband noise is what the round-4..7 models
mistook for a breathy voice.
``--songs`` makes full songs instead (the generator's own mix of kinds, sung
engines, speech and hard negatives, ``singing.plan``), each drawing its
soundfont from the generator's two and the ``--soundfont`` files: sung
training material on accompaniments the generator's default fonts never play.
``--speech P`` makes speech-over-music negatives only (the generator's ``speech`` kind:
a talker over the song, 40 % with the music 20-40 dB down), a share P of them with real
recorded voices (Asterisk English and Spanish prompts, klettres' letters and syllables in
~25 languages, ``singing.real_voice_files``) instead of the generator's 30 % Asterisk English.
Without these options the specs (and items) are those of earlier versions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def plan(hours, seed, *, expression=0.0, soundfonts=(), programs=None, noise=None):
    """Item specs: instrumental items with a forced wind/synth lead until ``hours`` are filled."""
    from audiodl.data.synth import singing
    from audiodl.data.synth.runner import item_rng
    leads = tuple(programs) if programs else singing.WIND_LEADS
    specs, total, i = [], 0.0, 0
    while total < hours * 3600.0:
        rng = item_rng(seed, i, salt=71)
        dur = round(float(rng.uniform(*singing.DURATION)), 2)
        lead = int(leads[i % len(leads)])
        spec = {"id": f"sl{i:06d}", "index": i, "seed": seed, "kind": "instrumental",
                "duration": dur, "split": "train", "lead": lead}
        if expression > 0 and rng.random() < expression:
            spec["expression"] = True
        if soundfonts:
            spec["soundfont"] = str(soundfonts[int(rng.integers(len(soundfonts)))])
        if noise is not None:
            spec["p_noise"] = float(noise)
        specs.append(spec)
        total += dur
        i += 1
    return specs


def plan_songs(hours, seed, sr, *, soundfonts=(), speech=None):
    """The generator's own song specs (``singing.plan``), each with a drawn soundfont;
    ``speech`` (a share of real voices): every item of kind ``speech`` instead."""
    from audiodl.data.synth import singing
    from audiodl.data.synth.runner import item_rng
    specs = singing.plan(hours, seed, sr)
    if speech is not None:
        for spec in specs:
            spec.update(kind="speech", real_voices=True, real_speech_p=float(speech))
    if soundfonts:
        for spec in specs:
            rng = item_rng(seed, spec["index"], salt=72)
            spec["soundfont"] = str(soundfonts[int(rng.integers(len(soundfonts)))])
    return specs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--hours", type=float, default=0.2)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--expression", type=float, default=0.0,
                    help="share of items with a singer-like lead (register, scoops, vibrato)")
    ap.add_argument("--soundfont", action="append", default=[],
                    help="extra .sf2/.sf3 file (repeatable); items draw from all soundfonts")
    ap.add_argument("--noise", type=float, default=None,
                    help="probability of added noise (white/pink/brown, SNR 10-40 dB; "
                         "generator default 0.3)")
    ap.add_argument("--songs", action="store_true",
                    help="full songs of every kind (singing.plan) instead of lead negatives")
    ap.add_argument("--speech", type=float, default=None, metavar="P",
                    help="speech-over-music negatives only, a share P with real voices")
    ap.add_argument("--programs", default=None,
                    help="comma-separated GM lead programs (default: singing.WIND_LEADS)")
    a = ap.parse_args(argv)
    if a.seed == 1000:
        ap.error("seed 1000 is the tests' item seed")
    from audiodl.data.manifest import write_manifest
    from audiodl.data.synth import singing
    from audiodl.data.synth.engines import FluidRenderer, find_soundfonts
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    ctx = singing.make_context(a.sr)
    names = ()
    if a.soundfont:
        fonts = dict(find_soundfonts())
        fonts.update({Path(f).stem: str(f) for f in a.soundfont})
        ctx.renderer.close()
        ctx.renderer = FluidRenderer(a.sr, soundfonts=fonts)
        names = tuple(ctx.renderer.soundfonts)
    programs = [int(x) for x in a.programs.split(",")] if a.programs else None
    if a.songs or a.speech is not None:
        specs = plan_songs(a.hours, a.seed, a.sr, soundfonts=names, speech=a.speech)
    else:
        specs = plan(a.hours, a.seed, expression=a.expression, soundfonts=names,
                     programs=programs, noise=a.noise)
    items = []
    for spec in specs:
        item = singing.generate(spec, ctx, out)
        if "lead" in spec:
            item.setdefault("meta", {})["lead"] = spec["lead"]
        items.append(item)
    write_manifest(out / "manifest.jsonl", items)
    (out / "corpus.json").write_text(json.dumps({"generator": "recipes/singing/leads.py",
                                                 "seed": a.seed, "hours": a.hours,
                                                 "expression": a.expression, "songs": a.songs, "speech": a.speech,
                                                 "soundfonts": list(names),
                                                 "programs": programs, "noise": a.noise,
                                                 "count": len(items)}, indent=1))
    print(out / "manifest.jsonl", len(items), round(sum(x["duration"] for x in items) / 3600, 4), "h")


if __name__ == "__main__":
    main()
