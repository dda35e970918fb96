"""Similarity search at scale: recall of the exact 10-NN vs fraction scanned, queries/s.

Schlüter 2013's speed/accuracy curve on a collection of ``--n`` (1 M) synthetic
items drawn from the trained encoder's output distribution:

1. Embeddings of real corpora (``--manifest``, encoded with ``--model``) give
   the distribution: composition centroids (mean embedding of each group) and
   within-composition residuals, each fitted with a Ledoit-Wolf shrunk
   Gaussian (:class:`sklearn.covariance.LedoitWolf`; there are fewer groups
   than dimensions).
2. Synthetic works: a centroid from the first Gaussian, ``--versions``
   versions each = centroid + a residual from the second, clipped to
   (-0.999, 0.999) like ``2 p - 1``; codes are their signs. Queries are new
   versions of random works (not in the collection).
3. Exact measure = cosine similarity of the embeddings (full scan = ground
   truth). Search = the ``C`` nearest codes in Hamming distance (faiss
   ``IndexBinaryFlat`` scan, or ``IndexBinaryMultiHash`` lookups), re-ranked
   by the exact measure: recall of the exact 10-NN against C / N (the
   fraction of exact-measure evaluations).
4. Queries per second on one core (``faiss.omp_set_num_threads(1)``, BLAS
   one thread): Hamming search + re-ranking, one query at a time (and all
   queries in one faiss call), timed in process CPU time so that other load
   on a shared machine does not count.

Usage::

    OMP_NUM_THREADS=1 python bench/similarity.py --model similarity_cnn \
        --manifest DATA/similarity/manifest.jsonl --manifest DATA/similarity_test/manifest.jsonl

Writes ``bench/results/similarity.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def real_embeddings(model, manifests, cache):
    """Embeddings and groups of every item of the manifests (cached in ``cache``)."""
    if cache and os.path.exists(cache):
        with np.load(cache, allow_pickle=False) as f:
            return f["embeddings"], f["groups"]
    from audiodl.data.manifest import read_manifest
    from audiodl.tasks.similarity import SimilarityPipeline
    pipe = SimilarityPipeline.from_pretrained(model)
    emb, groups = [], []
    for m in manifests:
        for it in read_manifest(m):
            emb.append(pipe(str(Path(m).parent / it["audio"])).embedding)
            groups.append(f"{Path(m).parent.name}/{it['group']}")
    emb, groups = np.stack(emb), np.array(groups)
    if cache:
        np.savez(cache, embeddings=emb, groups=groups)
    return emb, groups


def fit_model(emb, groups):
    from sklearn.covariance import LedoitWolf
    names = sorted(set(groups))
    cent = np.stack([emb[groups == g].mean(0) for g in names])
    resid = np.concatenate([emb[groups == g] - emb[groups == g].mean(0) for g in names
                            if (groups == g).sum() > 1])
    return LedoitWolf().fit(cent), LedoitWolf().fit(resid)


def draw(centroids, resid, n_works, versions, rng):
    c = rng.multivariate_normal(centroids.location_, centroids.covariance_, n_works,
                                method="cholesky").astype(np.float32)
    r = rng.multivariate_normal(np.zeros(len(resid.covariance_)), resid.covariance_,
                                n_works * versions, method="cholesky").astype(np.float32)
    return c, np.clip(np.repeat(c, versions, axis=0) + r, -0.999, 0.999)


def exact_knn(q, db, k, chunk=65536):
    """Cosine k-NN by a full scan: ids (n_q, k)."""
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.zeros((len(q), k), np.int64)
    for s in range(0, len(db), chunk):
        d = db[s:s + chunk].astype(np.float32)
        sim = qn @ (d / np.linalg.norm(d, axis=1, keepdims=True)).T
        idx = np.argpartition(-sim, k, axis=1)[:, :k]
        cs = np.concatenate([best_s, np.take_along_axis(sim, idx, 1)], 1)
        ci = np.concatenate([best_i, idx + s], 1)
        top = np.argsort(-cs, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cs, top, 1), np.take_along_axis(ci, top, 1)
    return best_i


def rerank(qe, cand, db_norm, k):
    """Top k of candidate ids by cosine similarity."""
    cand = cand[cand >= 0]
    s = db_norm[cand] @ (qe / np.linalg.norm(qe))
    top = np.argpartition(-s, min(k, len(s) - 1))[:k] if len(s) > k else np.arange(len(s))
    return cand[top[np.argsort(-s[top])]]


def _command() -> str:
    """This run's command line without machine paths (data-root paths as $AUDIODL_DATA/...)."""
    from audiodl.data.paths import data_root
    root = str(data_root())

    def clean(a):
        if os.path.isabs(a) and a.startswith(root + os.sep):
            return "$AUDIODL_DATA/" + os.path.relpath(a, root)
        return os.path.basename(a) if os.sep in a else a
    return "python bench/similarity.py " + " ".join(clean(a) for a in sys.argv[1:])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="similarity_cnn")
    ap.add_argument("--manifest", action="append", required=True)
    ap.add_argument("--cache", default=None, help="npz cache of the real embeddings")
    ap.add_argument("--n", type=int, default=1_000_000, help="collection size")
    ap.add_argument("--versions", type=int, default=4, help="versions per synthetic work")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--candidates", default="100,300,1000,3000,10000")
    ap.add_argument("--nlist", type=int, default=1024, help="IVF cells")
    ap.add_argument("--nprobe", default="32,64,128", help="IVF cells scanned per query")
    ap.add_argument("--ivf-candidates", default="1000,2000")
    ap.add_argument("--skip", default="", help="engines left out: flat, ivf, mih")
    ap.add_argument("--heap", action="store_true",
                    help="flat scan with faiss heap selection (default: use_heap=False, "
                         "counting selection, faster for long candidate lists)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "similarity.json"))
    args = ap.parse_args(argv)

    import faiss
    faiss.omp_set_num_threads(1)
    from audiodl.evaluation.similarity import knn_recall
    emb, groups = real_embeddings(args.model, args.manifest, args.cache)
    cen, res = fit_model(emb, groups)
    rng = np.random.default_rng(args.seed)
    n_works = args.n // args.versions
    centroids, db = draw(cen, res, n_works, args.versions, rng)
    pick = rng.integers(0, n_works, args.queries)
    q = np.clip(centroids[pick] + rng.multivariate_normal(
        np.zeros(len(res.covariance_)), res.covariance_, args.queries).astype(np.float32),
        -0.999, 0.999)
    codes, qcodes = np.packbits(db > 0, axis=1), np.packbits(q > 0, axis=1)
    n_bits = db.shape[1]
    db_norm = (db / np.linalg.norm(db, axis=1, keepdims=True)).astype(np.float32)
    t0 = time.process_time()
    truth = exact_knn(q, db, 10)
    exact_s = (time.process_time() - t0) / args.queries

    skip = set(filter(None, args.skip.split(",")))
    flat = faiss.IndexBinaryFlat(n_bits)
    flat.add(codes)
    flat.use_heap = args.heap
    rows = []
    for c in [] if "flat" in skip else [int(x) for x in args.candidates.split(",")]:
        found, t_search, t_rerank = [], 0.0, 0.0
        for i in range(args.queries):
            t = time.process_time()
            _, ids = flat.search(qcodes[i:i + 1], c)
            t_search += time.process_time() - t
            t = time.process_time()
            found.append(rerank(q[i], ids[0], db_norm, 10))
            t_rerank += time.process_time() - t
        rows.append({"engine": "flat", "candidates": c, "fraction_scanned": c / args.n,
                     "speedup_exact_evals": args.n / c,
                     "recall_at_10": knn_recall(truth, np.stack(found)),
                     "qps": args.queries / (t_search + t_rerank),
                     "ms_hamming": 1e3 * t_search / args.queries,
                     "ms_rerank": 1e3 * t_rerank / args.queries})
    for c in () if "flat" in skip else (1000, 3000, 10000):  # all queries in one call
        t = time.process_time()
        _, ids = flat.search(qcodes, c)
        found = [rerank(q[i], ids[i], db_norm, 10) for i in range(args.queries)]
        rows.append({"engine": "flat, queries batched", "candidates": c,
                     "fraction_scanned": c / args.n, "speedup_exact_evals": args.n / c,
                     "recall_at_10": knn_recall(truth, np.stack(found)),
                     "qps": args.queries / (time.process_time() - t)})
    nlist = args.nlist
    quantizer = faiss.IndexBinaryFlat(n_bits)
    ivf = faiss.IndexBinaryIVF(quantizer, n_bits, nlist)
    # (faiss 1.15's binary IVF returns no results with use_heap=False: always a heap here)
    t = time.process_time()
    if "ivf" not in skip:
        ivf.train(codes[rng.choice(len(codes), min(len(codes), 40 * nlist), replace=False)])
        ivf.add(codes)
    ivf_build_s = time.process_time() - t
    for nprobe in [] if "ivf" in skip else [int(x) for x in args.nprobe.split(",")]:
        ivf.nprobe = nprobe
        for c in [int(x) for x in args.ivf_candidates.split(",")]:
            found, t_all = [], 0.0
            for i in range(args.queries):
                t = time.process_time()
                _, ids = ivf.search(qcodes[i:i + 1], c)
                found.append(rerank(q[i], ids[0], db_norm, 10))
                t_all += time.process_time() - t
            rows.append({"engine": f"ivf nlist={nlist} nprobe={nprobe}", "candidates": c,
                         "fraction_scanned": c / args.n, "speedup_exact_evals": args.n / c,
                         "hamming_fraction_compared": nprobe / nlist,
                         "recall_at_10": knn_recall(truth, np.stack(
                             [np.pad(f, (0, 10 - len(f)), constant_values=-1) for f in found])),
                         "qps": args.queries / t_all})
        for c in [int(x) for x in args.ivf_candidates.split(",")]:  # queries batched
            t = time.process_time()
            _, ids = ivf.search(qcodes, c)
            found = [rerank(q[i], ids[i], db_norm, 10) for i in range(args.queries)]
            rows.append({"engine": f"ivf nlist={nlist} nprobe={nprobe}, queries batched",
                         "candidates": c, "fraction_scanned": c / args.n,
                         "speedup_exact_evals": args.n / c,
                         "hamming_fraction_compared": nprobe / nlist,
                         "recall_at_10": knn_recall(truth, np.stack(
                             [np.pad(f, (0, 10 - len(f)), constant_values=-1) for f in found])),
                         "qps": args.queries / (time.process_time() - t)})
    mih = faiss.IndexBinaryMultiHash(n_bits, n_bits // 16, 16)
    mih.add(codes)
    for nflip in () if "mih" in skip else (0, 1, 2):
        mih.nflip = nflip
        for c in (1000, 3000):
            found, t_all, n_cand = [], 0.0, []
            for i in range(args.queries):
                t = time.process_time()
                _, ids = mih.search(qcodes[i:i + 1], c)
                found.append(rerank(q[i], ids[0], db_norm, 10))
                t_all += time.process_time() - t
                n_cand.append(int((ids[0] >= 0).sum()))
            rows.append({"engine": f"mih nhash={n_bits // 16} nflip={nflip}", "candidates": c,
                         "mean_candidates_returned": float(np.mean(n_cand)),
                         "fraction_scanned": float(np.mean(n_cand)) / args.n,
                         "recall_at_10": knn_recall(truth, np.stack(
                             [np.pad(f, (0, 10 - len(f)), constant_values=-1) for f in found])),
                         "qps": args.queries / t_all})
    out = {"n": args.n, "n_bits": n_bits, "versions_per_work": args.versions,
           "queries": args.queries, "model": args.model,
           "real_items": int(len(emb)), "real_groups": int(len(set(groups))),
           "synthetic": "works ~ LedoitWolf Gaussian of real composition centroids; versions = "
                        "centroid + LedoitWolf Gaussian of real within-composition residuals; "
                        "clipped to (-0.999, 0.999); codes = signs",
           "exact_full_scan_ms_per_query": 1e3 * exact_s,
           "bytes_per_item_codes": n_bits // 8, "ivf_train_add_seconds": ivf_build_s,
           "use_heap": args.heap, "command": _command(),
           "rows": rows,
           "machine": {"cpu": platform.processor() or platform.machine(),
                       "load_avg_start": os.getloadavg()[0], "threads": 1,
                       "faiss": faiss.__version__}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("| engine | candidates | fraction scanned | exact evals saved | recall@10 | q/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['engine']} | {r.get('mean_candidates_returned', r['candidates']):.0f} | "
              f"{r['fraction_scanned']:.4%} | {1 / r['fraction_scanned']:.0f}x | "
              f"{r['recall_at_10']:.3f} | {r['qps']:.0f} |")
    print(f"exact full scan: {out['exact_full_scan_ms_per_query']:.1f} ms/query")


if __name__ == "__main__":
    main()
