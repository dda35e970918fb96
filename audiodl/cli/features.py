"""``audiodl features``: compute a front end and save it as .npy."""

from __future__ import annotations

import os

import click

from .common import expand_inputs, finish, output_path_for, run_batch


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
    def compute(path):
        from ..errors import AudioError
        from ..io.audio import load
        y, _ = load(path, config.sr)
        try:
            return fe(y)
        except AudiodlError as exc:  # e.g. nothing left after resampling a tiny file
            raise AudioError(path, str(exc)) from None

    results = run_batch(files, compute, jobs=jobs, desc="features")
    for path, feats, err in results:
        if err is not None:
            continue
        if len(files) == 1 and output is not None and not os.path.isdir(output):
            dest = output
        else:
            dest = output_path_for(path, output or ".", ".npy")
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        np.save(dest, feats)
        click.echo(f"{path}\t{dest}\t{'x'.join(map(str, feats.shape))}")
        if plot:
            from ..plotting import plot_spectrogram
            pdest = plot if len(files) == 1 and plot.endswith(".png") else \
                output_path_for(path, plot, ".png")
            plot_spectrogram(feats, config, pdest, title=os.path.basename(path))
    finish(results)


def _list_presets(ctx, value):
    if not value or ctx.resilient_parsing:
        return
    from ..features import PRESETS
    for name, cfg in sorted(PRESETS.items()):
        click.echo(f"{name}\t{cfg.sr} Hz\tn_fft={cfg.n_fft}\thop={cfg.hop_length}\t"
                   f"{cfg.filterbank}/{cfg.n_mels}\tlog={cfg.log}")
    ctx.exit()
