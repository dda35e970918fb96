"""Deterministic, parallel, resumable corpus generation.

A task module (``audiodl.data.synth.<task>``) provides:

``TASK`` : str, ``DEFAULT_SR`` : int
``check()``
    Raise :class:`EngineUnavailable` when a needed engine is missing.
``plan(hours, seed, sr)`` -> list of dict
    Item specs (``id``, ``seed``, ``split`` and parameters). A plan is
    prefix-stable: more hours only appends items, so a corpus can be grown.
``make_context(sr)`` -> object
    Per-worker state (one FluidSynth kept alive, the voice list ...).
``generate(spec, ctx, out_dir)`` -> dict or list of dict
    Renders one spec and returns its manifest item(s) (paths relative to
    ``out_dir``). Output depends only on ``spec`` (never on the worker).

:func:`generate_corpus` runs the plan over ``jobs`` processes, skips items
already finished (a ``.items/<id>.json`` record is written last, atomically),
shows a tqdm bar on stderr when it is a terminal, and writes
``manifest.jsonl`` (items in plan order) and ``corpus.json`` (both atomically).

Worker processes die with the parent: each watches its parent's pid and
exits at once when the parent is gone (killed, even with SIGKILL), ignores
SIGINT (the parent stops the pool) and dies silently on a broken pipe, so a
killed run leaves no orphan writing files and no BrokenPipe tracebacks. A
rerun regenerates only the items without a record, byte-identical to an
uninterrupted run.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from audiodl.data.manifest import write_manifest
from audiodl.errors import ParameterError

__all__ = ["TASKS", "task_module", "generate_corpus", "item_rng", "assign_split", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

TASKS = ("musicspeech", "onsets", "speech", "singing", "structure", "similarity",
         "structure_varied", "nonspeech", "onsets_extra", "onsets_realdrums", "onsets_kits",
         "onsets_chatter", "machinery")
FORMAT_VERSION = 1
_CTX = {}


def task_module(task):
    """Import the generator module of ``task`` (lazily)."""
    if task not in TASKS:
        raise ParameterError(f"unknown synth task {task!r}; choose one of {', '.join(TASKS)}")
    return importlib.import_module(f"audiodl.data.synth.{task}")


def item_rng(seed, index, *, salt=0):
    """The random generator of item ``index`` of a corpus with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(salt), int(index)]))


def assign_split(seed, index, *, fractions=(0.9, 0.05, 0.05)):
    """Split of item ``index``: ``"train"``, ``"valid"`` or ``"test"`` (deterministic)."""
    u = item_rng(seed, index, salt=7919).random()
    if u < fractions[0]:
        return "train"
    return "valid" if u < fractions[0] + fractions[1] else "test"


#: seconds between a worker's checks that its parent is still alive
PARENT_POLL_SECONDS = 0.2


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker (immediately, no cleanup, no traceback) once its parent is gone."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(PARENT_POLL_SECONDS)


