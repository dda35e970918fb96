"""Per-input output files of batch runs: naming, atomic writes, restart and shard rules.

One set of rules for the task commands (:mod:`audiodl.cli.common`) and the
distributed engine (:mod:`audiodl.distributed`), so that a job killed at
any point and run again finishes with the same files:

* every output is written to a temporary file in the destination folder and
  renamed over the final name when complete (:func:`atomic_path`), so a
  finished-looking name never holds a 0-byte or half-written file;
* a rerun skips the inputs whose outputs all exist (:func:`outputs_exist`)
  unless asked to overwrite;
* ``--shard i/n`` keeps every n-th input of the sorted list, starting at
  the i-th (:func:`select_shard`), for job-array schedulers (SLURM: ``--shard
  $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`` with ``--array=0-(n-1)``);
* the inputs that failed are listed with their reasons in a JSON manifest
  in the output folder (:func:`write_failures`), removed again when a rerun
  has no failures.

Pure Python, no click, no torch.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..errors import ParameterError

__all__ = ["STDIN", "output_path_for", "find_collisions", "atomic_path", "atomic_write", "outputs_exist",
           "parse_shard", "select_shard", "failures_path", "write_failures", "TMP_MARK"]

STDIN = "-"
#: every temporary output carries this mark (``.<name>.<random>.part<suffix>``)
TMP_MARK = ".part"


def output_path_for(src: str, outdir: str, suffix: str) -> str:
    """The one output-path rule: ``outdir/<stem><suffix>`` (``stdin`` for ``-``)."""
    stem = "stdin" if src == STDIN else Path(src).stem
    return os.path.join(outdir, stem + suffix)


def find_collisions(files: Sequence[str], outdir: str, suffix: str) -> dict:
    """Output paths that several inputs would write: ``{output: [inputs]}`` (empty: none).

    ``a/x.wav`` and ``b/x.wav``, or ``x.wav`` and ``x.flac``, name the same
    ``outdir/x<suffix>``; callers refuse to start rather than let one
    silently overwrite the other.
    """
    seen: dict = {}
    for f in files:
        seen.setdefault(output_path_for(f, outdir, suffix), []).append(f)
    return {k: v for k, v in seen.items() if len(v) > 1}


def _stale_parts(dest: str) -> list:
    d, base = os.path.split(os.path.abspath(dest))
    return glob.glob(os.path.join(glob.escape(d), f".{glob.escape(base)}.*{TMP_MARK}*"))


@contextlib.contextmanager
def atomic_path(dest: str) -> Iterator[str]:
    """A temporary path next to ``dest`` that becomes ``dest`` when the block succeeds.

    The temporary name keeps ``dest``'s extension (``.x.npz.<random>.part.npz``)
    so writers that choose a format by extension (numpy, matplotlib) work.
    Leftovers of a killed earlier attempt at ``dest`` are removed first; on
    an exception the temporary file is removed and ``dest`` is untouched.
    """
    d = os.path.dirname(os.path.abspath(dest))
    os.makedirs(d, exist_ok=True)
    for stale in _stale_parts(dest):
        with contextlib.suppress(OSError):
            os.remove(stale)
    ext = os.path.splitext(dest)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=TMP_MARK + ext,
                               dir=d)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write(dest: str, text: str) -> None:
    """Write ``text`` to ``dest`` via a temporary file and a rename (never half-written)."""
    with atomic_path(dest) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def outputs_exist(paths: Sequence[str]) -> bool:
    """Whether every path exists as a file (outputs are only ever renamed into place)."""
    return bool(paths) and all(os.path.isfile(p) for p in paths)


def parse_shard(text: Optional[str]):
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; None stays None."""
    if text is None:
        return None
    if isinstance(text, tuple):
        i, n = text
    else:
        i_s, sep, n_s = str(text).partition("/")
        try:
            i, n = int(i_s), int(n_s)
        except ValueError:
            raise ParameterError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
        if not sep:
            raise ParameterError(f"--shard {text!r}: expected I/N, e.g. 0/4")
    if n < 1 or not 0 <= i < n:
        raise ParameterError(f"--shard {text!r}: needs N >= 1 and 0 <= I < N (0-based)")
    return i, n


def select_shard(files: Sequence[str], shard) -> list:
    """Files of shard ``(i, n)``: every n-th of the sorted list from the i-th.

    Deterministic (the same list gives the same shards on every machine),
    disjoint and covering: the n shards together are the whole list.
    """
    if shard is None:
        return list(files)
    i, n = parse_shard(shard)
    return sorted(files)[i::n]


def failures_path(outdir: str, shard=None) -> str:
    """``outdir/audiodl-failures.json`` (``audiodl-failures.shard-I-of-N.json`` per shard)."""
    if shard is None:
        return os.path.join(outdir, "audiodl-failures.json")
    i, n = parse_shard(shard)
    return os.path.join(outdir, f"audiodl-failures.shard-{i}-of-{n}.json")


def write_failures(outdir: str, failed: Sequence, *, command: str = "", n_inputs: int = 0,
                   n_done: int = 0, n_skipped: int = 0, shard=None) -> Optional[str]:
    """Write (or, with no failure, remove) the failure manifest of a batch run.

    Parameters
    ----------
    outdir : path
    failed : sequence of (path, reason)
    command : str
        What ran (e.g. ``audiodl onsets``).
    n_inputs, n_done, n_skipped : int
        Inputs of this run, outputs written, inputs skipped as already done.
    shard : (i, n) or None

    Returns
    -------
    The manifest path, or None when there was nothing to report.
    """
    dest = failures_path(outdir, shard)
    if not failed:
        with contextlib.suppress(FileNotFoundError):
            os.remove(dest)
        return None
    doc = {"command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "shard": None if shard is None else "%d/%d" % parse_shard(shard),
           "inputs": n_inputs, "done": n_done, "skipped": n_skipped, "failed": len(failed),
           "failures": [{"path": p, "reason": r} for p, r in failed]}
    atomic_write(dest, json.dumps(doc, indent=1) + "\n")
    return dest
