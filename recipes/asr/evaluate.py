#!/usr/bin/env python
"""ASR recipe, stage 3: score a trained model on the TEST sets, greedy and beam + LM, with a peer.

    python recipes/asr/evaluate.py --config recipes/asr/conf/shipped.toml \
        --card DATA_ROOT/runs/asr/asr_ds2_small-seed0/asr_ds2_small.json [--peers] [--update-card]

Test sets (never read by ``audiodl train asr``):

* ``synth_heldout_voices``: every item of the TTS corpus (``corpus``) spoken
  by a voice in ``holdout_voices``;
* ``asterisk_test``: the ``test`` split of the Asterisk English prompts (real
  recordings of one professional speaker, split by recording; the speaker's
  other recordings are in the training data).

Decoders: greedy; beam search (width 50) with the project LM
(``synth-text-3gram``, :func:`audiodl.data.lm.default_lm`) and the
``lm_weight``/``word_score`` tuned on validation (the card's
``metrics.valid_tuned``). Peer (``--peers``): PocketSphinx 5 with the US
English acoustic model and LM of its wheel, on the same 16 kHz files.

Reports pooled WER/CER (:func:`audiodl.evaluation.asr.evaluate`), decoding
speed in x real time (CPU, one thread) and, with ``--latency``, the cold
latency of ``audiodl transcribe`` on a 5 s file. Writes ``results.json`` and
``results.md`` to ``--work`` (default: the card's folder) and, with
``--update-card``, the test scores into the card's ``metrics.test``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _test_sets(cfg, root):
    from audiodl.data.manifest import read_manifest
    from audiodl.data.paths import resolve_data_path
    from audiodl.evaluation.asr import normalize
    sets = {"synth_heldout_voices": [], "asterisk_test": []}
    for it in read_manifest(resolve_data_path(cfg.corpus, root)):
        if (it.get("meta") or {}).get("voice") in cfg.holdout_voices:
            sets["synth_heldout_voices"].append(dict(it, text=normalize(it["text"])))
    for m in cfg.extra_corpora:
        if "asterisk" not in m:
            continue
        for it in read_manifest(resolve_data_path(m, root)):
            if it.get("split") == "test":
                sets["asterisk_test"].append(dict(it, text=normalize(it["text"])))
    return {k: v for k, v in sets.items() if v}


def _pocketsphinx(items):
    from pocketsphinx import Decoder

    from audiodl.io.audio import load
    dec = Decoder(samprate=16000, loglevel="FATAL")
    hyps, t0, dur = [], time.process_time(), 0.0
    for it in items:
        y, sr = load(it["audio"], 16000)
        dur += len(y) / sr
        pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16).tobytes()
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        hyps.append(dec.hyp().hypstr if dec.hyp() is not None else "")
    return hyps, dur / max(time.process_time() - t0, 1e-9)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--card", required=True)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--work", default=None)
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--update-card", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="First N items per set (quick checks).")
    args = ap.parse_args(argv)

    import torch

    from audiodl import pretrained
    from audiodl.data.paths import data_root
    from audiodl.evaluation.asr import evaluate
    from audiodl.tasks.asr import AsrPipeline
    from audiodl.training.config import load_config
    from audiodl.training.specs.asr import AsrConfig
    torch.set_num_threads(1)
    root = data_root(args.data_root)
    cfg = load_config(AsrConfig, args.config)
    card = pretrained.card(args.card)
    pipe = AsrPipeline.from_pretrained(args.card)
    tuned = (card.metrics.get("valid_tuned") or {}).get("beam_lm") or {}
    beam = {"method": "beam", "beam_size": 50, "lm": "default",
            "lm_weight": tuned.get("lm_weight", 0.5), "word_score": tuned.get("word_score", 0.0),
            "timestamps": False}
    results = {"card": card.name, "beam_lm_params": beam, "sets": {}}
    for name, items in _test_sets(cfg, root).items():
        items = items[:args.limit] if args.limit else items
        dur = sum(it["duration"] for it in items)
        refs = [it["text"] for it in items]
        t0 = time.process_time()
        acts = [pipe.activations(it["audio"]) for it in items]
        t_act = time.process_time() - t0
        row = {"utterances": len(items), "hours": round(dur / 3600, 4),
               "acoustic_model_x_realtime": round(dur / t_act, 1)}
        for label, params in (("greedy", {"method": "greedy", "timestamps": False}),
                              ("beam_lm", beam)):
            pipe.decode(acts[0], **params)  # build the decoder (LM load) outside the timing
            t0 = time.process_time()
            hyps = [pipe.decode(a, **params).text for a in acts]
            t_dec = time.process_time() - t0
            s = evaluate(refs, hyps)
            row[label] = {"wer": round(s["wer"], 4), "cer": round(s["cer"], 4),
                          "decode_x_realtime": round(dur / max(t_dec, 1e-9), 1),
                          "examples": [[r, h] for r, h in zip(refs[:3], hyps[:3])]}
        if args.peers:
            hyps, xrt = _pocketsphinx(items)
            s = evaluate(refs, hyps)
            row["pocketsphinx"] = {"wer": round(s["wer"], 4), "cer": round(s["cer"], 4),
                                   "x_realtime": round(xrt, 1),
                                   "examples": [[r, h] for r, h in zip(refs[:3], hyps[:3])]}
        results["sets"][name] = row
        print(name, json.dumps({k: v for k, v in row.items()}, indent=1), flush=True)
    if args.latency:
        import soundfile as sf

        from audiodl.io.audio import load
        work = Path(args.work or Path(args.card).parent)
        work.mkdir(parents=True, exist_ok=True)
        items = _test_sets(cfg, root)["synth_heldout_voices"]
        y = np.concatenate([load(it["audio"], 16000)[0] for it in items[:3]])[:5 * 16000]
        f = work / "latency_5s.wav"
        sf.write(f, y, 16000)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "audiodl.cli.main", "transcribe", "-m",
                            args.card, str(f)], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        results["cold_latency_5s_file_seconds"] = {"min": round(min(times), 2),
                                                   "median": round(float(np.median(times)), 2)}
        print("latency", results["cold_latency_5s_file_seconds"])
    work = Path(args.work or Path(args.card).parent)
    work.mkdir(parents=True, exist_ok=True)
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| test set | utts | decoder | WER | CER | x real time |", "|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for label in ("greedy", "beam_lm", "pocketsphinx"):
            if label in row:
                r = row[label]
                xrt = r.get("decode_x_realtime", r.get("x_realtime"))
                lines.append(f"| {name} | {row['utterances']} | {label} | {r['wer']:.3f} | "
                             f"{r['cer']:.3f} | {xrt} |")
    (work / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.update_card:
        test = {name: {k: {"wer": v["wer"], "cer": v["cer"]} for k, v in row.items()
                       if isinstance(v, dict) and "wer" in v}
                for name, row in results["sets"].items()}
        metrics = dict(card.metrics, test=test)
        a = test.get("asterisk_test", {}).get("greedy")
        s = test.get("synth_heldout_voices", {}).get("greedy")
        metrics["headline"] = {k: v for k, v in (("cer_heldout_voices", s and s["cer"]),
                                                 ("wer_asterisk", a and a["wer"])) if v is not None}
        card.replace(metrics=metrics).write(args.card)
        print("updated", args.card)


if __name__ == "__main__":
    main()
