#!/usr/bin/env python
"""Pack the training data of ASR configs small enough to carry to a GPU machine.

    python recipes/asr/gpu_pack.py --config recipes/asr/conf/gpu.toml \
        --config recipes/asr/conf/small_gpu.toml -o .carry/asr [--level 0.97] [-j 2]

A GPU machine without a package registry or TTS engines cannot generate the
corpora, and their FLAC files are too large to send (about 65 MB per hour).
This writes, under ``-o``, a data root with the same relative manifest paths
as the configs use, holding only what ``audiodl train asr`` reads from them
(items of split ``train``/``valid`` with a transcript, of a voice not in
``holdout_voices``, no longer than ``max_seconds``), the audio re-encoded as
Ogg Opus through soundfile (``--level`` is libsndfile's compression level:
0.97 is about 14 kbit/s for 16 kHz speech, about 6 MB per hour). Test items
and held-out voices are never copied. Finished files are skipped (resumable).

On the GPU machine: ``AUDIODL_DATA=.carry/asr audiodl train asr --config ...``
(recipes/asr/gpu_run.sh; ``--fill-cache`` computes the features there first, in
parallel). Training reads Opus-coded audio there; scoring on
the test sets is done afterwards from the original files (evaluate.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
from pathlib import Path


def _encode(job):
    src, dest, level = job
    import soundfile as sf
    if Path(dest).exists():
        return 0
    y, sr = sf.read(src, dtype="float32", always_2d=False)
    tmp = dest + ".tmp"
    sf.write(tmp, y, sr, format="OGG", subtype="OPUS", compression_level=level)
    os.replace(tmp, dest)
    return os.path.getsize(dest)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", required=True, help="ASR config (repeatable)")
    ap.add_argument("-o", "--out", help="data root to write (required unless --fill-cache)")
    ap.add_argument("--data-root", default=None, help="source data root (default $AUDIODL_DATA)")
    ap.add_argument("--level", type=float, default=0.97, help="Opus compression level 0..1")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--fill-cache", action="store_true",
                    help="instead: compute the feature cache of the configs' manifests under "
                         "the data root (all items), in -j processes")
    args = ap.parse_args(argv)
    if args.fill_cache:
        return fill_cache(args.config, args.data_root, args.jobs)
    if not args.out:
        ap.error("-o/--out is required")

    from audiodl.data.manifest import read_manifest, write_manifest
    from audiodl.data.paths import data_root, resolve_data_path
    from audiodl.training.config import load_config
    from audiodl.training.specs.asr import AsrConfig

    root, out = data_root(args.data_root), Path(args.out)
    wanted = {}  # relative manifest -> (holdout voices, max seconds)
    for c in args.config:
        cfg = load_config(AsrConfig, c)
        for m in [cfg.corpus, *cfg.extra_corpora]:
            hold, longest = wanted.get(m, (set(cfg.holdout_voices), cfg.max_seconds))
            wanted[m] = (hold & set(cfg.holdout_voices), max(longest, cfg.max_seconds))
    jobs, summary = [], {}
    for rel, (hold, longest) in wanted.items():
        if os.path.isabs(rel):
            sys.exit(f"gpu_pack: {rel}: manifests must be relative to the data root")
        src = resolve_data_path(rel, root)
        keep = []
        for it in read_manifest(src):
            voice = (it.get("meta") or {}).get("voice")
            if ("text" not in it or it.get("split") not in ("train", "valid") or voice in hold
                    or float(it["duration"]) > longest):
                continue
            audio = Path(it["audio"])  # absolute (read_manifest resolves it)
            dest = (out / Path(rel).parent / "audio_opus" / audio.with_suffix(".opus").name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            jobs.append((str(audio), str(dest), args.level))
            keep.append(dict(it, audio=str(dest.resolve())))
        write_manifest(out / rel, keep)
        summary[rel] = {"items": len(keep),
                        "hours": round(sum(float(i["duration"]) for i in keep) / 3600, 3)}
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as ex:
        list(ex.map(_encode, jobs, chunksize=16))
    size = sum(os.path.getsize(j[1]) for j in jobs)
    summary["_total"] = {"files": len(jobs), "megabytes": round(size / 1e6, 1),
                         "level": args.level}
    (out / "pack.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def fill_cache(configs, root, jobs):
    """Fill the feature cache (each config's front end) for every item of its manifests."""
    import time

    from audiodl.data.dataset import FeatureCache
    from audiodl.data.manifest import read_manifest
    from audiodl.data.paths import data_root, resolve_data_path
    from audiodl.features.config import preset
    from audiodl.training.config import load_config
    from audiodl.training.specs.asr import AsrConfig
    root = data_root(root)
    for c in configs:
        cfg = load_config(AsrConfig, c)
        paths = [it["audio"] for m in [cfg.corpus, *cfg.extra_corpora]
                 for it in read_manifest(resolve_data_path(m, root))]
        t = time.time()
        n = FeatureCache(preset(cfg.frontend), root=cfg.feature_cache or None).fill(paths,
                                                                                    jobs=jobs)
        print(f"{c}: {n} of {len(paths)} files featurised in {time.time() - t:.1f} s",
              flush=True)


if __name__ == "__main__":
    main()
