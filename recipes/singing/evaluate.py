"""Score a singing-voice model on a corpus's files, by group (the recipe's test stage).

Usage::

    python recipes/singing/evaluate.py --model MODEL_OR_CARD \\
        --manifest "$AUDIODL_DATA/singing/test/manifest.jsonl" [--out results.json] \\
        [--speed] [--threshold T] [--median S]

Runs the full pipeline (file -> front end -> network through the chunked
runner -> the card's decoder, tuned on validation) on every item of the
manifest and reports frame-wise error, precision, recall, specificity and F1
(70 fps grid, counts summed over files) for:

* ``all`` — every file;
* ``seen_voice`` / ``held_out_voice`` — sung files by a voice or engine the
  model was / was not trained on (the card's ``training.data.held_out_voices``,
  matched against ``meta.voice`` and ``meta.engine``; the latter only when the
  card names one), each with the non-singing files;
* ``engine:mbrola`` / ``engine:festival`` / ``engine:world`` — the sung
  files of one singing engine alone (``mixed`` files count for their engine);
* ``speech`` / ``instrumental`` / ``choir`` — hard negatives alone (their
  false-positive rate is the number to read); ``mixed`` — songs with speech
  over the intro and singing afterwards.

``--tta F1,F2,...`` averages the frame probabilities over spectrogram pitch
shifts by these factors (test-time pitch-shift averaging, Schlüter & Grill;
e.g. ``0.9,1,1.1``), with the card's decoder.

``--join-gap S`` scores against references whose gaps of at most S seconds
between sung segments are closed (phrase-level labels; default: the card's
``training.data.label_join_gap``, else 0). When it is > 0 the scores with the
labels as written are reported too (``groups_fine``).

``--gain-db G`` scales every file's waveform by G dB before the front end (no clipping:
the samples stay float), to measure how much the model depends on the recording's level.

``--speed`` adds the throughput in x real time on one thread (torch) over
the files. Writes a JSON file and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


SUNG_KINDS = ("vocal", "festival", "world", "mixed")
GROUPS = ("all", "seen_voice", "held_out_voice", "engine:mbrola", "engine:festival", "engine:world",
          "mixed", "speech", "instrumental", "choir")


def groups_of(item, held_out):
    """Result groups of a manifest item (list of str; see the module docstring)."""
    meta = item.get("meta") or {}
    kind = meta.get("kind", "?")
    voice = meta.get("voice")
    engine = meta.get("engine") or (voice.split(":")[0] if voice else None)
    out = ["all"]
    if kind in SUNG_KINDS:
        out.append("held_out_voice" if (voice in held_out or engine in held_out) else "seen_voice")
        if engine:
            out.append(f"engine:{engine}")
        if kind == "mixed":
            out.append("mixed")
    else:
        out += ["seen_voice", kind] + (["held_out_voice"] if held_out else [])
    return out


def print_tables(tables, cols):
    """Print (title, {group: scores}) pairs as Markdown tables, one row per test group."""
    for title, tab in tables:
        if not tab:
            continue
        print(f"{title}:")
        print("| group | files | " + " | ".join(cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for g in GROUPS:
            if g in tab:
                r = tab[g]
                print(f"| {g} | {r['n_files']} | " + " | ".join(f"{r[c]:.4f}" for c in cols)
                      + " |")


def tta_activations(pipe, path, factors, sr=None):
    """Frame probabilities averaged over spectrogram pitch shifts by ``factors``."""
    import numpy as np

    from audiodl.runtime.source import duration_of
    from audiodl.training.specs.singing import band_centres, pitch_shift_matrix
    from audiodl.types import Activations
    centres = band_centres(pipe.config)
    vals = []
    for f in factors:
        m = pitch_shift_matrix(centres, f)
        vals.append(pipe.activation_values(c @ m for c in pipe.feature_chunks(path, sr)))
    return Activations(values=np.mean(vals, axis=0), fps=pipe.fps, labels=pipe.labels,
                       audio_duration=duration_of(path, sr))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="shipped model name or card .json")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", default=None, help="JSON results file")
    ap.add_argument("--split", default=None, help="only items of this split (e.g. test)")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--median", type=float, default=None, help="[s]")
    ap.add_argument("--speed", action="store_true", help="measure x real time on one thread")
    ap.add_argument("--backend", default="torch", choices=("torch", "onnx", "onnx-int8", "auto"),
                    help="inference backend (onnx-int8: the 8-bit graph NAME.int8.onnx next "
                         "to the card, see quantize.py --ship)")
    ap.add_argument("--tta", default="", help="pitch-shift factors to average, e.g. 0.9,1,1.1")
    ap.add_argument("--into-card", action="store_true",
                    help="record the scores as metrics.test (and the headline) in the card "
                         "given by --model (a run's .json, before `audiodl ship`)")
    ap.add_argument("--join-gap", type=float, default=None,
                    help="label convention [s]: close reference gaps up to this length "
                         "(default: the card's training.data.label_join_gap, else 0)")
    ap.add_argument("--gain-db", type=float, default=0.0,
                    help="scale each waveform by this many dB first (level sensitivity)")
    ap.add_argument("--save-activations", default=None,
                    help="write every file's frame probabilities to this .npz (by item id)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from audiodl import pretrained
    from audiodl.data.manifest import read_manifest, read_segments
    from audiodl.data.paths import data_root
    from audiodl.evaluation.singing import aggregate, evaluate
    from audiodl.tasks.singing import SingingDetector

    torch.set_num_threads(1)
    card = pretrained.card(args.model)
    data = card.training.data if isinstance(card.training.data, dict) else {}
    held_out = set(data.get("held_out_voices", []))
    join_gap = args.join_gap if args.join_gap is not None else float(data.get("label_join_gap")
                                                                      or 0.0)
    pipe = SingingDetector.from_pretrained(args.model, backend=args.backend)
    items = [it for it in read_manifest(args.manifest)
             if args.split is None or it.get("split") == args.split]
    per_group, per_group_fine, files, saved = {}, {}, [], {}
    audio_s = compute_s = 0.0
    factors = [float(f) for f in args.tta.split(",") if f.strip()]
    for it in items:
        source, sr_in = it["audio"], None
        if args.gain_db:  # the samples at the model's rate, scaled
            from audiodl.io.audio import as_signal
            sr_in = pipe.config.sr
            source = as_signal(source, None, target_sr=sr_in).y * np.float32(10.0 ** (args.gain_db / 20.0))
        t0 = time.perf_counter()
        act = (tta_activations(pipe, source, factors, sr_in) if factors
               else pipe.activations(source, sr_in))
        compute_s += time.perf_counter() - t0
        audio_s += act.duration
        if args.save_activations:
            saved[it["id"]] = np.asarray(act.values, dtype=np.float32)
        est = pipe.decode(act, threshold=args.threshold, median=args.median)
        ref = read_segments(it["annotations"]["vocals"])
        res = evaluate(ref, est, duration=act.duration, join_gap=join_gap)
        if join_gap:
            for g in groups_of(it, held_out):
                per_group_fine.setdefault(g, []).append(evaluate(ref, est, duration=act.duration))
        files.append({"id": it["id"], "kind": (it.get("meta") or {}).get("kind"),
                      "voice": (it.get("meta") or {}).get("voice"),
                      "error": round(res["error"], 5), "f1": round(res["f1"], 5)})
        for g in groups_of(it, held_out):
            per_group.setdefault(g, []).append(res)
    table = {g: aggregate(rs) for g, rs in per_group.items()}
    out = {"model": card.name, "manifest": args.manifest, "decoder": pipe.params(
        threshold=args.threshold, median=args.median).to_dict(),
        "held_out_voices": sorted(held_out), "tta": factors, "gain_db": args.gain_db, "backend": pipe.backend.name, "label_join_gap": join_gap,
        "groups": table, "files": files}
    if join_gap:
        out["groups_fine"] = {g: aggregate(rs) for g, rs in per_group_fine.items()}
    if args.save_activations:
        np.savez_compressed(args.save_activations, **saved)
    if args.speed:
        out["speed"] = {"audio_seconds": round(audio_s, 1), "compute_seconds": round(compute_s, 2),
                        "x_real_time": round(audio_s / compute_s, 1), "threads": 1}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=float)
    if args.into_card:
        keep = ("error", "precision", "recall", "specificity", "f1", "false_positive_rate",
                "n_files")
        test = {g: {k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()
                    if k in keep} for g, r in table.items()}
        test["manifest"] = os.path.relpath(os.path.abspath(args.manifest), data_root())
        test["label_join_gap"] = join_gap
        if join_gap:
            test["all_fine_labels"] = {k: (round(v, 5) if isinstance(v, float) else v)
                                       for k, v in out["groups_fine"]["all"].items() if k in keep}
        metrics = dict(card.metrics, test=test)
        a = table["all"]
        metrics["headline"] = (f"test frame error {a['error']:.3f}, F1 {a['f1']:.3f}"
                               + (f" (reference gaps <= {join_gap:g} s joined; labels as "
                                  f"written: error {out['groups_fine']['all']['error']:.3f})"
                                  if join_gap else "")
                               + "".join(f"; held-out engine {h} (its sung songs alone) error "
                                         f"{table['engine:' + h]['error']:.3f}, F1 "
                                         f"{table['engine:' + h]['f1']:.3f}"
                                         for h in sorted(held_out) if f"engine:{h}" in table)
                               + "".join(f"; {k} false-positive rate "
                                         f"{table[k]['false_positive_rate']:.3f}"
                                         for k in ("speech", "instrumental") if k in table))
        if args.speed:
            metrics["speed"] = out["speed"]
        card.replace(metrics=metrics).write(pretrained.card_file(args.model))
    cols = ("error", "precision", "recall", "specificity", "f1", "false_positive_rate")
    print_tables((("labels" + (f" with gaps <= {join_gap:g} s joined" if join_gap else ""),
                   table), ("labels as written", out.get("groups_fine"))), cols)
    if args.speed:
        print(f"speed: {out['speed']['x_real_time']}x real time on one thread "
              f"({out['speed']['audio_seconds']} s of audio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
