"""Music/speech recipe: several trained detectors (seeds) as one model, averaged in probability.

    python recipes/music_speech/ensemble.py --run W/full/seed11 --run W/full/seed12 \
        --run W/full/seed13 -o W/ens/a
    python recipes/music_speech/retune.py --run W/ens/a --out W/ens/a_tuned \
        --separate-gate --gate-tuning files        # its decoder and gate, on validation
    python recipes/music_speech/evaluate.py --run W/ens/a_tuned --task neither   # as any run

Writes ``OUT/NAME.json`` + ``OUT/NAME.safetensors`` and ``OUT/run.json``: architecture
``musicspeech_tcn_ensemble`` (:class:`audiodl.models.musicspeech.MusicSpeechTCNEnsemble`)
holding each member's weights (``members.i.*``, its own input statistics included). The
members must share the architecture arguments, the front end and the labels. The card keeps
the first member's decoder until ``retune.py`` tunes one for the ensemble on the validation
files (the same tuner as the end of ``audiodl train musicspeech-detect``); ``training``
lists every member (card, seed, command, seconds, best epoch, validation scores) and
``training.seconds`` is their sum. No test score is copied from a member.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def build(runs, out, *, name: str = "musicspeech_tcn", overwrite: bool = False) -> Path:
    """Write the ensemble card of the detectors trained in ``runs`` (folders) into ``out``."""
    from common import card_path, write_json

    from audiodl import pretrained
    from audiodl.models.musicspeech import MusicSpeechTCNEnsemble
    from audiodl.pretrained.card import ensemble_training

    paths = [card_path(run) for run in runs]
    models, member_cards = pretrained.load_members(paths, ("musicspeech_tcn",))
    first = member_cards[0]
    ens = MusicSpeechTCNEnsemble.from_members(models, first.args)
    training, seeds = ensemble_training(member_cards, paths, "recipes/music_speech/ensemble.py",
                                        member_metric="valid_detect")
    card = first.replace(
        name=name, arch="musicspeech_tcn_ensemble",
        args={"members": len(models), "member_args": dict(first.args)},
        training=training, metrics={}, default=False,
        description=(f"{first.description}; " if first.description else "")
        + f"mean music and speech probabilities of {len(models)} networks of one config "
          f"(training seeds {seeds})")
    written = pretrained.save(ens, card, out, overwrite=overwrite)
    write_json(os.path.join(out, "run.json"),
               {"name": name, "members": [str(p) for p in paths], "seeds": seeds,
                "command": " ".join(sys.argv)})
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True,
                    help="a member's run folder (repeat)")
    ap.add_argument("-o", "--output", required=True, help="folder of the ensemble card")
    ap.add_argument("--name", default="musicspeech_tcn")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    path = build(a.run, a.output, name=a.name, overwrite=a.overwrite)
    print(json.dumps({"card": str(path), "members": len(a.run)}))


if __name__ == "__main__":
    main()
