"""``audiodl index``: build, extend, search and describe a similarity index.

::

    audiodl index build PATHS... -o INDEX [-j N] [--kind flat|mih|ivf] [-m MODEL] [--windows 10]
    audiodl index add INDEX PATHS... [-j N]
    audiodl index query INDEX FILE... [-k 10] [--format text|json] [--excerpt]
    audiodl index info INDEX
    audiodl index codes FILES...            # the codes themselves (task command)

Directories are searched recursively for audio files. ``build`` resumes an
interrupted build of the same INDEX (files already in it are skipped; the
index is saved every 30 s). Unreadable files are skipped and reported on
stderr; the index is still written and the exit status is 1.
"""

from __future__ import annotations

import json
import sys

import click

from .common import run_task
from .options import task_options

CODE_FORMATS = ("text", "json")


def _fail(exc):
    raise click.ClickException(str(exc)) from None


def _report(report) -> None:
    for path, reason in report.failed:
        click.echo(f"audiodl: skipped {reason}" if reason.startswith(path)
                   else f"audiodl: skipped {path}: {reason}", err=True)
    click.echo(f"audiodl index: {len(report.added)} added, {len(report.skipped)} already "
               f"indexed, {len(report.failed)} failed", err=True)


@click.group("index")
def index():
    """Similarity search over audio files: binary codes in a faiss index."""


@index.command("build")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True,
              help="Index folder (created; an existing index there is resumed).")
@click.option("-m", "--model", default=None,
              help="Similarity model name or card .json (default: the task's default).")
@click.option("--kind", type=click.Choice(["flat", "mih", "ivf"]), default="flat",
              show_default=True,
              help="faiss engine: flat Hamming scan, multi-index hashing, or IVF.")
@click.option("--candidates", type=click.IntRange(1), default=100, show_default=True,
              help="Hamming candidates re-ranked by the exact measure per query (stored "
                   "as the index's default).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker threads computing codes.")
@click.option("--backend", type=click.Choice(["auto", "onnx", "torch"]), default="auto",
              show_default=True, help="Inference backend of the encoder.")
@click.option("--save-every", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds between saves of an unfinished build (what a killed build "
                   "keeps; 0: after every file).")
@click.option("--windows", type=click.FloatRange(0, min_open=True), default=None,
              help="Also keep embeddings of windows of this many seconds of every file, for "
                   "query --excerpt (finding edited excerpts; 10 was chosen on validation "
                   "excerpts of real music). About 100 bytes per second of audio.")
@click.option("--window-hop", type=click.FloatRange(0, min_open=True), default=None,
              help="Step of the windows [s] (default: a quarter of --windows).")
def build(paths, output, model, kind, candidates, jobs, backend, save_every, windows,
          window_hop):
    """Index the audio files in PATHS (directories recursively) into OUTPUT."""
    from ..errors import AudiodlError
    from ..index import Index
    try:
        ix = Index.build(paths, model=model, kind=kind, candidates=candidates, jobs=jobs,
                         progress=True, output=output, backend=backend,
                         save_every=save_every, windows=windows, window_hop=window_hop)
    except AudiodlError as exc:
        _fail(exc)
    _report(ix.last_report)
    click.echo(f"{output}: {len(ix)} items", err=True)
    if ix.last_report.failed:
        sys.exit(1)


@index.command("add")
@click.argument("index_dir", metavar="INDEX", type=click.Path(exists=True, file_okay=False))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker threads computing codes.")
def add(index_dir, paths, jobs):
    """Add the audio files in PATHS to INDEX (files already in it are skipped)."""
    from ..errors import AudiodlError
    from ..index import Index
    try:
        ix = Index.load(index_dir)
        report = ix.add(paths, jobs=jobs, progress=True, save_to=index_dir)
        ix.save(index_dir)
    except AudiodlError as exc:
        _fail(exc)
    _report(report)
    if report.failed:
        sys.exit(1)


@index.command("query")
@click.argument("index_dir", metavar="INDEX", type=click.Path(exists=True, file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-k", type=click.IntRange(1), default=10, show_default=True,
              help="Results per query.")
@click.option("--candidates", type=click.IntRange(1), default=None,
              help="Hamming candidates re-ranked by the exact measure (default: the index's).")
@click.option("--no-rerank", is_flag=True, help="Rank by Hamming distance only.")
@click.option("--nflip", type=click.IntRange(0), default=2, show_default=True,
              help="mih indexes: bits flipped per substring lookup.")
@click.option("--nprobe", type=click.IntRange(1), default=8, show_default=True,
              help="ivf indexes: cells scanned per query.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: rank<TAB>path<TAB>score lines; json: a list.")
@click.option("--excerpt", is_flag=True,
              help="Excerpt search: score each item by its best window (an index built with "
                   "--windows; a full scan of the windows).")
def query(index_dir, files, k, candidates, no_rerank, nflip, nprobe, fmt, excerpt):
    """The K items of INDEX most similar to each FILE.

    Scores are the exact measure (cosine similarity of embeddings, 1 =
    identical) after re-ranking, else 1 - Hamming distance / bits; with
    --excerpt, the exact measure of each item's best window.
    """
    from ..errors import AudiodlError
    from ..index import Index
    try:
        ix = Index.load(index_dir)
    except AudiodlError as exc:
        _fail(exc)
    out, failed = [], 0
    for f in files:
        try:
            hits = ix.query(f, k=k, candidates=candidates, rerank=not no_rerank, nflip=nflip,
                            nprobe=nprobe, excerpt=excerpt)
        except AudiodlError as exc:
            click.echo(f"audiodl: error: {exc}", err=True)
            failed += 1
            continue
        out.append((f, hits))
    if fmt == "json":
        doc = [{"query": f, "results": [h.to_dict() for h in hits]} for f, hits in out]
        click.echo(json.dumps(doc[0] if len(files) == 1 and doc else doc, indent=1))
    else:
        for f, hits in out:
            if len(files) > 1:
                click.echo(f"# {f}")
            for h in hits:
                click.echo(f"{h.rank}\t{h.path}\t{h.score:.6f}")
    if failed:
        sys.exit(1)


@index.command("info")
@click.argument("index_dir", metavar="INDEX", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info(index_dir, as_json):
    """Describe INDEX: items, engine, code length, model, front end, size."""
    from ..errors import AudiodlError
    from ..index import Index
    try:
        summary = Index.load(index_dir).info()
    except AudiodlError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    fe = summary.pop("frontend")
    for key, val in summary.items():
        click.echo(f"{key}: {val}")
    click.echo(f"frontend: {fe['filterbank']} {fe['n_mels']} bands/octave, sr {fe['sr']} Hz, "
               f"hop {fe['hop_length']}")


@index.command("codes")
@task_options(CODE_FORMATS, "text", backends=("auto", "onnx", "torch"),
              output_help="Write the codes table to this file (default: stdout), or one "
                          "file per input into an existing directory.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Bit decision threshold of the pooled probabilities.")
def codes(files, output, fmt, jobs, model, backend, save_activations, load_activations, plot,
          threshold):
    """Binary codes of FILES (path<TAB>hex code, or JSON with the embeddings)."""
    from ..errors import AudiodlError
    from ..tasks.similarity import SimilarityPipeline
    try:
        pipe = SimilarityPipeline.from_pretrained(model, backend=backend)
    except AudiodlError as exc:
        _fail(exc)
    run_task(pipe, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params={"threshold": threshold},
             desc="codes")
