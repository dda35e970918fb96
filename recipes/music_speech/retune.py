"""Re-tune a trained detector's decoder and neither gate on validation, into a new run folder.

    python recipes/music_speech/retune.py --run WORK/runs/musicspeech_tcn_machinery/seed2 \
        --out WORK/runs/musicspeech_tcn_gate/seed2 --separate-gate

The same tuning as the end of ``audiodl train musicspeech-detect``
(:func:`audiodl.training.specs.musicspeech.tune_gated`) on the validation
files of the recipe's manifests (music/speech files and files with neither),
without retraining: ``--separate-gate`` tunes the frame decoder on the files
holding music or speech and gives the neither gate its own decoder, tuned on
all files; ``--gate-tuning files`` searches the gate decoder's thresholds and
minimum duration with ``min_active`` for file accuracy
(:func:`audiodl.training.specs.musicspeech.tune_gate_files`). Writes
OUT/NAME.json (the card with the new decoder and its validation scores), a
copy of the weights and run.json; evaluate OUT with evaluate.py as any run.
Validation activations are cached in OUT/activations.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import activations_for, card_path, load_pipeline, reference_segments  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="trained detector run folder")
    ap.add_argument("--out", required=True, help="new run folder (created)")
    ap.add_argument("--separate-gate", action="store_true")
    ap.add_argument("--gate-tuning", choices=["frames", "files"], default="frames",
                    help="with --separate-gate: the gate decoder maximises frame F (frames) "
                         "or, with min_active, the balanced file accuracy (files)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    from audiodl.training.specs.musicspeech import tune_gated
    torch.set_num_threads(args.threads)
    if os.path.abspath(args.run) == os.path.abspath(args.out):
        raise SystemExit("--out must differ from --run")
    pipe = load_pipeline(args.run, "MusicSpeechDetector")
    items = common.items("valid") + common.neither_items("valid")
    acts = activations_for(pipe, items, os.path.join(args.out, "activations", "valid-all"))
    refs = [reference_segments(it) for it in items]
    dec, scores, tuned_on = tune_gated(acts, refs, [a.duration for a in acts],
                                       separate_gate=args.separate_gate,
                                       gate_tuning=args.gate_tuning)
    src = card_path(args.run)
    card = json.loads(src.read_text())
    card["decoder"] = {"offline": dec, "online": None, "tuned_on": tuned_on}
    card.setdefault("metrics", {})["valid_detect"] = scores
    os.makedirs(args.out, exist_ok=True)
    shutil.copy2(os.path.join(src.parent, card["weights"]), os.path.join(args.out, card["weights"]))
    common.write_json(os.path.join(args.out, src.name), card)
    run = common.read_json(os.path.join(args.run, "run.json")) if \
        os.path.exists(os.path.join(args.run, "run.json")) else {"name": src.stem}
    run["retuned_from"] = os.path.abspath(args.run)
    run["retune_command"] = " ".join(sys.argv)
    common.write_json(os.path.join(args.out, "run.json"), run)
    print(json.dumps({"decoder": dec, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()
