"""Options declared once and shared by every task command.

``task_options(TaskClass)`` adds FILES (``-`` reads audio from stdin), ``-o``,
``--format`` (the task's formats), ``-j``, ``-m/--model``, ``--backend``, ``--threads``,
``--save-activations``, ``--load-activations``, ``--plot``, ``--overwrite``
and ``--shard`` (the last two through the click context: commands do not
name them, :func:`audiodl.cli.common.run_task` reads them). Decoder
option groups (:func:`peak_picking_options`, :func:`segment_options`) are
declared here too, so that every command spells them the same way.
"""

from __future__ import annotations

import click

__all__ = ["task_options", "batch_options", "peak_picking_options", "segment_options",
           "PEAK_PICKING"]

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
    "decay_ratio": "Decay-aware threshold: a peak must reach this fraction of the recent "
                   "maximum, which decays with --decay-time (0: off).",
    "decay_time": "Time constant of the decaying recent maximum [s].",
}


def _set_threads(ctx, param, value):
    """``--threads N``: ONNX Runtime intra-op threads, passed on as ``AUDIODL_THREADS``."""
    if value is not None:
        import os
        os.environ["AUDIODL_THREADS"] = str(value)
    return value


def _store(key):
    def callback(ctx, param, value):
        if key == "audiodl.shard" and value is not None:
            from ..errors import AudiodlError
            from ..io.outputs import parse_shard
            try:
                value = parse_shard(value)
            except AudiodlError as exc:
                raise click.BadParameter(str(exc)) from None
        ctx.meta[key] = value
        return value
    return callback


def batch_options(f):
    """``--overwrite`` and ``--shard I/N`` (read by :func:`audiodl.cli.common.batch_settings`)."""
    opts = [
        click.option("--overwrite", is_flag=True, expose_value=False,
                     callback=_store("audiodl.overwrite"),
                     help="With -o DIR: redo inputs whose outputs exist (default: skip "
                          "them, so a rerun finishes an interrupted batch)."),
        click.option("--shard", metavar="I/N", default=None, expose_value=False,
                     callback=_store("audiodl.shard"),
                     help="Process only shard I of N (0-based): every N-th input of the "
                          "sorted list from the I-th, e.g. --shard "
                          "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


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
        return batch_options(f)
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
