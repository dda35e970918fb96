"""``audiodl synth TASK -o DIR --hours H --seed S [-j N]``: generate a labelled corpus."""

from __future__ import annotations

import sys

import click

from audiodl.data.synth.runner import TASKS


@click.command("synth")
@click.argument("task", type=click.Choice(list(TASKS)))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Corpus folder (audio/, labels/, manifest.jsonl, corpus.json).")
@click.option("--hours", type=click.FloatRange(min=0.0, min_open=True), default=0.05, show_default=True,
              help="Amount of audio to generate [hours]. Corpora of whole songs round up to "
                   "whole items, at least one: structure (songs of ~100 s) and similarity "
                   "(works of ~170 s, all versions); the others are filled to within one item.")
@click.option("--seed", type=int, default=0, show_default=True, help="Corpus seed (same seed, same corpus).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes.")
@click.option("--sr", type=click.IntRange(8000, 96000), default=None,
              help="Sampling rate [Hz]; default the task's (22050 or 44100).")
@click.option("--keep-stems", is_flag=True, help="Also save the separate sources of mixtures.")
@click.option("--texts", "texts_file", type=click.Path(dir_okay=False), default=None,
              help="speech only: a UTF-8 file of sentences, one per line, spoken instead of "
                   "the built-in text grammar (each item draws one).")
def synth(task, out_dir, hours, seed, jobs, sr, keep_stems, texts_file):
    """Generate a synthetic TASK corpus with exact labels into DIR.

    Deterministic from --seed; resumable (finished items are skipped, and a
    larger --hours extends the same corpus); a progress bar is shown when
    stderr is a terminal. A task whose synthesis engine is not installed is
    skipped with a message (exit status 3).
    """
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import generate_corpus
    from audiodl.errors import AudiodlError

    try:
        texts = None
        if texts_file is not None:
            from audiodl.errors import ParameterError
            from audiodl.io.textfiles import read_text
            texts = read_text(texts_file, error=ParameterError, what="texts file").splitlines()
        manifest = generate_corpus(task, out_dir, hours=hours, seed=seed, jobs=jobs, sr=sr,
                                   keep_stems=keep_stems, texts=texts)
    except EngineUnavailable as exc:
        click.echo(f"audiodl synth {task}: skipped, {exc}", err=True)
        sys.exit(3)
    except AudiodlError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        from audiodl.data.manifest import read_manifest
        got = sum(float(it.get("duration", 0.0)) for it in read_manifest(manifest))
        click.echo(f"audiodl synth {task}: {got / 3600:.3f} h of audio (asked for {hours:g} h)",
                   err=True)
    except Exception:  # the summary is informative only; the manifest is what counts
        pass
    click.echo(str(manifest))
