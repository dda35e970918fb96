"""``audiodl models``: list and describe shipped models."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("name", required=False)
@click.option("--task", default=None, help="Only models of this task.")
def models(name, task):
    """List shipped models, or print the card of NAME as JSON."""
    from .. import pretrained

    if name:
        try:
            click.echo(json.dumps(pretrained.card(name), indent=2))
        except Exception as exc:
            raise click.ClickException(str(exc)) from None
        return
    for n in pretrained.list_models(task):
        c = pretrained.card(n)
        metrics = ", ".join(f"{k}={v}" for k, v in list(c.get("metrics", {}).items())[:3])
        click.echo(f"{n}\t{c['task']}\t{c['arch']}\t{'default' if c.get('default') else ''}"
                   f"\t{metrics}")
