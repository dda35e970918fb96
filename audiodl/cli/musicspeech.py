"""``audiodl classify`` and ``audiodl detect``: music/speech discrimination.

classify: one line per file, ``path<TAB>label<TAB>probability`` (or JSON / CSV).
detect: ``start<TAB>end<TAB>label`` segments per file (MIREX 2018), or
Audacity labels, CSV, JSON, JAMS.
"""

from __future__ import annotations

import csv
import io
import json
import os

import click

from .common import (expand_inputs, finish, output_options, output_path_for, run_batch,
                     write_outputs, write_text)

CLASSIFY_FORMATS = ("text", "json", "csv")
DETECT_FORMATS = ("mirex", "audacity", "csv", "json", "jams")
DETECT_SUFFIX = {"mirex": ".txt", "audacity": ".txt", "csv": ".csv", "json": ".json",
                 "jams": ".jams"}


def _activation_options(f):
    f = click.option("--load-activations", is_flag=True,
                     help="FILES are .npz activations saved by --save-activations "
                          "(decode without running the network).")(f)
    f = click.option("--save-activations", type=click.Path(), default=None,
                     help="Save the network activations (.npz file for one input, "
                          "directory for several).")(f)
    f = click.option("-m", "--model", default=None,
                     help="Shipped model name or card .json (default: the task's default; "
                          "see `audiodl models`).")(f)
    return f


def _save_activations(dest, path, act, n_files):
    if dest is None:
        return
    if n_files == 1 and dest.endswith(".npz"):
        target = dest
    else:
        os.makedirs(dest, exist_ok=True)
        target = output_path_for(path, dest, ".npz")
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    act.save(target)


def _make_process(pipe, *, load_activations, save_activations, n_files, keep=False):
    from ..types import Activations

    def process(path):
        if load_activations:
            act = Activations.load(path)
        else:
            act = pipe.activations(path, progress=n_files == 1)
            _save_activations(save_activations, path, act, n_files)
        res = pipe.decode(act)
        return (res, act) if keep else res
    return process


# --------------------------------------------------------------------------- classify
def render_classification(rows, fmt: str) -> str:
    """Format ``[(path, ClassifyResult)]`` as text, JSON or CSV."""
    if fmt == "json":
        return json.dumps([{"path": p, "label": r.label, "probability": round(r.probability, 6),
                            "probabilities": {k: round(v, 6) for k, v in
                                              r.probabilities.items()}}
                           for p, r in rows], indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "label", "probability", "p_music", "p_speech"])
        for p, r in rows:
            w.writerow([p, r.label, f"{r.probability:.6f}", f"{r.probabilities['music']:.6f}",
                        f"{r.probabilities['speech']:.6f}"])
        return buf.getvalue()
    return "".join(f"{p}\t{r.label}\t{r.probability:.4f}\n" for p, r in rows)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@output_options(CLASSIFY_FORMATS, "text",
                format_help="text: path<TAB>label<TAB>probability per line.",
                output_help="Write all results to this file (default: stdout).")
@_activation_options
@click.option("--backend", type=click.Choice(["auto", "numpy", "torch"]), default="auto",
              show_default=True,
              help="auto: excerpt CNNs run on the numpy twin (no torch import, fast start).")
def classify(files, output, fmt, jobs, model, save_activations, load_activations, backend):
    """Classify each of FILES as music or speech (MIREX 2015 task).

    Prints ``path<TAB>label<TAB>probability`` per file; directories are
    searched for audio files. Failing files are reported on stderr, the
    others still complete, and the exit status is 1.
    """
    from ..tasks.musicspeech import MusicSpeechClassifier

    files = expand_inputs(files)
    pipe = MusicSpeechClassifier.from_pretrained(model, backend=backend)
    process = _make_process(pipe, load_activations=load_activations,
                            save_activations=save_activations, n_files=len(files))
    results = run_batch(files, process, jobs=jobs, desc="classify")
    rows = [(p, r) for p, r, err in results if err is None]
    if rows:
        write_text(render_classification(rows, fmt), output)
    finish(results)


