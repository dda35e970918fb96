"""``audiodl transcribe``: English speech to text (CTC acoustic model).

One line of text per file (``--format json``: text plus word start/end times
in seconds). Decoding: the card's tuned default, ``--greedy``, or beam search
(``--beam N``) with an ARPA LM (``--lm PATH``, ``--lm default`` for the
project LM, ``--lm none`` for none). Batch conventions: :mod:`audiodl.cli.common`.
"""

from __future__ import annotations

import click

from .common import run_task
from .options import task_options

FORMATS = ("text", "json")


@click.command()
@task_options(FORMATS, "text", backends=("auto", "onnx", "torch"))
@click.option("--greedy", is_flag=True, help="Greedy (best path) decoding, no LM.")
@click.option("--beam", "beam", type=click.IntRange(1, 10000), default=None,
              help="Beam search with this beam width.")
@click.option("--lm", "lm", default=None,
              help="ARPA n-gram LM for beam search: a path, 'default' (the project LM) or "
                   "'none' (implies beam search).")
@click.option("--lm-weight", type=float, default=None, help="LM weight (default: the card's).")
@click.option("--word-score", type=float, default=None,
              help="Score added per word (default: the card's).")
def transcribe(files, output, fmt, jobs, model, backend, save_activations, load_activations,
               plot, greedy, beam, lm, lm_weight, word_score):
    """Transcribe English speech in FILES, one line of text per file.

    Directories are searched for audio files; '-' reads a WAV stream from
    stdin. Failing files are reported on stderr, the others still complete,
    and the exit status is 1.
    """
    from ..errors import AudiodlError
    from ..tasks.asr import AsrPipeline
    if greedy and (beam is not None or lm is not None):
        raise click.UsageError("--greedy cannot be combined with --beam or --lm")
    try:
        pipe = AsrPipeline.from_pretrained(model, backend=backend)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    params = {"lm_weight": lm_weight, "word_score": word_score}
    if greedy:
        params["method"] = "greedy"
    if beam is not None or lm is not None:
        params.update(method="beam", beam_size=beam,
                      lm=None if lm is None else ("" if lm.lower() == "none" else lm))
    try:
        pipe.params(**params)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params=params, desc="transcribe")