def _detach_worker(parent_pid: int) -> None:
    """Worker set-up: die with the parent, leave Ctrl-C to it, no BrokenPipe tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="audiodl-parent-watch").start()


def _init_worker(task, sr, parent_pid=None):
    if parent_pid is not None:
        _detach_worker(parent_pid)
    mod = task_module(task)
    logging.getLogger("audiodl").setLevel(logging.WARNING)
    _CTX["mod"] = mod
    _CTX["ctx"] = mod.make_context(sr)


def _work(args):
    spec, out_dir = args
    mod, ctx = _CTX["mod"], _CTX["ctx"]
    item = mod.generate(spec, ctx, out_dir)
    record = {"spec_id": spec["id"], "items": item if isinstance(item, list) else [item]}
    _write_record(out_dir, spec["id"], record)
    return record


def _record_path(out_dir, item_id):
    return Path(out_dir) / ".items" / f"{item_id}.json"


def _write_record(out_dir, spec_id, record):
    p = _record_path(out_dir, spec_id)
    tmp = p.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    os.replace(tmp, p)


def _done_seconds(out_dir, pending):
    total = 0.0
    for s in pending:
        with open(_record_path(out_dir, s["id"]), encoding="utf-8") as fh:
            rec = json.load(fh)
        total += sum(it["duration"] for it in rec.get("items", [rec]))
    return total


def generate_corpus(task, out_dir, *, hours, seed=0, jobs=1, sr=None, progress=None,
                    keep_stems=False, texts=None):
    """Generate (or complete) a synthetic corpus.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    out_dir : str or os.PathLike
    hours : float
        Approximate amount of audio.
    seed : int
    jobs : int
        Worker processes (1: in this process).
    sr : int or None [Hz]
        Default: the task's ``DEFAULT_SR``.
    progress : bool or None
        Show a progress bar; default when stderr is a terminal.
    keep_stems : bool
        Also save the separate sources of mixtures (tasks that mix).
    texts : sequence of str or None
        Sentences to speak instead of the task's own text grammar (tasks whose
        module sets ``TAKES_TEXTS``: ``speech``); item ``i`` speaks
        ``texts[item_rng(seed, i, salt=33).integers(len(texts))]``. Recorded
        in ``corpus.json`` (count and sha1); a corpus cannot be extended with
        other texts.

    Returns
    -------
    manifest : pathlib.Path
        ``out_dir/manifest.jsonl``.

    Raises
    ------
    EngineUnavailable
        A needed synthesis engine is missing (the message says what to install).
    ParameterError
        Bad arguments, or ``out_dir`` holds a corpus made with another
        task/seed/sr.
    """
    if hours <= 0:
        raise ParameterError(f"hours must be > 0, got {hours}")
    if jobs < 1:
        raise ParameterError(f"jobs must be >= 1, got {jobs}")
    mod = task_module(task)
    sr = int(sr or mod.DEFAULT_SR)
    texts_info = None
    if texts is not None:
        texts = [" ".join(str(t).split()) for t in texts if str(t).strip()]
        if not getattr(mod, "TAKES_TEXTS", False):
            raise ParameterError(f"task {task!r} does not take texts (only speech does)")
        if not texts:
            raise ParameterError("texts: no non-empty sentence given")
        texts_info = {"n": len(texts), "sha1": hashlib.sha1(
            "\n".join(texts).encode("utf-8")).hexdigest()[:16]}
    mod.check()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ".items").mkdir(exist_ok=True)
    for stale in (out_dir / ".items").glob("*.tmp"):  # a killed run's half-written record
        stale.unlink(missing_ok=True)
    info_path = out_dir / "corpus.json"
    if info_path.is_file():
        try:
            old = json.loads(info_path.read_text(encoding="utf-8"))
            if not isinstance(old, dict):
                raise ValueError("not an object")
        except (OSError, ValueError, RecursionError) as exc:
            raise ParameterError(f"{info_path}: unreadable corpus description ({exc}); "
                                 "use another output folder") from None
        for key, val in (("task", task), ("seed", int(seed)), ("sr", sr),
                         ("texts", texts_info)):
            if old.get(key) != val:
                raise ParameterError(
                    f"{out_dir} holds a corpus with {key}={old.get(key)!r}, not {val!r}: "
                    "use another output folder")
    specs = mod.plan(float(hours), int(seed), sr)
    if keep_stems:
        specs = [dict(s, keep_stems=True) for s in specs]
    if texts is not None:
        specs = [dict(s, text=texts[int(item_rng(seed, s["index"], salt=33).integers(len(texts)))])
                 for s in specs]
    pending = [s for s in specs if not _record_path(out_dir, s["id"]).is_file()]
    logger.info("%s: %d items planned, %d to generate", task, len(specs), len(pending))
    if progress is None:
        progress = sys.stderr.isatty()
    from tqdm import tqdm

    t0 = time.time()
    bar = tqdm(total=len(specs), initial=len(specs) - len(pending), desc=f"synth {task}",
               unit="item", file=sys.stderr, disable=not progress)
    try:
        if jobs == 1 or len(pending) <= 1:
            _init_worker(task, sr)
            try:
                for spec in pending:
                    _work((spec, out_dir))
                    bar.update(1)
            finally:
                close = getattr(_CTX.get("ctx"), "close", None)
                if close is not None:
                    close()
                _CTX.clear()
        else:
            mp = multiprocessing.get_context("spawn")
            with mp.Pool(jobs, initializer=_init_worker,
                         initargs=(task, sr, os.getpid())) as pool:
                for _ in pool.imap_unordered(_work, [(s, out_dir) for s in pending], chunksize=1):
                    bar.update(1)
    finally:
        bar.close()
    elapsed = time.time() - t0
    items = []
    for s in specs:
        with open(_record_path(out_dir, s["id"]), encoding="utf-8") as fh:
            rec = json.load(fh)
        items.extend(rec["items"] if "items" in rec else [rec])
    manifest = write_manifest(out_dir / "manifest.jsonl", items)
    total = float(sum(it["duration"] for it in items))
    by_split = {}
    for it in items:
        by_split[it["split"]] = by_split.get(it["split"], 0.0) + it["duration"]
    info = {
        "task": task, "seed": int(seed), "sr": sr, "hours_requested": float(hours),
        "n_items": len(items), "hours": round(total / 3600.0, 4),
        "hours_by_split": {k: round(v / 3600.0, 4) for k, v in sorted(by_split.items())},
        "format_version": FORMAT_VERSION, "texts": texts_info,
        "last_run": {"generated": len(pending), "seconds": round(elapsed, 1), "jobs": jobs,
                     "realtime_factor": round(_done_seconds(out_dir, pending) / max(elapsed, 1e-6), 1)},
    }
    if hasattr(mod, "describe"):
        info["generator"] = mod.describe()
    tmp = info_path.with_name(info_path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, info_path)
    logger.info("%s: wrote %s (%d items, %.2f h) in %.1f s", task, manifest, len(items),
                total / 3600.0, elapsed)
    return manifest
