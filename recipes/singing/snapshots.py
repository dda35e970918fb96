"""Score a singing run's epoch snapshots by the tuned decoder's validation error.

Usage::

    python recipes/singing/snapshots.py RUN [RUN ...] --out results.json -- RETUNE_ARGS...

where ``RUN`` is an ``audiodl train singing`` output folder with ``snapshot_every`` set
(``RUN/snapshots/epoch_NNN.pt``) and ``RETUNE_ARGS`` are :mod:`retune`'s arguments except
``--model`` (the validation manifests, ``--join-gap``, the hard-negative limits, ``--medians``).

The per-epoch choice of the trainer (accuracy at threshold 0.5 on a few hundred validation
windows) does not see the decoded error that the ship rule uses. For every snapshot, and
for the run's ``best.pt`` and ``last.pt``, this writes a candidate folder
``RUN/candidates/NAME/`` holding a copy of the run's card with those weights (sha256
updated), re-tunes its decoder with ``retune.py`` on the validation files, and collects
the validation error of every candidate in one JSON table, lowest first. Candidates
already re-tuned with the same arguments (``retuned.json`` beside their card) are not
scored again, so an interrupted call resumes; a candidate whose checkpoint is newer than its
card (``best.pt`` / ``last.pt`` of a run that went on training) is built and scored again. Validation files only: never give it test files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time


def _candidates(run: str) -> list:
    out = [(os.path.splitext(os.path.basename(p))[0], p)
           for p in sorted(glob.glob(os.path.join(run, "snapshots", "epoch_*.pt")))]
    for name in ("best", "last"):
        p = os.path.join(run, f"{name}.pt")
        if os.path.exists(p):
            out.append((name, p))
    return out


def _card_path(run: str) -> str:
    cards = [p for p in glob.glob(os.path.join(run, "*.json"))
             if os.path.basename(p) not in ("config.json", "metrics.json", "run.json")]
    if len(cards) != 1:
        raise SystemExit(f"{run}: expected one card .json, found {cards}")
    return cards[0]


def _build(run: str, name: str, ckpt: str) -> str:
    """The candidate's card path (written unless already there)."""
    from audiodl import pretrained
    from audiodl.pretrained.weights import sha256_of, write_state_dict
    from audiodl.training.trainer import load_checkpoint

    src = _card_path(run)
    folder = os.path.join(run, "candidates", name)
    dst = os.path.join(folder, os.path.basename(src))
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(ckpt):
        return dst
    # new, or the checkpoint changed since (best.pt / last.pt of a run still training)
    if os.path.exists(os.path.join(folder, "retuned.json")):
        os.remove(os.path.join(folder, "retuned.json"))
    os.makedirs(folder, exist_ok=True)
    card = pretrained.card(src)
    state = load_checkpoint(ckpt)
    if "model" in state and isinstance(state["model"], dict):  # last.pt: the full trainer state
        state = state["model"]
    wpath = write_state_dict(state, os.path.join(folder, card.weights))
    card.replace(sha256=sha256_of(wpath)).write(dst + ".tmp")
    os.replace(dst + ".tmp", dst)
    return dst


def _same_args(done: str, retune_args: list) -> bool:
    """True when the candidate was re-tuned with these arguments already."""
    try:
        with open(done) as f:
            return json.load(f).get("retune_args") == retune_args
    except (OSError, ValueError):
        return False


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    retune_args = []
    if "--" in argv:
        k = argv.index("--")
        argv, retune_args = argv[:k], argv[k + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="training run folders")
    ap.add_argument("--out", required=True, help="JSON table of the candidates' scores")
    args = ap.parse_args(argv)
    if not retune_args:
        ap.error("give retune.py's arguments (at least --manifest) after --")

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import retune

    from audiodl import pretrained

    rows = []
    for run in args.runs:
        for name, ckpt in _candidates(run):
            card_path = _build(run, name, ckpt)
            done = os.path.join(os.path.dirname(card_path), "retuned.json")
            if not _same_args(done, retune_args):
                t0 = time.time()
                retune.main(["--model", card_path, *retune_args])
                with open(done + ".tmp", "w") as f:
                    json.dump({"retune_args": retune_args}, f)
                os.replace(done + ".tmp", done)
                print(f"{run} {name}: {time.time() - t0:.0f} s", file=sys.stderr)
            card = pretrained.card(card_path)
            sc = card.metrics["valid_decoded"]
            off = card.decoder.to_dict()["offline"]
            rows.append({"run": os.path.basename(os.path.normpath(run)), "candidate": name,
                         "card": os.path.relpath(card_path, os.path.dirname(os.path.normpath(run))),
                         "error": sc["error"], "f1": sc.get("f1"),
                         "threshold": off.get("threshold"), "median": off.get("median")})
    rows.sort(key=lambda r: r["error"])
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"retune_args": retune_args, "candidates": rows}, f, indent=1)
    os.replace(tmp, args.out)
    for r in rows:
        print(f"{r['run']:32s} {r['candidate']:10s} error {r['error']:.4f}  F1 {r['f1']:.4f}  "
              f"threshold {r['threshold']}, median {r['median']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
