#!/usr/bin/env python
"""Onsets recipe: several trained onset CNNs as one model (bagging), averaged in probability.

    python recipes/onsets/ensemble.py --card RUN_A/onsets_cnn.json --card RUN_B/onsets_cnn.json \
        -o RUN_BAG --config recipes/onsets/conf/shipped.toml     # peak picking tuned on validation
    audiodl onsets --model RUN_BAG/onsets_cnn.json song.wav        # as any card (torch backend)
    audiodl export RUN_BAG/onsets_cnn.json                         # ONNX next to it (auto backend)

Writes ``OUT/NAME.json`` + ``OUT/NAME.safetensors``: architecture ``onset_cnn_ensemble``
(:class:`audiodl.models.onsets.OnsetCNNEnsemble`) holding each member's weights
(``members.i.*``, its own input statistics included). The members must share the
architecture, its arguments and the front end. With ``--config``, the card's offline and
online peak picking are tuned on that config's validation files (fold ``fold``; never the
test split) by the training spec's own tuner
(:func:`audiodl.training.specs.onsets.tuned_decoder`: ``tune_window``, ``tune_objective``,
``tune_decay``, ``tune_gate`` as the config sets them), and ``metrics.valid_tuned`` holds
its objective; without it the card keeps the first member's peak picking. ``training``
lists every member (card, seed, command, seconds, best epoch, sha256, validation scores);
``training.seconds`` is their sum. Test scores are never copied from a member.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

MEMBER_ARCHS = ("onset_cnn_bn", "onset_cnn_sb2014")


def combine(cards, *, name: str = "onsets_cnn"):
    """``(model, card)``: the ensemble of the trained ``cards`` (paths), not yet written."""
    from audiodl import pretrained
    from audiodl.models.onsets import OnsetCNNEnsemble
    from audiodl.pretrained.card import ensemble_training

    models, member_cards = pretrained.load_members(cards, MEMBER_ARCHS)
    first = member_cards[0]
    ens = OnsetCNNEnsemble.from_members(models, first.arch, first.args)
    training, seeds = ensemble_training(member_cards, cards, "recipes/onsets/ensemble.py",
                                        member_metric="valid_tuned")
    card = first.replace(
        name=name, arch="onset_cnn_ensemble",
        args={"members": len(models), "member_arch": first.arch,
              "member_args": dict(first.args)},
        training=training, metrics={}, default=False,
        description=(f"{first.description}; " if first.description else "")
        + f"mean onset probability of {len(models)} {first.arch} networks "
          f"(training seeds {seeds})")
    return ens, card


def tune(model, config, *, overrides=(), data_root=None) -> dict:
    """The card's decoder section for ``model``, tuned on ``config``'s validation files.

    Returns the dict of :func:`audiodl.training.specs.onsets.tuned_decoder` (``offline``,
    ``online``, ``tuned_on``, ``scores``).
    """
    sys.path.insert(0, str(HERE))
    import valid_compare as V

    from audiodl.training.specs.onsets import tuned_decoder
    cfg, valid = V.valid_items(config, overrides, data_root)
    acts = V.activations(model, valid)
    pairs = [(acts[it["id"]], it["onsets"]) for it in valid]
    env = None
    if cfg.tune_gate:
        env_by_id = V.envelopes(valid)
        env = [env_by_id[it["id"]] for it in valid]
    return tuned_decoder(pairs, 100, cfg, envelopes=env,
                         where=f"fold {cfg.fold} of {cfg.folds} of {config}")


def build(cards, out, *, name: str = "onsets_cnn", config=None, overrides=(), data_root=None,
          overwrite: bool = False) -> Path:
    """Write the ensemble card of the trained ``cards`` into ``out``; its path."""
    from audiodl import pretrained
    from audiodl.pretrained.card import DecoderSpec

    ens, card = combine(cards, name=name)
    if config is not None:
        dec = tune(ens, config, overrides=overrides, data_root=data_root)
        scores = dec.pop("scores")
        card = card.replace(decoder=DecoderSpec.from_dict(dec), metrics={"valid_tuned": scores})
    return pretrained.save(ens, card, out, overwrite=overwrite)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", action="append", required=True, help="a member's card (repeat)")
    ap.add_argument("-o", "--output", required=True, help="folder of the ensemble card")
    ap.add_argument("--name", default="onsets_cnn")
    ap.add_argument("--config", default=None,
                    help="Tune peak picking on this training config's validation files.")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    path = build(a.card, a.output, name=a.name, config=a.config, overrides=a.overrides,
                 data_root=a.data_root, overwrite=a.overwrite)
    from audiodl import pretrained
    c = pretrained.card(str(path))
    print(json.dumps({"card": str(path), "members": len(a.card),
                      "decoder": c.decoder.tuned_on or "first member's",
                      "valid_tuned": (c.metrics or {}).get("valid_tuned")}))


if __name__ == "__main__":
    main()
