"""Ray Data engine of ``audiodl batch``: one model per worker, atomic outputs, retries.

The driver expands the inputs, refuses colliding output names, keeps its
``--shard`` and drops the inputs whose output exists (unless
``overwrite``); the rest become a :class:`ray.data.Dataset` of paths, mapped
by :class:`TaskWorker` actors (``ActorPoolStrategy(size=num_workers)``,
``num_cpus``/``num_gpus`` per actor so Ray places GPU workers on GPUs). A
worker writes each output with :func:`audiodl.io.outputs.atomic_write` and
returns one status row per input; a file that fails is a row with its
reason, not a task failure. A worker process that dies is restarted and its
batch retried (``max_restarts`` / ``max_task_retries``); files of that
batch already written are not redone.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ..errors import AudiodlError, ParameterError
from ..io.outputs import (find_collisions, output_path_for, outputs_exist, parse_shard,
                          select_shard, write_failures)

__all__ = ["run_batch", "BatchReport", "TASK_COMMANDS", "TaskWorker", "read_file_list",
           "build_pipeline"]

log = logging.getLogger(__name__)

#: command name (as in ``audiodl onsets``) -> card task
TASK_COMMANDS = {"classify": "musicspeech-classify", "detect": "musicspeech-detect",
                 "onsets": "onsets", "singing": "singing", "segment": "structure",
                 "transcribe": "asr", "codes": "similarity"}

#: suffixes of file lists (anything else given as a file is an audio input)
LIST_SUFFIXES = (".txt", ".lst", ".list", ".m3u")


def task_name(task: str) -> str:
    """A card task name for a command name or card task name."""
    if task in TASK_COMMANDS:
        return TASK_COMMANDS[task]
    if task in TASK_COMMANDS.values():
        return task
    raise ParameterError(f"unknown task {task!r}; known: "
                         f"{', '.join(sorted(set(TASK_COMMANDS) | set(TASK_COMMANDS.values())))}")


def build_pipeline(task: str, *, model: Optional[str] = None, method: Optional[str] = None,
                   backend: str = "auto", device: str = "cpu"):
    """The task pipeline a worker runs (``method`` for onsets and structure)."""
    task = task_name(task)
    if task == "onsets":
        from ..tasks.onsets import detector
        return detector(method or "cnn", model=model, backend=backend, device=device)
    if task == "structure":
        from ..tasks.structure import segmenter
        return segmenter(method or "cnn", model=model, backend=backend, device=device)
    if method is not None:
        raise ParameterError(f"task {task!r} has no --method")
    from ..tasks import task_class
    return task_class(task).from_pretrained(model, backend=backend, device=device)


def read_file_list(paths: Sequence[str]) -> list:
    """Audio files of ``paths``: folders (recursively), audio files, and file lists.

    A file list (``.txt``, ``.lst``, ``.list``, ``.m3u``) holds one path per
    line (``#`` starts a comment); relative paths are relative to the list's
    folder.
    """
    from ..io.audio import find_audio_files
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isfile(p) and p.lower().endswith(LIST_SUFFIXES):
            base = os.path.dirname(os.path.abspath(p))
            try:
                with open(p, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise ParameterError(f"{p}: cannot read the file list ({exc})") from None
            for line in lines:
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(os.path.normpath(os.path.join(base, line)))
        else:
            out.extend(find_audio_files([p]))
    if not out:
        raise ParameterError("no input files found")
    return out


@dataclass
class BatchReport:
    """What a batch run did (rows in the order they finished)."""

    done: list = field(default_factory=list)  # (path, output)
    failed: list = field(default_factory=list)  # (path, reason)
    skipped: list = field(default_factory=list)  # inputs whose output existed
    seconds: float = 0.0
    workers: int = 0
    manifest: Optional[str] = None

    @property
    def files_per_second(self) -> float:
        n = len(self.done) + len(self.failed)
        return n / self.seconds if self.seconds > 0 else 0.0


class TaskWorker:
    """Ray Data actor: loads the pipeline once, then maps batches of paths to outputs.

    Parameters
    ----------
    spec : dict
        ``task``, ``model``, ``method``, ``backend``, ``device``, ``fmt``,
        ``params`` (decoder overrides), ``outdir``, ``suffix``, ``overwrite``,
        ``threads`` and, for tests only, ``crash_once``: a marker path; the
        first worker to reach the input named ``crash_once_at`` creates the
        marker and exits its process without cleanup (a killed worker).
    """

    def __init__(self, spec: dict):
        self.spec = spec
        self.pipe = build_pipeline(spec["task"], model=spec.get("model"),
                                   method=spec.get("method"), backend=spec.get("backend", "auto"),
                                   device=spec.get("device", "cpu"))
        if spec.get("threads") and "torch" in sys.modules:  # one worker per CPU share
            sys.modules["torch"].set_num_threads(int(spec["threads"]))
        self.params = dict(spec.get("params") or {})
        self.pipe.params(**self.params)

    def _maybe_crash(self, path: str) -> None:
        marker, at = self.spec.get("crash_once"), self.spec.get("crash_once_at")
        if marker and at and os.path.basename(path) == at:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os._exit(1)

    def process(self, path: str) -> tuple:
        """``(status, output or reason)`` of one input; ``status`` is done, present or failed."""
        from ..io.outputs import atomic_write
        dest = output_path_for(path, self.spec["outdir"], self.spec["suffix"])
        if not self.spec.get("overwrite") and os.path.isfile(dest):
            return "present", dest  # written before a restart of this batch
        self._maybe_crash(path)
        try:
            result = self.pipe.decode(self.pipe.activations(path), **self.params)
            text = self.pipe.write(result, self.spec["fmt"], source=path)
            atomic_write(dest, text)
        except AudiodlError as exc:
            return "failed", str(exc)
        except Exception as exc:  # one bad file never stops the batch
            log.debug("failure on %s", path, exc_info=True)
            return "failed", f"{path}: {type(exc).__name__}: {exc}"
        return "done", dest

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["path"]]
        rows = [self.process(p) for p in paths]
        return {"path": paths, "status": [s for s, _ in rows], "info": [i for _, i in rows],
                "pid": [os.getpid()] * len(paths)}


def _package_root() -> str:
    """Folder holding the ``audiodl`` package this process runs."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def _ray_session(address: str, *, num_cpus: Optional[float], num_gpus: Optional[float]):
    """``ray.init`` (a new local cluster for ``local``) and shutdown, if this call started it."""
    import ray
    if ray.is_initialized():
        yield ray
        return
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    if address == "local":
        # local workers import the same audiodl as this process (an editable or
        # PYTHONPATH checkout included): they inherit the environment of ray.init
        old = os.environ.get("PYTHONPATH")
        paths = [_package_root()] + ([old] if old else [])
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)
        try:
            ray.init(num_cpus=num_cpus, num_gpus=num_gpus,
                     object_store_memory=200 * 1024 ** 2, **kwargs)
        finally:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old
    else:
        ray.init(address=address, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_batch(task: str, inputs: Sequence[str], outdir: str, *, address: str = "local",
              model: Optional[str] = None, method: Optional[str] = None, fmt: Optional[str] = None,
              backend: str = "auto", params: Optional[dict] = None, num_workers: int = 2,
              num_cpus: float = 1, num_gpus: float = 0, batch_size: int = 4,
              max_retries: int = 3, overwrite: bool = False, shard=None,
              progress: Optional[bool] = None,
              on_result: Optional[Callable[[str, str, str], None]] = None,
              _crash_once: Optional[tuple] = None) -> BatchReport:
    """Run a task over many files on a Ray cluster; one output file per input in ``outdir``.

    Parameters
    ----------
    task : str
        Command name (``onsets``, ``classify``, ``detect``, ``singing``,
        ``segment``, ``transcribe``, ``codes``) or card task name.
    inputs : sequence of str
        Folders, audio files and file lists (:func:`read_file_list`).
    outdir : path
        Receives ``<stem><suffix>`` per input and ``audiodl-failures.json``.
    address : str
        ``local`` (start a local cluster of ``num_workers * num_cpus`` CPUs)
        or a Ray address (``auto``, ``ray://host:10001``).
    model, method, fmt, backend, params
        As for the task command (``fmt`` None: the task's default format).
    num_workers : int
        Actors in the pool (each loads the model once).
    num_cpus, num_gpus : float
        Resources per actor; ``num_gpus > 0`` runs the model on ``cuda``.
    batch_size : int
        Files per ``map_batches`` call (the unit a dead worker's retry redoes).
    max_retries : int
        Restarts of a dead actor and retries of its batch (-1: unlimited).
    overwrite : bool
        Redo inputs whose output exists.
    shard : (i, n), "i/n" or None
        Keep every n-th input of the sorted list from the i-th.
    progress : bool or None
        Progress bar on stderr (None: when stderr is a terminal).
    on_result : callable ``(path, status, info)``, optional
        Called on the driver as each result arrives.

    Returns
    -------
    BatchReport
    """
    if num_workers < 1 or batch_size < 1:
        raise ParameterError("num_workers and batch_size must be >= 1")
    task = task_name(task)
    shard = parse_shard(shard)
    files = select_shard(read_file_list(inputs), shard)
    from ..tasks import task_class
    cls = task_class(task)
    fmt = fmt or cls.default_format
    if fmt not in cls.formats:
        raise ParameterError(f"task {task!r} writes {sorted(cls.formats)}, not {fmt!r}")
    suffix = cls.formats[fmt]
    clashes = find_collisions(files, outdir, suffix)
    if clashes:
        out, srcs = next(iter(clashes.items()))
        raise ParameterError(f"{len(clashes)} output name(s) would be written by several "
                             f"inputs, e.g. {out} by {', '.join(srcs)}")
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if params:  # bad decoder overrides stop here, not in every worker
        build_pipeline(task, model=model, method=method, backend=backend).params(**params)
    os.makedirs(outdir, exist_ok=True)
    report = BatchReport(workers=num_workers)
    todo = []
    for f in files:
        dest = output_path_for(f, outdir, suffix)
        if not overwrite and outputs_exist([dest]):
            report.skipped.append(f)
        else:
            todo.append(f)
    t0 = time.perf_counter()
    if todo:
        spec = {"task": task, "model": model, "method": method, "backend": backend,
                "device": "cuda" if num_gpus > 0 else "cpu", "fmt": fmt,
                "params": params,
                "outdir": os.path.abspath(outdir), "suffix": suffix, "overwrite": overwrite,
                "threads": max(1, int(num_cpus))}
        if _crash_once:
            spec["crash_once"], spec["crash_once_at"] = _crash_once
        _run_on_ray(todo, spec, report, address=address, num_workers=num_workers,
                    num_cpus=num_cpus, num_gpus=num_gpus, batch_size=batch_size,
                    max_retries=max_retries, progress=progress, on_result=on_result)
    report.seconds = time.perf_counter() - t0
    report.manifest = write_failures(outdir, report.failed, command=f"audiodl batch {task}",
                                     n_inputs=len(files), n_done=len(report.done),
                                     n_skipped=len(report.skipped), shard=shard)
    return report


def _run_on_ray(todo, spec, report, *, address, num_workers, num_cpus, num_gpus, batch_size,
                max_retries, progress, on_result):
    try:
        import ray  # noqa: F401
        import ray.data
    except ImportError:
        raise ParameterError("audiodl batch needs Ray: pip install 'audiodl[distributed]'"
                             ) from None
    if progress is None:
        progress = sys.stderr.isatty()
    local = address == "local"
    total_cpus = num_workers * num_cpus if local else None
    total_gpus = num_workers * num_gpus if local and num_gpus else None
    with warnings.catch_warnings(), _ray_session(address, num_cpus=total_cpus,
                                                 num_gpus=total_gpus):
        if not log.isEnabledFor(logging.INFO):  # ray.data's INFO lines only with -v
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            logging.getLogger("ray").setLevel(logging.WARNING)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = bool(progress)
        ctx.verbose_progress = False
        n_blocks = max(1, math.ceil(len(todo) / batch_size))
        ds = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=n_blocks)
        with warnings.catch_warnings():  # retries are still "ray_remote_args" in Ray 2.60
            warnings.simplefilter("ignore", DeprecationWarning)
            out = ds.map_batches(TaskWorker, fn_constructor_kwargs={"spec": spec},
                                 batch_size=batch_size,
                                 compute=ray.data.ActorPoolStrategy(size=num_workers),
                                 num_cpus=num_cpus, num_gpus=num_gpus or None,
                                 max_restarts=max_retries, max_task_retries=max_retries,
                                 batch_format="numpy")
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc=f"batch {spec['task']}", file=sys.stderr,
                   disable=not progress, leave=False)
        last_line = time.monotonic()
        try:
            warnings.filterwarnings("ignore", category=UserWarning, module="ray.data")
            for row in out.iter_rows():
                path, status, info = str(row["path"]), str(row["status"]), str(row["info"])
                if status == "failed":
                    report.failed.append((path, info))
                else:
                    report.done.append((path, info))
                if on_result is not None:
                    on_result(path, status, info)
                bar.update(1)
                if not progress and time.monotonic() - last_line > 30:  # logs, no terminal
                    last_line = time.monotonic()
                    print(f"audiodl batch: {len(report.done) + len(report.failed)} of "
                          f"{len(todo)} files ({len(report.failed)} failed)", file=sys.stderr,
                          flush=True)
        except Exception as exc:  # e.g. a file that kills its worker on every retry
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            seen = {p for p, _ in report.done} | {p for p, _ in report.failed}
            reason = (f"not finished: the Ray job failed ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''}); a worker may have "
                      f"died {max_retries + 1} times on its batch")
            report.failed.extend((p, reason) for p in todo if p not in seen)
        finally:
            bar.close()
