"""``audiodl batch TASK LIST_OR_DIR... -o OUT --ray local|ADDRESS``: a catalogue on Ray.

Engine: :mod:`audiodl.distributed` (Ray Data ``map_batches`` with an actor
pool; needs ``pip install 'audiodl[distributed]'``).
"""

from __future__ import annotations

import sys

import click

from .options import batch_options

TASKS = ("classify", "detect", "onsets", "singing", "segment", "transcribe", "codes")


def _parse_sets(items) -> dict:
    import json
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        try:
            out[k.strip().replace("-", "_")] = json.loads(v)
        except ValueError:
            out[k.strip().replace("-", "_")] = v
    return out


@click.command()
@click.argument("task", type=click.Choice(TASKS))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder receiving one output per input (and audiodl-failures.json).")
@click.option("--ray", "address", default="local", show_default=True,
              help="'local' starts a Ray cluster on this machine; else a Ray address "
                   "(auto, ray://HOST:10001).")
@click.option("--workers", "num_workers", type=click.IntRange(1), default=2, show_default=True,
              help="Actors in the pool; each loads the model once.")
@click.option("--num-cpus", type=click.FloatRange(0, min_open=True), default=1.0,
              show_default=True, help="CPUs per worker (its torch threads).")
@click.option("--num-gpus", type=click.FloatRange(0), default=0.0, show_default=True,
              help="GPUs per worker (fractions share a GPU); > 0 runs the model on CUDA.")
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True,
              help="Files per task; a dead worker's batch is retried.")
@click.option("--max-retries", type=click.IntRange(-1), default=3, show_default=True,
              help="Restarts of a dead worker and retries of its batch (-1: unlimited).")
@click.option("-m", "--model", default=None, help="Model name or card .json.")
@click.option("--method", default=None,
              help="onsets: cnn or superflux; segment: cnn, foote or sf.")
@click.option("--format", "fmt", default=None, help="Output format (default: the task's).")
@click.option("--backend", default="auto", show_default=True, help="Inference backend.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Decoder parameter override, e.g. --set threshold=0.4 (repeatable).")
@batch_options
def batch(task, inputs, output, address, num_workers, num_cpus, num_gpus, batch_size,
          max_retries, model, method, fmt, backend, sets):
    """Run TASK over a catalogue on Ray: INPUTS are folders, audio files or file lists.

    A file list (.txt, .lst, .list, .m3u) holds one path per line, relative
    to the list's folder. Each output is written atomically as soon as its
    file is done; a rerun skips finished files (unless --overwrite); files
    that fail are listed with the reason in OUT/audiodl-failures.json and the
    exit status is 1.
    """
    from ..errors import AudiodlError
    from .common import batch_settings
    settings = batch_settings()
    try:
        from ..distributed import run_batch
        report = run_batch(task, inputs, output, address=address, model=model, method=method,
                           fmt=fmt, backend=backend, params=_parse_sets(sets),
                           num_workers=num_workers, num_cpus=num_cpus, num_gpus=num_gpus,
                           batch_size=batch_size, max_retries=max_retries,
                           overwrite=settings.overwrite, shard=settings.shard)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    for path, reason in report.failed:
        click.echo(f"audiodl: error: {reason if path in reason else f'{path}: {reason}'}",
                   err=True)
    n = len(report.done) + len(report.failed)
    click.echo(f"audiodl batch {task}: {len(report.done)} done, {len(report.skipped)} already "
               f"done, {len(report.failed)} failed; {n} in {report.seconds:.1f} s "
               f"({report.files_per_second:.2f} files/s on {report.workers} workers)", err=True)
    if report.manifest:
        click.echo(f"audiodl: failures and reasons listed in {report.manifest}", err=True)
        sys.exit(1)
