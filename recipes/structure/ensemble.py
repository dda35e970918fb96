"""Structure recipe: several trained boundary CNNs (seeds) as one model, averaged in probability.

    python recipes/structure/ensemble.py --card RUN_SEED0/structure_cnn.json \
        --card RUN_SEED2/structure_cnn.json -o RUN_ENS
    python recipes/structure/evaluate.py --methods cnn --card RUN_ENS/structure_cnn.json \
        --retune --write-card --valid-manifest ... --test-manifest ...   # its decoder, on validation
    audiodl ship RUN_ENS/structure_cnn.json --default --replace && audiodl export structure_cnn

Writes ``OUT/NAME.json`` + ``OUT/NAME.safetensors``: architecture
``boundary_cnn_ensemble`` (:class:`audiodl.models.structure.BoundaryCNNEnsemble`)
holding each member's weights (``members.i.*``, its own input statistics
included). The members must share the architecture arguments and the front
end. The card keeps the first member's decoder until ``evaluate.py
--retune --write-card`` tunes one for the ensemble on the validation songs;
``training`` lists every member (card, seed, command, seconds, best epoch,
validation scores) and ``training.seconds`` is their sum.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audiodl import pretrained
from audiodl.pretrained.card import ensemble_training


def build(cards, out, *, name: str = "structure_cnn", overwrite: bool = False) -> Path:
    """Write the ensemble card of the trained ``cards`` into ``out``; its path."""
    from audiodl.models.structure import BoundaryCNNEnsemble

    models, member_cards = pretrained.load_members(cards, ("boundary_cnn",))
    first = member_cards[0]
    ens = BoundaryCNNEnsemble.from_members(models, first.args)
    training, seeds = ensemble_training(member_cards, cards, "recipes/structure/ensemble.py",
                                        member_metric="valid_segment")
    card = first.replace(
        name=name, arch="boundary_cnn_ensemble",
        args={"members": len(models), "member_args": dict(first.args)},
        training=training, metrics={}, default=False,
        description=f"{first.description}; mean boundary probability of {len(models)} "
                    f"networks of one config (training seeds {seeds})")
    return pretrained.save(ens, card, out, overwrite=overwrite)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", action="append", required=True, help="a member's card (repeat)")
    ap.add_argument("-o", "--output", required=True, help="folder of the ensemble card")
    ap.add_argument("--name", default="structure_cnn")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    path = build(a.card, a.output, name=a.name, overwrite=a.overwrite)
    print(json.dumps({"card": str(path), "members": len(a.card)}))


if __name__ == "__main__":
    main()
