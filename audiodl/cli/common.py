"""Conventions shared by every task command.

* one input  -> stdout, or ``-o FILE``;
* many inputs -> ``-o DIR`` with one output per input (``<stem><suffix>``),
  or, for per-file one-line outputs (``classify``), stdout / one ``-o FILE``;
* ``--format`` picks the output format; ``-j`` runs files in worker threads
  sharing one loaded model;
* a failing file is reported on stderr and the others still complete; the
  exit status is 1 if any failed.
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

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au", ".opus")


def expand_inputs(paths: Sequence[str]) -> list:
    """Files as given; directories are expanded to the audio files inside (sorted)."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(str(f) for f in Path(p).rglob("*")
                              if f.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(p)
    return out


def progress(iterable, *, total=None, desc=None, disable=None):
    """tqdm on stderr, switched off when stderr is not a TTY."""
    from tqdm.auto import tqdm
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr,
                leave=False)


def output_options(formats: Sequence[str], default: str, *, format_help: str = "Output format.",
                   output_help: str = "Output file (one input) or directory (several inputs)."):
    """Decorator adding ``-o/--output``, ``--format`` and ``-j/--jobs``."""
    def deco(f):
        f = click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
                         help="Worker threads (the model is loaded once and shared).")(f)
        f = click.option("--format", "fmt", type=click.Choice(list(formats)), default=default,
                         show_default=True, help=format_help)(f)
        f = click.option("-o", "--output", type=click.Path(), default=None, help=output_help)(f)
        return f
    return deco


def output_path_for(src: str, outdir: str, suffix: str) -> str:
    """``outdir/<stem><suffix>`` (madmom style naming, e.g. ``song.onsets.txt``)."""
    return os.path.join(outdir, Path(src).stem + suffix)


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

    results = []
    if jobs <= 1 or len(files) <= 1:
        for path in progress(files, total=len(files), desc=desc, disable=None if len(files) > 1
                             else True):
            results.append(one(path))
    else:
        with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(progress(pool.map(one, files), total=len(files), desc=desc,
                                    disable=None))
    for _, _, err in results:
        if err is not None:
            click.echo(f"audiodl: error: {err}", err=True)
    return results


def write_text(text: str, dest: Optional[str]) -> None:
    """Write to ``dest`` or stdout (``None`` or ``-``)."""
    if dest is None or dest == "-":
        click.echo(text, nl=not text.endswith("\n"))
    else:
        d = os.path.dirname(os.path.abspath(dest))
        os.makedirs(d, exist_ok=True)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)


def write_outputs(results, *, output: Optional[str], render: Callable[[str, object], str],
                  suffix: str) -> int:
    """Write one document per input following the conventions; return the failure count.

    One input: stdout or ``-o FILE``. Several: ``-o DIR`` (created) with
    ``<stem><suffix>`` each; without ``-o`` they go to stdout, each preceded by
    a ``# <path>`` line.
    """
    failed = sum(err is not None for _, _, err in results)
    ok = [(p, r) for p, r, err in results if err is None]
    if len(results) == 1:
        if ok:
            write_text(render(*ok[0]), output)
        return failed
    if output is not None:
        if os.path.exists(output) and not os.path.isdir(output):
            raise click.UsageError(f"several inputs: -o must be a directory, {output} is a file")
        os.makedirs(output, exist_ok=True)
        for path, res in ok:
            write_text(render(path, res), output_path_for(path, output, suffix))
    else:
        for path, res in ok:
            click.echo(f"# {path}")
            write_text(render(path, res), None)
    return failed


def finish(results) -> None:
    """Exit 1 when any file failed (after all outputs are written)."""
    failed = sum(err is not None for _, _, err in results)
    if failed:
        click.echo(f"audiodl: {failed} of {len(results)} file(s) failed", err=True)
        sys.exit(1)
