"""``audiodl classify`` and ``audiodl detect``: music/speech discrimination.

classify: one line per file, ``path<TAB>label<TAB>probability`` (or JSON / CSV).
detect: ``start<TAB>end<TAB>label`` segments per file (MIREX 2018), or
Audacity labels, CSV, JSON, JAMS. Batch conventions: :mod:`audiodl.cli.common`.
"""

from __future__ import annotations

import click

from .common import run_task
from .options import segment_options, task_options

CLASSIFY_FORMATS = ("text", "json", "csv")
DETECT_FORMATS = ("mirex", "audacity", "csv", "json", "jams")


def _load(cls, model, backend):
    from ..errors import AudiodlError
    try:
        return cls.from_pretrained(model, backend=backend)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@task_options(CLASSIFY_FORMATS, "text",
              output_help="Write the results table to this file (default: stdout), or one "
                          "file per input into an existing directory.")
def classify(files, output, fmt, jobs, model, backend, save_activations, load_activations,
             plot):
    """Classify each of FILES as music, speech or neither (MIREX 2015 task).

    Prints path, label and probability per file. The label neither means no
    music or speech (silence, noise, tones, environmental sound); frame models
    (detectors whose card has a tuned neither gate) give it, excerpt models
    such as musicspeech_cnn answer only music or speech. Directories are searched
    for audio files; '-' reads a WAV stream from stdin. Failing files are
    reported on stderr, the others still complete, and the exit status is 1.
    """
    from ..tasks.musicspeech import MusicSpeechClassifier
    pipe = _load(MusicSpeechClassifier, model, backend)
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, desc="classify")


@click.command()
@task_options(DETECT_FORMATS, "mirex", backends=("auto", "onnx", "torch"))
@segment_options
def detect(files, output, fmt, jobs, model, backend, save_activations, load_activations, plot,
           threshold_music, threshold_speech, method, median, min_duration, min_gap):
    """Music and speech activity over time in FILES (MIREX 2018 task).

    Writes start, end and label per segment (labels music and speech, which
    may overlap; stretches of neither, such as silence, noise or tones, are
    gaps): to stdout or -o FILE for one input, one file per input in
    -o DIR for several.
    """
    from ..errors import AudiodlError
    from ..tasks.musicspeech import MusicSpeechDetector
    pipe = _load(MusicSpeechDetector, model, backend)
    params = {"method": method, "median": median, "min_duration": min_duration,
              "min_gap": min_gap}
    if threshold_music is not None or threshold_speech is not None:
        thr = pipe.default_params.threshold
        thr = list(thr) if isinstance(thr, tuple) else [thr] * len(pipe.labels)
        idx = {lab: i for i, lab in enumerate(pipe.labels)}
        for lab, v in (("music", threshold_music), ("speech", threshold_speech)):
            if v is not None:
                thr[idx[lab]] = v
        params["threshold"] = tuple(thr)
    try:
        chosen = pipe.params(**params)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    if "threshold" in params and chosen.method == "viterbi":
        click.echo("audiodl: note: thresholds are ignored by --method viterbi", err=True)
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params=params, desc="detect")
