"""Score a similarity model on a held-out similarity corpus (new compositions).

Version retrieval (leave-one-out over every item of the corpus; relevant = the
other versions of the query's composition): MAP, precision@k and top-1 for

* ``exact``         the exact measure (cosine of the pooled embeddings), full scan;
* ``codes``         Hamming distance of the binary codes alone;
* ``codes+rerank``  the ``candidates`` nearest codes re-ranked by the exact
                    measure, the rest left in Hamming order;
* ``timbre_g1_skl`` (``--timbre``) the non-learned baseline of Schlüter 2013:
                    one Gaussian of MFCC-like coefficients per track, symmetric
                    KL divergence.

Near-duplicate retrieval: each ``near-duplicate`` item (an edited excerpt of
an original) queries all other items; top-1 accuracy = its original ranks
first. Optionally the same queries with Chromaprint (``fpcalc -raw``,
best-offset bit error rate of the 32-bit sub-fingerprints). Near-duplicates
of REAL recordings: ``near_duplicates.py`` next to this script.

Index size and build speed: an :class:`audiodl.Index` built over the corpus
with one worker and one thread (bytes per item, songs per second).

Usage::

    python recipes/similarity/evaluate.py --model CARD_OR_NAME \
        --manifest DATA/similarity_test/manifest.jsonl --out results.json [--chromaprint]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _items(manifest):
    from audiodl.data.manifest import read_manifest
    root = Path(manifest).parent
    return [dict(it, path=str(root / it["audio"])) for it in read_manifest(manifest)]


def _ranked_scores(sim, groups, k):
    from audiodl.evaluation.similarity import retrieval_scores
    return {key: round(v, 4) if isinstance(v, float) else v
            for key, v in retrieval_scores(sim, groups, k=k).items()}


def version_retrieval(emb, bits, groups, *, candidates, k):
    """Scores of the three search modes (see the module notes)."""
    from audiodl.decoders.hamming import hamming_distances
    from audiodl.tasks.similarity import exact_similarity
    exact = exact_similarity(emb, emb).astype(np.float64)
    ham = hamming_distances(bits, bits).astype(np.float64)
    n = len(groups)
    rerank = np.empty_like(exact)
    for i in range(n):  # candidates by Hamming (self excluded), re-ranked exactly
        d = ham[i].copy()
        d[i] = np.inf
        order = np.lexsort((np.arange(n), d))
        cand = order[:candidates]
        rest = order[candidates:]
        # a score that puts every candidate above every other item, exact order inside
        rerank[i, cand] = 10.0 + exact[i, cand]
        rerank[i, rest] = -d[rest] / bits.shape[1]
    return {"exact": _ranked_scores(exact, groups, k), "codes": _ranked_scores(-ham, groups, k),
            "codes+rerank": _ranked_scores(rerank, groups, k),
            "candidates": int(candidates), "fraction_scanned": round(candidates / (n - 1), 4)}


def timbre_models(paths, *, n_mfcc=20):
    """Single-Gaussian timbre models (Schlüter 2013's G1 baseline) of each file.

    MFCC-like coefficients: the orthonormal DCT-II of the similarity front
    end's log-frequency magnitudes, first ``n_mfcc``; one full-covariance
    Gaussian per track.
    """
    import scipy.fft

    from audiodl.features.frontend import spectrogram
    from audiodl.io.audio import load
    from audiodl.tasks.similarity import FRONTEND
    out = []
    for p in paths:
        y, _ = load(p, FRONTEND.sr)
        c = scipy.fft.dct(spectrogram(y, FRONTEND), type=2, norm="ortho", axis=1)[:, :n_mfcc]
        c = c.astype(np.float64)
        cov = np.cov(c, rowvar=False) + 1e-6 * np.eye(n_mfcc)
        out.append((c.mean(0), cov, np.linalg.inv(cov)))
    return out


def symmetric_kl(models) -> np.ndarray:
    """Symmetric KL divergence between every pair of Gaussians (n, n)."""
    n, d = len(models), len(models[0][0])
    out = np.zeros((n, n))
    for i, (m1, s1, i1) in enumerate(models):
        for j, (m2, s2, i2) in enumerate(models):
            dm = m1 - m2
            out[i, j] = 0.5 * (np.trace(i1 @ s2) + np.trace(i2 @ s1) + dm @ (i1 + i2) @ dm) - d
    return out


def near_duplicates(items, emb):
    from audiodl.tasks.similarity import exact_similarity
    ids = [it["id"] for it in items]
    q = [i for i, it in enumerate(items) if it["meta"].get("relation") == "near-duplicate"]
    hits = []
    for i in q:
        s = exact_similarity(emb[i], emb).astype(np.float64)
        s[i] = -np.inf
        hits.append(ids[int(np.argmax(s))] == items[i]["meta"]["of"])
    return {"queries": len(q), "top1": round(float(np.mean(hits)), 4) if hits else None}


def _fpcalc(path):
    # fpcalc 1.5 exits 3 after "Error decoding audio frame (End of file)" at the end
    # of FLAC files, having printed the whole fingerprint: the output is what counts
    run = subprocess.run(["fpcalc", "-raw", "-json", "-length", "600", path],
                         capture_output=True, text=True, check=False)
    if not run.stdout.strip():
        raise RuntimeError(f"{path}: fpcalc failed ({run.stderr.strip()})")
    out = run.stdout
    return np.asarray(json.loads(out)["fingerprint"], dtype=np.int64).astype(np.uint32)


def _chroma_score(q, r):
    """Best-offset mean bit agreement of two raw Chromaprint fingerprints (1 = identical)."""
    best = 0.0
    for off in range(-(len(q) - 8), len(r) - 8):
        a0, b0 = max(0, -off), max(0, off)
        m = min(len(q) - a0, len(r) - b0)
        if m < 8:
            continue
        x = np.bitwise_xor(q[a0:a0 + m], r[b0:b0 + m])
        best = max(best, 1.0 - float(np.bitwise_count(x).sum()) / (32.0 * m))
    return best


def chromaprint_near_duplicates(items):
    if shutil.which("fpcalc") is None:
        return {"skipped": "fpcalc not installed (Debian libchromaprint-tools)"}
    fps = [_fpcalc(it["path"]) for it in items]
    ids = [it["id"] for it in items]
    q = [i for i, it in enumerate(items) if it["meta"].get("relation") == "near-duplicate"]
    hits = []
    for i in q:
        s = [(-1.0 if j == i else _chroma_score(fps[i], fps[j])) for j in range(len(items))]
        hits.append(ids[int(np.argmax(s))] == items[i]["meta"]["of"])
    return {"queries": len(q), "top1": round(float(np.mean(hits)), 4),
            "matcher": "fpcalc -raw, best offset, mean bit agreement"}


def build_speed(model, paths):
    """Index build with one worker: songs per second and bytes per item."""
    from audiodl.index import Index
    with tempfile.TemporaryDirectory() as d:
        t0, c0 = time.perf_counter(), time.process_time()
        ix = Index.build(paths, model=model, output=Path(d) / "ix", jobs=1)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        info = ix.info()
    return {"songs": len(ix), "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "songs_per_cpu_second": round(len(ix) / cpu, 2),
            "bytes": info["bytes"], "bytes_per_item": info["bytes_per_item"]}


def update_card(model, res):
    """Put the test scores into a trained (not yet shipped) model's card."""
    from audiodl.pretrained.card import ModelCard
    if not str(model).endswith(".json"):
        raise SystemExit("--update-card needs a card path (a trained run's .json)")
    card = ModelCard.read(model)
    v = res["versions"]
    test = {"corpus": f"{res['manifest']} ({res['items']} items, {res['groups']} compositions)",
            "map_exact": v["exact"]["map"], "map_codes": v["codes"]["map"],
            "map_codes_rerank": v["codes+rerank"]["map"],
            "precision_at_3_exact": v["exact"]["precision_at_k"],
            "rerank_fraction_scanned": v["fraction_scanned"],
            "near_duplicate_top1": res["near_duplicates"]["top1"]}
    if "top1" in res.get("near_duplicates_chromaprint", {}):
        test["near_duplicate_top1_chromaprint"] = res["near_duplicates_chromaprint"]["top1"]
    metrics = dict(card.metrics, test=test,
                   headline={"test_map": v["codes+rerank"]["map"],
                             "test_map_exact": v["exact"]["map"]})
    card.replace(metrics=metrics).write(model)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="similarity model name or card .json")
    ap.add_argument("--manifest", required=True, help="held-out similarity corpus manifest")
    ap.add_argument("--out", required=True, help="results JSON")
    ap.add_argument("--candidates", type=int, default=10)
    ap.add_argument("-k", type=int, default=3, help="precision@k cut-off")
    ap.add_argument("--chromaprint", action="store_true")
    ap.add_argument("--timbre", action="store_true",
                    help="also score the non-learned G1 timbre baseline (sKL of Gaussians)")
    ap.add_argument("--update-card", action="store_true",
                    help="write the test scores into the model's card (metrics.test, headline)")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    from audiodl.tasks.similarity import SimilarityPipeline
    pipe = SimilarityPipeline.from_pretrained(args.model)
    items = _items(args.manifest)
    codes = [pipe(it["path"]) for it in items]
    emb = np.stack([c.embedding for c in codes])
    bits = np.stack([c.bits for c in codes])
    groups = [it["group"] for it in items]
    res = {"model": pipe.card.name, "manifest": os.path.basename(os.path.dirname(args.manifest)),
           "items": len(items), "groups": len(set(groups)),
           "versions": version_retrieval(emb, bits, groups, candidates=args.candidates, k=args.k),
           "near_duplicates": near_duplicates(items, emb)}
    if args.chromaprint:
        res["near_duplicates_chromaprint"] = chromaprint_near_duplicates(items)
    if args.timbre:
        skl = symmetric_kl(timbre_models([it["path"] for it in items]))
        res["versions"]["timbre_g1_skl"] = _ranked_scores(-skl, groups, args.k)
    res["build"] = build_speed(args.model, [it["path"] for it in items])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    if args.update_card:
        update_card(args.model, res)
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
