"""``audiodl features``: compute a front end and save it as .npy."""

from __future__ import annotations

import os

import click

from .common import (atomic_path, batch_settings, check_collisions, expand_inputs, finish,
                     output_path_for, plan_batch, report_failures, run_batch)
from .options import batch_options


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("-p", "--preset", "preset_name", default="librosa", show_default=True,
              help="Front-end preset (see --list-presets).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a FrontendConfig field (repeatable), e.g. --set n_mels=64.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output .npy (one input) or directory (several inputs).")
@click.option("--plot", type=click.Path(), default=None,
              help="Also draw the spectrogram to this PNG (one input) or directory.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--list-presets", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, _, v: _list_presets(ctx, v), help="List presets and exit.")
@batch_options
def features(files, preset_name, overrides, output, plot, jobs):
    """Compute the spectrogram of FILES (frames x bins, float32 .npy).

    Multi-resolution presets give channels x frames x bins.
    """
    import numpy as np

    from ..errors import AudiodlError
    from ..features import Frontend, preset

    try:
        config = preset(preset_name).with_overrides(overrides)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    fe = Frontend(config)
    files = expand_inputs(files)
    if len(files) > 1 and output is None:
        raise click.UsageError("several inputs: pass -o DIR")
    single = len(files) == 1 and output is not None and not os.path.isdir(output)
    outdir = None if single else (output or ".")
    if outdir is not None:
        check_collisions(files, outdir, ".npy")

    def dest_of(path):
        return output if single else output_path_for(path, outdir, ".npy")

    def plot_of(path):
        return plot if len(files) == 1 and plot.endswith(".png") else \
            output_path_for(path, plot, ".png")

    def outputs_of(path):
        return [dest_of(path)] + ([plot_of(path)] if plot else [])

    settings = batch_settings()
    files, skipped = plan_batch(files, None if single else outputs_of, settings, outdir=outdir)

    def compute(path):
        from ..errors import AudioError
        from ..io.audio import load
        y, _ = load(path, config.sr)
        try:
            feats = fe(y)
        except AudiodlError as exc:  # e.g. nothing left after resampling a tiny file
            raise AudioError(path, str(exc)) from None
        if plot:
            from ..plotting import plot_spectrogram
            with atomic_path(plot_of(path)) as tmp:
                plot_spectrogram(feats, config, tmp, title=os.path.basename(path))
        with atomic_path(dest_of(path)) as tmp:  # last: marks the input as done
            np.save(tmp, feats)
        return feats.shape

    results = run_batch(files, compute, jobs=jobs, desc="features")
    for path, shape, err in results:
        if err is None:
            click.echo(f"{path}\t{dest_of(path)}\t{'x'.join(map(str, shape))}")
    if outdir is not None:
        report_failures(results, outdir, command="audiodl features", n_skipped=len(skipped),
                        settings=settings)
    finish(results)


def _list_presets(ctx, value):
    if not value or ctx.resilient_parsing:
        return
    from ..features import PRESETS
    for name, cfg in sorted(PRESETS.items()):
        click.echo(f"{name}\t{cfg.sr} Hz\tn_fft={cfg.n_fft}\thop={cfg.hop_length}\t"
                   f"{cfg.filterbank}/{cfg.n_mels}\tlog={cfg.log}")
    ctx.exit()