# --------------------------------------------------------------------------- detect
def render_segments(segments, fmt: str, *, path: str = "", duration=None,
                    model: str = "") -> str:
    """Format :class:`Segments` as MIREX text, Audacity labels, CSV, JSON or JAMS
    (:func:`audiodl.io.annotations.format_segments`)."""
    from .. import __version__
    from ..io.annotations import format_segments
    return format_segments(segments, fmt, duration=duration, source=path,
                           tool=f"audiodl {__version__} ({model})")


def parse_segments(text: str, fmt: str):
    """Inverse of :func:`render_segments`: ``[(start, end, label)]`` (for tests and scripts)."""
    from ..io.annotations import parse_segments as _parse
    if fmt in ("json", "jams"):
        d = json.loads(text)
        if fmt == "json":
            return [(r["start"], r["end"], r["label"]) for r in d["segments"]]
        return [(r["time"], r["time"] + r["duration"], r["value"])
                for r in d["annotations"][0]["data"]]
    seg = _parse(text)
    return [(float(s), float(e), lab) for (s, e), lab in zip(seg.intervals, seg.labels)]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@output_options(DETECT_FORMATS, "mirex",
                format_help="mirex: start<TAB>end<TAB>label (MIREX 2018).")
@_activation_options
@click.option("--threshold-music", type=click.FloatRange(0, 1), default=None,
              help="Music decision threshold (default: tuned on validation, see the card).")
@click.option("--threshold-speech", type=click.FloatRange(0, 1), default=None,
              help="Speech decision threshold (default: tuned on validation).")
@click.option("--method", type=click.Choice(["threshold", "hysteresis", "viterbi"]),
              default=None, help="Smoothing method (default: the card's).")
@click.option("--median", type=click.FloatRange(0), default=None,
              help="Median filter length in seconds.")
@click.option("--min-duration", type=click.FloatRange(0), default=None,
              help="Drop segments shorter than this (seconds).")
@click.option("--min-gap", type=click.FloatRange(0), default=None,
              help="Close gaps shorter than this (seconds).")
@click.option("--plot", type=click.Path(), default=None,
              help="Draw the spectrogram with the segments and activations (PNG for one "
                   "input, directory for several).")
def detect(files, output, fmt, jobs, model, save_activations, load_activations,
           threshold_music, threshold_speech, method, median, min_duration, min_gap, plot):
    """Music and speech activity over time in FILES (MIREX 2018 task).

    Writes ``start<TAB>end<TAB>label`` segments (labels ``music`` and
    ``speech``, which may overlap): to stdout or ``-o FILE`` for one input,
    one file per input in ``-o DIR`` for several.
    """
    from ..tasks.musicspeech import MusicSpeechDetector

    files = expand_inputs(files)
    pipe = MusicSpeechDetector.from_pretrained(model)
    overrides = {"method": method, "median": median, "min_duration": min_duration,
                 "min_gap": min_gap}
    if threshold_music is not None or threshold_speech is not None:
        thr = pipe.decoder_params.get("threshold", 0.5)
        thr = list(thr) if isinstance(thr, (list, tuple)) else [thr, thr]
        idx = {lab: i for i, lab in enumerate(pipe.labels)}
        if threshold_music is not None:
            thr[idx["music"]] = threshold_music
        if threshold_speech is not None:
            thr[idx["speech"]] = threshold_speech
        overrides["threshold"] = tuple(thr)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    pipe.decoder_params.update(overrides)
    if "threshold" in overrides and pipe.decoder_params.get("method") == "viterbi":
        click.echo("audiodl: note: thresholds are ignored by --method viterbi", err=True)
    process = _make_process(pipe, load_activations=load_activations,
                            save_activations=save_activations, n_files=len(files), keep=True)
    results = run_batch(files, process, jobs=jobs, desc="detect")
    name = pipe.card.get("name", "")

    def render(path, res):
        seg, act = res
        return render_segments(seg, fmt, path=path, duration=act.duration, model=name)

    write_outputs(results, output=output, render=render, suffix=DETECT_SUFFIX[fmt])
    if plot:
        from ..plotting import plot_spectrogram
        for path, res, err in results:
            if err is not None or load_activations:
                continue
            dest = plot if len(files) == 1 and plot.endswith(".png") else \
                output_path_for(path, plot, ".png")
            os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
            feats = pipe.features(pipe.load(path))
            plot_spectrogram(feats, pipe.config, dest, title=os.path.basename(path),
                             segments=res[0], activations=res[1])
    finish(results)
