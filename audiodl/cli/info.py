"""``audiodl info``: describe audio files."""

from __future__ import annotations

import json

import click

from .common import expand_inputs, finish, run_batch


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def info(files, as_json):
    """Print sampling rate, channels, duration and format of FILES."""
    from ..io.audio import info as audio_info

    results = run_batch(expand_inputs(files), audio_info)
    for path, meta, err in results:
        if err is not None:
            continue
        if as_json:
            click.echo(json.dumps({"path": path, **meta}))
        else:
            click.echo(f"{path}\t{meta['sr']} Hz\t{meta['channels']} ch\t"
                       f"{meta['duration']:.3f} s\t{meta['format']}/{meta['subtype']}")
    finish(results)
