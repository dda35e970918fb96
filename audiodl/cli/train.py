"""``audiodl train TASK --config FILE [--set key=value ...] [--data-root DIR] [--out DIR]``."""

from __future__ import annotations

import shlex
import sys

import click

from audiodl.training.specs import names as _task_names

#: options whose values are machine paths: left out of the command recorded in the card
_MACHINE_OPTIONS = ("--data-root", "--out")


def _recorded_command(argv) -> str:
    """``audiodl train ...`` as typed, without machine-specific paths."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in _MACHINE_OPTIONS:
            skip = True
            continue
        if any(a.startswith(o + "=") for o in _MACHINE_OPTIONS):
            continue
        out.append(a)
    return "audiodl " + " ".join(shlex.quote(a) for a in out)


@click.command("train")
@click.argument("task", type=click.Choice(_task_names()))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Flat TOML config (keys of the task's config).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key (repeatable; unknown keys are an error).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Root of relative corpus paths [default: $AUDIODL_DATA, else "
                   "$XDG_CACHE_HOME/audiodl/data, else ~/.cache/audiodl/data].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder [default: DATA_ROOT/runs/TASK/NAME-seedSEED]; "
                   "re-running resumes from its checkpoint.")
def train(task, config_path, overrides, data_root, out_dir):
    """Train a model for TASK and write it as card + weights in the run folder.

    Single process, or DDP under 'torchrun --nproc_per_node N -m
    audiodl.cli.main train TASK ...' (gloo on CPU). The run folder holds
    the resolved config, versions, logs, metrics.json, best.pt and
    NAME.json + NAME.safetensors; ship it with 'audiodl ship RUN/NAME.json'.
    """
    from audiodl.errors import AudiodlError
    from audiodl.training.run import run_training

    try:
        card = run_training(task, config_path=config_path, overrides=overrides,
                            data_root=data_root, out_dir=out_dir,
                            command=_recorded_command(sys.argv[1:]))
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    if card is not None:
        click.echo(str(card))
