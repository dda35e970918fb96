"""Options declared once and shared by every task command.

``task_options(TaskClass)`` adds FILES (``-`` reads audio from stdin), ``-o``,
``--format`` (the task's formats), ``-j``, ``-m/--model``, ``--backend``, ``--threads``,
``--save-activations``, ``--load-activations`` and ``--plot``. Decoder
option groups (:func:`peak_picking_options`, :func:`segment_options`) are
declared here too, so that every command spells them the same way.
"""

from __future__ import annotations

import click

__all__ = ["task_options", "peak_picking_options", "segment_options", "PEAK_PICKING"]

#: peak-picking parameters (seconds) -> help
PEAK_PICKING = {
    "threshold": "Peak-picking threshold (default: tuned on validation, see the card).",
    "smooth": "Smoothing window [s].",
    "pre_max": "Past context of the local-maximum test [s].",
    "post_max": "Future context of the local-maximum test [s].",
    "pre_avg": "Past context of the moving average [s].",
    "post_avg": "Future context of the moving average [s].",
    "combine": "Report one onset within this many seconds.",
    "delay": "Shift all onsets by this many seconds.",
}


def _set_threads(ctx, param, value):
    """``--threads N``: ONNX Runtime intra-op threads, passed on as ``AUDIODL_THREADS``."""
    if value is not None:
        import os
        os.environ["AUDIODL_THREADS"] = str(value)
    return value


def task_options(formats, default: str, *, backends=("auto", "onnx", "torch", "numpy"),
                 output_help: str = "Output file (one input) or directory (one output per "
                                    "input)."):
    """Decorator with the options every task command shares."""
    def deco(f):
        opts = [
            click.argument("files", nargs=-1, required=True, type=click.Path()),
            click.option("-o", "--output", type=click.Path(), default=None, help=output_help),
            click.option("--format", "fmt", type=click.Choice(list(formats)), default=default,
                         show_default=True, help="Output format."),
            click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1,
                         show_default=True,
                         help="Worker threads (the model is loaded once and shared)."),
            click.option("-m", "--model", default=None,
                         help="Shipped model name or card .json (default: the task's "
                              "default; see `audiodl models`)."),
            click.option("--backend", type=click.Choice(list(backends)), default="auto",
                         show_default=True, help="Inference backend (auto: ONNX Runtime on "
                                                 "the shipped .onnx graph, no torch import; "
                                                 "torch only when asked)."),
            click.option("--threads", type=click.IntRange(1, 256), default=None,
                         expose_value=False, callback=_set_threads, is_eager=True,
                         help="ONNX Runtime threads per model call [default: "
                              "$AUDIODL_THREADS or 1]."),
            click.option("--save-activations", type=click.Path(), default=None,
                         help="Also save the network activations (.npz file for one input, "
                              "directory for several)."),
            click.option("--load-activations", is_flag=True,
                         help="FILES are .npz activations saved earlier: only decode."),
            click.option("--plot", type=click.Path(), default=None,
                         help="Draw spectrogram, activations and results (PNG file for one "
                              "input, directory for several)."),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f
    return deco


def peak_picking_options(f):
    """``--threshold``, ``--smooth``, ... (seconds; validated by the decoder)."""
    for name in reversed(list(PEAK_PICKING)):
        f = click.option("--" + name.replace("_", "-"), name, type=float, default=None,
                         help=PEAK_PICKING[name])(f)
    return f


def segment_options(f):
    """Segment decoding overrides (validated by :class:`~audiodl.decoders.smoothing.SegmentParams`)."""
    opts = [
        click.option("--threshold-music", type=float, default=None,
                     help="Music decision threshold in [0, 1] (default: tuned on validation)."),
        click.option("--threshold-speech", type=float, default=None,
                     help="Speech decision threshold in [0, 1] (default: tuned on validation)."),
        click.option("--method", type=click.Choice(["threshold", "hysteresis", "viterbi"]),
                     default=None, help="Smoothing method (default: the card's)."),
        click.option("--median", type=float, default=None, help="Median filter length [s]."),
        click.option("--min-duration", type=float, default=None,
                     help="Drop segments shorter than this [s]."),
        click.option("--min-gap", type=float, default=None,
                     help="Close gaps shorter than this [s]."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
