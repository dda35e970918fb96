"""``audiodl segment``: music structure (labelled sections) of audio files.

Prints ``start<TAB>end<TAB>label`` per section (MIREX ``.lab``; labels
``A``, ``B`` ... mark repeats), or CSV, JSON, JAMS ``segment_open``. Batch
conventions: :mod:`audiodl.cli.common`.
"""

from __future__ import annotations

import click

from .common import run_task
from .options import task_options

FORMATS = ("mirex", "csv", "json", "jams")

#: structure-decoding parameter -> help (seconds)
DECODING = {
    "threshold": "Boundary threshold above the moving average, curve in [0, 1] (default: "
                 "tuned on validation).",
    "smooth": "Smoothing window of the boundary curve [s].",
    "pre_max": "Past context of the local-maximum test [s].",
    "post_max": "Future context (look-ahead) of the local-maximum test [s].",
    "pre_avg": "Past context of the moving average [s].",
    "post_avg": "Future context of the moving average [s].",
    "min_segment": "Shortest section; closer boundaries are merged [s].",
    "label_threshold": "Segment distance (0-2) below which sections share a label.",
    "repeat_split": "Split a segment that starts or ends with a copy of another segment when "
                    "their frames match this well (cosine, 0-1; 0: off).",
    "half_split": "Split in the middle a segment this many times the song's median segment "
                  "length whose halves match (0: off).",
}


def decoding_options(f):
    """``--threshold``, ``--pre-max``, ... (validated by the decoder)."""
    for name in reversed(list(DECODING)):
        f = click.option("--" + name.replace("_", "-"), name, type=float, default=None,
                         help=DECODING[name])(f)
    return f


@click.command()
@task_options(FORMATS, "mirex", backends=("auto", "onnx", "torch"))
@click.option("--method", type=click.Choice(["cnn", "foote", "sf"]), default="cnn",
              show_default=True, help="cnn: the shipped boundary CNN; foote: checkerboard "
                                      "novelty; sf: structural features (no model).")
@decoding_options
def segment(files, output, fmt, jobs, model, backend, save_activations, load_activations,
            plot, method, **decoding):
    """Sections of each of FILES with repeat labels (A, B, A, ...).

    Writes start, end and label per section: to stdout or -o FILE for one
    input, one file per input (.lab, .csv, .json or .jams) in -o DIR for
    several. --plot draws the spectrogram, self-similarity matrix, boundary
    curve and labelled sections.
    """
    from ..errors import AudiodlError
    from ..tasks.structure import segmenter
    try:
        pipe = segmenter(method, model=model, backend=backend)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        pipe.params(**decoding)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params=decoding, desc="segment")
