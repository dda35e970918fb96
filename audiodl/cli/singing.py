"""``audiodl singing``: singing-voice detection.

Prints ``start<TAB>end<TAB>singing`` segments per file (MIREX), or Audacity
labels, CSV, JSON, JAMS. Batch conventions (``-o``, ``-j``, ``-``,
``--save-activations``, ``--plot``): :mod:`audiodl.cli.common`.
"""

from __future__ import annotations

import click

from .common import run_task
from .options import task_options

FORMATS = ("mirex", "audacity", "csv", "json", "jams")


@click.command()
@task_options(FORMATS, "mirex", backends=("auto", "onnx", "onnx-int8", "torch"))
@click.option("--threshold", type=float, default=None,
              help="Decision threshold in [0, 1] on the median-filtered singing probability "
                   "(default: tuned on validation, see the card).")
@click.option("--method", type=click.Choice(["threshold", "hysteresis", "viterbi"]),
              default=None, help="Decision method (default: the card's).")
@click.option("--median", type=float, default=None, help="Median filter length [s].")
@click.option("--min-duration", type=float, default=None,
              help="Drop singing segments shorter than this [s].")
@click.option("--min-gap", type=float, default=None,
              help="Close gaps between singing segments shorter than this [s].")
def singing(files, output, fmt, jobs, model, backend, save_activations, load_activations,
            plot, threshold, method, median, min_duration, min_gap):
    """Where a voice sings in FILES (speech over music is not singing).

    Writes start, end and the label 'singing' per segment: to stdout or -o
    FILE for one input, one <name>.singing.txt (or .csv, .json, ...) per
    input in -o DIR for several; '-' reads a WAV stream from stdin.
    """
    from ..errors import AudiodlError
    from ..tasks.singing import SingingDetector
    params = {"threshold": threshold, "method": method, "median": median,
              "min_duration": min_duration, "min_gap": min_gap}
    try:
        pipe = SingingDetector.from_pretrained(model, backend=backend)
        pipe.params(**params)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params=params, desc="singing")
