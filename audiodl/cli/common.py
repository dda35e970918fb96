"""Conventions shared by every task command, written once.

* one input -> stdout, or ``-o FILE``;
* ``-o DIR`` (an existing directory, a path ending in ``/``, or any ``-o``
  with several inputs) -> one output per input, ``DIR/<stem><suffix>``
  (madmom-style, e.g. ``song.onsets.txt``), written atomically as soon as
  that input is done. Inputs whose outputs would collide (``show.mp3`` and
  ``show.flac``) stop the command before any work, with a clear error;
* several inputs without ``-o`` -> stdout, each output after a ``# <path>`` line
  (commands whose results are table rows, like ``classify``, print one table);
* ``-`` reads audio from stdin (WAV, or raw float32 with ``--stdin-format``);
* ``-j`` runs files in worker threads sharing one loaded model;
* a failing file is reported on stderr naming the file and the reason, the
  others complete, and the exit status is 1.

:func:`run_task` is the whole loop for a task pipeline.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

import click

log = logging.getLogger(__name__)

STDIN = "-"


def expand_inputs(paths: Sequence[str]) -> list:
    """Files as given (``-`` kept); directories expand to the audio files inside (sorted)."""
    from ..io.audio import find_audio_files
    out = find_audio_files(paths)
    if not out:
        raise click.UsageError("no input files found")
    if out.count(STDIN) > 1:
        raise click.UsageError("'-' (stdin) can be given only once")
    return out


def progress(iterable, *, total=None, desc=None, disable=None):
    """tqdm on stderr, switched off when stderr is not a TTY (then tqdm is not imported)."""
    if disable is None:
        disable = not sys.stderr.isatty()
    if disable:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr,
                leave=False)


def output_path_for(src: str, outdir: str, suffix: str) -> str:
    """The one output-path rule: ``outdir/<stem><suffix>`` (``stdin`` for ``-``)."""
    stem = "stdin" if src == STDIN else Path(src).stem
    return os.path.join(outdir, stem + suffix)


def is_dir_output(output: Optional[str], n_inputs: int) -> bool:
    """Whether ``-o`` names a directory of per-input outputs."""
    if output is None or output == STDIN:
        return False
    return os.path.isdir(output) or output.endswith(os.sep) or n_inputs > 1


def check_collisions(files: Sequence[str], outdir: str, suffix: str) -> None:
    """Stop before any work when two inputs would write the same output file."""
    seen: dict = {}
    for f in files:
        seen.setdefault(output_path_for(f, outdir, suffix), []).append(f)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    if clashes:
        first = next(iter(clashes.items()))
        raise click.UsageError(
            f"{len(clashes)} output name(s) would be written by several inputs, e.g. "
            f"{first[0]} by {', '.join(first[1])}; rename the inputs or run them in "
            "separate calls with different -o directories")
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise click.UsageError(f"-o {outdir}: several inputs need a directory, and this is "
                               "a file")


def atomic_write(dest: str, text: str) -> None:
    """Write ``text`` to ``dest`` via a temporary file and a rename (never half-written)."""
    d = os.path.dirname(os.path.abspath(dest))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(dest)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, dest)


def write_text(text: str, dest: Optional[str]) -> None:
    """Write to ``dest`` (atomically) or stdout (``None`` or ``-``)."""
    if dest is None or dest == STDIN:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        atomic_write(dest, text)


def run_batch(files: Sequence[str], process: Callable[[str], object], *,
              jobs: int = 1, desc: Optional[str] = None):
    """Run ``process(path)`` for every file; never stop at a failure.

    Returns
    -------
    results : list of (path, result or None, error message or None), in input order.
    """
    from ..errors import AudiodlError

    def one(path):
        try:
            return path, process(path), None
        except AudiodlError as exc:
            return path, None, str(exc)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # report, keep going with the other files
            log.debug("failure on %s", path, exc_info=True)
            return path, None, f"{path}: {type(exc).__name__}: {exc}"

    disable = None if len(files) > 1 else True
    if jobs <= 1 or len(files) <= 1:
        results = [one(p) for p in progress(files, total=len(files), desc=desc,
                                            disable=disable)]
    else:
        with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(progress(pool.map(one, files), total=len(files), desc=desc,
                                    disable=disable))
    for _, _, err in results:
        if err is not None:
            click.echo(f"audiodl: error: {err}", err=True)
    return results


def finish(results) -> None:
    """Exit 1 when any file failed (after all outputs are written)."""
    failed = sum(err is not None for _, _, err in results)
    if failed:
        click.echo(f"audiodl: {failed} of {len(results)} file(s) failed", err=True)
        sys.exit(1)


def read_input(path: str, *, stdin_format: str = "wav", sr: Optional[int] = None):
    """``(x, sr)`` for a pipeline: a path as is, or samples read from stdin for ``-``."""
    if path != STDIN:
        return path, None
    from ..io.pipe import read_pipe
    return read_pipe(sys.stdin.buffer, fmt=stdin_format,
                     sr=sr if stdin_format == "raw" else None)


def run_task(pipe, files, *, output, fmt, jobs, save_activations=None, load_activations=False,
             plot=None, params: Optional[dict] = None, desc: str = "",
             stdin_format: str = "wav", stdin_sr: Optional[int] = None) -> None:
    """The whole batch loop of a task command (see the module docstring).

    ``pipe`` is a task :class:`~audiodl.tasks.base.Pipeline`: its
    ``activations``, ``decode(**params)``, ``write(result, fmt)``,
    ``formats`` and ``plot`` are all this needs.
    """
    from ..types import Activations

    params = {k: v for k, v in (params or {}).items() if v is not None}
    pipe.params(**params)  # validate before any work: bad values stop here, once
    files = list(files) if load_activations else expand_inputs(files)
    suffix = pipe.formats[fmt]
    if pipe.combine_outputs:  # rows of one table, unless -o names a directory
        to_dir = output is not None and (os.path.isdir(output) or output.endswith(os.sep))
    else:
        to_dir = is_dir_output(output, len(files))
    if to_dir:
        check_collisions(files, output, suffix)
    many = len(files) > 1

    def side_path(opt, path, ext):
        if not many and not os.path.isdir(opt) and not opt.endswith(os.sep):
            return opt
        return output_path_for(path, opt, ext)

    def process(path):
        if load_activations:
            act = Activations.load(path)
            x, sr = None, None
        else:
            x, sr = read_input(path, stdin_format=stdin_format, sr=stdin_sr)
            act = pipe.activations(x, sr, progress=not many)
            if save_activations:
                dest = side_path(save_activations, path, ".npz")
                os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
                act.save(dest)
        res = pipe.decode(act, **params)
        text = pipe.write(res, fmt, source=path)
        if to_dir:
            atomic_write(output_path_for(path, output, suffix), text)
        if plot and x is not None:
            pipe.plot(x, sr, res, act, side_path(plot, path, ".png"),
                      title=os.path.basename(path))
        return res, text

    results = run_batch(files, process, jobs=jobs, desc=desc)
    ok = [(p, r) for p, r, err in results if err is None]
    if not to_dir and ok:
        if pipe.combine_outputs:
            write_text(pipe.write_many([(p, r[0]) for p, r in ok], fmt), output)
        elif not many:
            write_text(ok[0][1][1], output)
        else:
            for p, r in ok:
                click.echo(f"# {p}")
                write_text(r[1], None)
    finish(results)
