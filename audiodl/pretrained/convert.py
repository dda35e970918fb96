"""Convert legacy ``torch.save`` weights (``.pt``) of model cards to safetensors, once.

Usage::

    python -m audiodl.pretrained.convert audiodl/pretrained/weights   # every card in a folder
    python -m audiodl.pretrained.convert run/NAME.json [--keep]        # one card

For each card whose ``weights`` is not yet a ``.safetensors`` file: the old
file's sha256 is checked against the card, it is read with
``torch.load(weights_only=True)`` (nothing is unpickled beyond plain
tensors), written as ``NAME.safetensors`` (atomically), read back and
compared tensor by tensor, and the card is rewritten with the new
``weights`` and ``sha256``. The ``.pt`` file is then removed (``--keep``
keeps it). Cards already on safetensors are left alone, so running it twice
is harmless.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import AudiodlError, ModelError
from .card import ModelCard
from .weights import (SAFETENSORS_SUFFIX, load_torch_state, read_state_dict, sha256_of,
                      verified_path, write_state_dict)

__all__ = ["convert_card", "convert", "main"]


def convert_card(card_path, *, keep: bool = False) -> bool:
    """Convert the weights of one card to safetensors; True when something changed."""
    card_path = Path(card_path)
    c = ModelCard.read(card_path)
    if c.weights.endswith(SAFETENSORS_SUFFIX):
        return False
    src = verified_path(c, card_path.parent)
    state = load_torch_state(src)
    new_name = Path(c.weights).stem + SAFETENSORS_SUFFIX
    dest = card_path.parent / new_name
    write_state_dict(state, dest)
    back = read_state_dict(dest)
    for k, v in state.items():
        if not np.array_equal(back[k], v.numpy()) or back[k].dtype != v.numpy().dtype:
            raise ModelError(f"{dest}: tensor {k!r} differs after conversion")  # pragma: no cover
    c.replace(weights=new_name, sha256=sha256_of(dest)).write(card_path)
    if not keep and src != dest:
        src.unlink()
    return True


def convert(paths, *, keep: bool = False) -> list:
    """Convert every card in ``paths`` (card files or folders of cards); the converted cards."""
    done = []
    for p in paths:
        p = Path(p)
        cards = sorted(p.glob("*.json")) if p.is_dir() else [p]
        if not cards or not all(c.is_file() for c in cards):
            raise ModelError(f"{p}: no model card here")
        for cp in cards:
            if convert_card(cp, keep=keep):
                done.append(cp)
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m audiodl.pretrained.convert",
                                 description="Convert .pt weights of model cards to safetensors.")
    ap.add_argument("paths", nargs="+", help="card .json files or folders of cards")
    ap.add_argument("--keep", action="store_true", help="keep the old .pt files")
    a = ap.parse_args(argv)
    try:
        done = convert(a.paths, keep=a.keep)
    except AudiodlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for cp in done:
        print(f"converted {cp}")
    if not done:
        print("nothing to convert (every card already points at safetensors weights)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
