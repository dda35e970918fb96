"""``audiodl models``: list the shipped models as a table, or show one card."""

from __future__ import annotations

import json
import os

import click


def _row(name: str) -> dict:
    from .. import pretrained
    c = pretrained.card(name)
    size = os.path.getsize(pretrained.WEIGHTS_DIR / c.weights)
    try:
        from ..pretrained.weights import read_state_dict
        params = sum(int(v.size) for k, v in read_state_dict(
            pretrained.WEIGHTS_DIR / c.weights).items()
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked",
                               "mean", "std")))
    except Exception:  # pragma: no cover - unreadable weights are reported elsewhere
        params = None
    fe = c.frontend
    front = (f"{fe.sr / 1000:g} kHz, {fe.n_bins} {fe.filterbank} bands, "
             f"{fe.fps:.4g} fps" + (f", {len(fe.n_ffts)} res." if fe.is_multires else ""))
    return {"name": name, "task": c.task, "default": c.default, "size_mb": size / 2 ** 20,
            "parameters": params, "frontend": front, "test_score": c.headline_score(),
            "description": c.description}


@click.command()
@click.argument("name", required=False)
@click.option("--task", default=None, help="Only models of this task.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(name, task, as_json):
    """List the shipped models as a table, or print the full card of NAME."""
    from .. import pretrained
    from ..errors import AudiodlError

    try:
        if name:
            click.echo(pretrained.card(name).to_json(), nl=False)
            return
        rows = [_row(n) for n in pretrained.list_models(task)]
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    head = ("name", "task", "default", "size", "params", "front end", "test score")
    table = [head] + [(r["name"], r["task"], "yes" if r["default"] else "",
                       f"{r['size_mb']:.2f} MB",
                       f"{r['parameters'] / 1000:.0f} k" if r["parameters"] else "?",
                       r["frontend"], r["test_score"]) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
