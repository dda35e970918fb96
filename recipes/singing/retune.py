"""Re-tune a singing model's decoder (median length and threshold) on validation files.

Usage::

    python recipes/singing/retune.py --model RUN/singing_cnn.json \\
        --manifest "$AUDIODL_DATA/singing/valid2/manifest.jsonl" --medians 0.2,0.4,0.8,1.2,1.6

`audiodl train singing` tunes the threshold for the medians of its config;
this step tries more median lengths afterwards without retraining. It runs
the full pipeline (as `audiodl singing` does) on the validation items that
the card's training did not hold out (``training.data.held_out_voices``,
matched against ``meta.voice`` and ``meta.engine``), picks the median and
threshold with the lowest summed frame error (``--objective error``) or
balanced error, 1 - (recall + specificity) / 2 (``--objective balanced_error``)
(:func:`audiodl.training.specs.singing.tune_decoder`) and writes them into
the card's decoder (``tuned_on`` says how) and ``metrics.valid_decoded``.
``--join-gap S`` scores against references whose gaps of at most S seconds
between sung segments are closed (default: the card's
``training.data.label_join_gap``, else 0: the labels as written).
Never give it test files.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a run's card .json (before `audiodl ship`)")
    ap.add_argument("--manifest", required=True, action="append", help="validation manifest(s)")
    ap.add_argument("--medians", default="0.2,0.4,0.8,1.2,1.6", help="median lengths [s]")
    ap.add_argument("--objective", default="error", choices=("error", "balanced_error"),
                    help="frame error, or 1 - (recall + specificity) / 2")
    ap.add_argument("--max-negative-fp", type=float, default=None,
                    help="keep decoders whose false-positive rate on the hard-negative files "
                         "(speech / instrumental / choir kinds) is at most this")
    ap.add_argument("--max-file-fp", type=float, default=None,
                    help="and keep decoders whose false-positive rate on each hard-negative "
                         "file is at most this")
    ap.add_argument("--methods", default="threshold",
                    help="decision rules searched: threshold and/or hysteresis (comma-separated)")
    ap.add_argument("--join-gap", type=float, default=None,
                    help="label convention [s]: close reference gaps up to this length "
                         "(default: the card's training.data.label_join_gap, else 0)")
    args = ap.parse_args(argv)

    import torch

    from audiodl import pretrained
    from audiodl.data.manifest import read_segments
    from audiodl.evaluation.singing import join_gaps
    from audiodl.tasks.singing import SingingDetector
    from audiodl.training.specs.singing import read_items, tune_decoder

    torch.set_num_threads(1)
    card = pretrained.card(args.model)
    data = card.training.data if isinstance(card.training.data, dict) else {}
    held_out = data.get("held_out_voices", [])
    join_gap = args.join_gap if args.join_gap is not None else float(data.get("label_join_gap")
                                                                      or 0.0)
    items = read_items(args.manifest, data_root=None, exclude_voices=held_out)
    pipe = SingingDetector.from_pretrained(args.model, backend="torch")
    acts, refs, durs = [], [], []
    for it in items:
        a = pipe.activations(it["audio"])
        acts.append(a)
        ref = read_segments(it["annotations"]["vocals"])
        refs.append(join_gaps(ref, join_gap) if join_gap else ref)
        durs.append(a.duration)
    medians = [float(m) for m in args.medians.split(",")]
    negatives = [(it.get("meta") or {}).get("kind") in ("speech", "instrumental", "choir")
                 for it in items]
    dec, scores = tune_decoder(acts, refs, durs, medians=medians, objective=args.objective,
                               negatives=negatives, max_negative_fp=args.max_negative_fp,
                               max_file_fp=args.max_file_fp,
                               methods=tuple(args.methods.split(",")))
    decoder = card.decoder.to_dict()
    decoder["offline"] = dict(decoder.get("offline") or {}, **dec)
    if dec["method"] != "hysteresis":
        decoder["offline"].pop("low", None)
    import os

    from audiodl.data.paths import data_root
    names = ", ".join(os.path.relpath(os.path.abspath(m), data_root()) for m in args.manifest)
    decoder["tuned_on"] = (f"validation files ({len(items)}, {names}; held out: "
                           f"{held_out or 'none'}): {args.methods.replace(',', ' or ')} "
                           f"decision, median in {medians} s and threshold "
                           f"0.05..0.95 minimising the {args.objective.replace('_', ' ')} "
                           + (f"among those with a false-positive rate <= {args.max_negative_fp} "
                              f"on the {sum(negatives)} hard-negative files "
                              if args.max_negative_fp is not None else "")
                           + (f"and <= {args.max_file_fp} on each of them "
                              if args.max_file_fp is not None else "")
                           +
                           "on a 70 fps grid, counts summed over files"
                           + (f", reference gaps <= {join_gap:g} s joined" if join_gap else "")
                           + " "
                           "(recipes/singing/retune.py)")
    metrics = dict(card.metrics, valid_decoded=scores)
    from audiodl.pretrained.card import DecoderSpec
    card.replace(decoder=DecoderSpec.from_dict(decoder),
                 metrics=metrics).write(pretrained.card_file(args.model))
    print(f"decoder {dec}: valid error {scores['error']:.4f}, F1 {scores['f1']:.4f} "
          f"({len(items)} files, label join gap {join_gap:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
