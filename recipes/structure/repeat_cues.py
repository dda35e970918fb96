"""What marks a repeat boundary in the varied / families songs, from their scores (diagnosis only).

    python recipes/structure/repeat_cues.py --manifest structure/vvalid/manifest.jsonl:6 \
        --manifest structure/vfam/manifest.jsonl:7 [--card RUN/structure_cnn.json] [--out J]

Each ``MANIFEST:SEED`` names a corpus made by ``make_varied.py`` (generator
``structure_varied`` or ``structure_families``) with that ``--seed``. The
song's score is composed again with the generator's own random draws (no
audio is rendered; tempo and form are checked against the manifest), and
every inner boundary is classed by what the audio holds there:

- ``change``: another section follows (new progression, instruments, density);
- ``repeat+crash``: the same section again, and a crash cymbal on its first beat;
- ``repeat-nocue``: the same section again with no crash, or a song without drums.

The section material of these generators is periodic within a section
(every progression is 4 bars, the melody motif 2 bars, the drum pattern
1 bar; sections are 4 or 8 bars), so a ``repeat-nocue`` boundary continues
the texture without a seam: the audio around it is the same as in the middle
of a section, and a self-similarity lag matrix shows the same stripes there
as at every 4 bars of the block, whatever its lag range. ``ceiling_f`` is
the mean over songs of ``mir_eval.segment.detection`` (trim, as the
recipe scores) of an estimate holding every boundary but the cue-less
repeats, exactly placed: what a method reaches that finds every boundary
the audio marks locally, and nothing else. ``--card`` also gives the
model's recall within 0.5 s and 3 s per class (its card's decoder, or
``--decoder`` overrides).
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import numpy as np

from audiodl.data.manifest import read_manifest
from audiodl.data.paths import data_root, resolve_data_path
from audiodl.data.synth.compose import DRUM_KEYS
from audiodl.data.synth.structure_varied import compose_song
from audiodl.data.synth.runner import item_rng
from audiodl.training.specs.structure import read_sections

SALTS = {"structure_varied": 47, "structure_families": 59}  # generate_with(salt=...) per generator


def score_of(item, seed: int):
    """The score ``generate_with`` composed for ``item`` (None if tempo or form disagree)."""
    gen = item["meta"]["generator"]
    mod = importlib.import_module(f"audiodl.data.synth.{gen}")
    form_fn = mod.random_form if gen == "structure_varied" else mod.family_form
    rng = item_rng(seed, int(item["id"][2:]), salt=SALTS[gen])
    score = compose_song(rng, form_fn)
    ok = abs(score.tempo - item["meta"]["tempo"]) < 1e-2 and [s.label for s in score.sections] == [
        s for s in item["meta"]["form"]]
    return score if ok else None


def boundary_classes(score) -> list:
    """``(beat, class, bars of the section before, seamless)`` for every inner boundary."""
    drum = next((i for i, p in enumerate(score.parts) if p.is_drum), None)
    crash = {n.start for n in score.notes if n.part == drum and n.pitch in DRUM_KEYS["crash"]}
    out = []
    for a, b in zip(score.sections, score.sections[1:]):
        bars = a.beats / score.beats_per_bar
        if a.label != b.label:
            kind = "change"
        else:
            kind = "repeat+crash" if b.start in crash else "repeat-nocue"
        out.append((b.start, kind, bars, bars % 4 == 0))
    return out


def _ceiling_f(secs, kinds) -> float:
    """Detection F (trim) of the reference sections merged across their cue-less repeats."""
    import mir_eval
    ref = np.array([[a, b] for a, b, _ in secs], dtype=float)
    keep = [0] + [k + 1 for k, kind in enumerate(kinds) if kind != "repeat-nocue"]
    starts = ref[keep, 0]
    est = np.stack([starts, np.r_[starts[1:], ref[-1, 1]]], axis=1)
    return float(mir_eval.segment.detection(ref, est, window=0.5, trim=True)[2])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", action="append", required=True, help="MANIFEST:SEED (repeatable)")
    ap.add_argument("--card", default=None)
    ap.add_argument("--decoder", default="{}")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    pipe = None
    if args.card:
        from audiodl.tasks.structure import StructurePipeline
        pipe = StructurePipeline.from_pretrained(args.card)
    overrides = json.loads(args.decoder)
    counts, skipped, songs, ceiling = {}, [], 0, []
    for spec in args.manifest:
        path, seed = spec.rsplit(":", 1)
        for it in read_manifest(resolve_data_path(path, data_root())):
            score = score_of(it, int(seed))
            if score is None:
                skipped.append(it["id"])
                continue
            songs += 1
            secs = read_sections(it)
            eb = None
            if pipe is not None:
                est = pipe(it["audio"], **overrides)
                eb = np.asarray(est.intervals[1:, 0], dtype=float)
            classes = boundary_classes(score)
            ceiling.append(_ceiling_f(secs, [k for _, k, _, _ in classes]))
            for (beat, kind, _bars, seamless), sec in zip(classes, secs[1:]):
                t = sec[0]
                assert abs(beat * 60.0 / score.tempo - t) < 0.05, (it["id"], beat, t)
                c = counts.setdefault(kind, {"n": 0, "seamless": 0, "hit0.5": 0, "hit3": 0})
                c["n"] += 1
                c["seamless"] += bool(seamless)
                if eb is not None and len(eb):
                    d = float(np.min(np.abs(eb - t)))
                    c["hit0.5"] += d <= 0.5
                    c["hit3"] += d <= 3.0
    n = sum(c["n"] for c in counts.values())
    out = {"manifests": args.manifest, "songs": songs, "skipped": skipped, "boundaries": n,
           "ceiling_f": round(float(np.mean(ceiling)), 4),
           "card": args.card and str(Path(Path(args.card).parent.name, Path(args.card).name)),
           "classes": {k: dict(v, share=round(v["n"] / n, 3),
                               **({"recall0_5": round(v["hit0.5"] / v["n"], 3),
                                   "recall3": round(v["hit3"] / v["n"], 3)} if pipe else {}))
                       for k, v in sorted(counts.items())}}
    text = json.dumps(out, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
