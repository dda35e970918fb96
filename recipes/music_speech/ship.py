"""Stage 5: copy a trained run into the package as a shipped model.

    python recipes/music_speech/ship.py --run WORK/runs/musicspeech_cnn/seed0 \
        --name musicspeech_cnn --default
    python recipes/music_speech/ship.py --run WORK/runs/musicspeech_tcn/seed0 \
        --name musicspeech_tcn --default

The card gets the tuned decoder (RUN/decoder.json, from validation), the
validation and test scores found in RUN, and ``"default": true`` if asked
(any other card of the same task loses its default flag).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def _short(d):
    if isinstance(d, dict):
        return {k: _short(v) for k, v in d.items() if k not in ("counts", "confusion", "grid")}
    if isinstance(d, float):
        return round(d, 5)
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--default", action="store_true")
    ap.add_argument("--description", default="")
    args = ap.parse_args(argv)

    from audiodl import pretrained
    model, card = pretrained.load(os.path.join(args.run, "model.json"))
    card = dict(card)
    card["name"] = args.name
    card.pop("sha256", None)
    card.pop("weights", None)
    if args.description:
        card["description"] = args.description
    dec = os.path.join(args.run, "decoder.json")
    if os.path.exists(dec):
        d = common.read_json(dec)
        card["decoder"] = d["decoder"]
        card.setdefault("metrics", {})["valid_detect"] = _short(d["valid_scores"])
    metrics = card.setdefault("metrics", {})
    for fname in ("valid_classify.json", "test_classify.json", "test_detect.json"):
        p = os.path.join(args.run, fname)
        if os.path.exists(p):
            r = common.read_json(p)
            r.pop("errors", None)
            metrics[fname[:-5]] = _short(r)
    card["default"] = bool(args.default)
    if args.default:
        for other in pretrained.list_models(card["task"]):
            if other == args.name:
                continue
            c = pretrained.card(other)
            if c.get("default"):
                c["default"] = False
                path = pretrained.WEIGHTS_DIR / f"{other}.json"
                path.write_text(json.dumps(c, indent=2) + "\n")
    path = pretrained.save(model, card)
    print(f"shipped {path} ({os.path.getsize(str(path)[:-5] + '.pt') / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
