"""``audiodl export MODEL [-o FILE]``: the ONNX graph of a model (for ONNX Runtime).

Without ``-o`` the graph goes next to the card (``NAME.onnx``) and its sha256
into ``onnx.sha256`` there, which is where the ONNX Runtime backend looks;
``--all`` re-exports every shipped model that way (after a weight change).
"""

from __future__ import annotations

import click


@click.command("export")
@click.argument("models", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output .onnx file (one model) [default: NAME.onnx next to its card, "
                   "recorded in onnx.sha256].")
@click.option("--all", "all_models", is_flag=True, help="Export every shipped model.")
@click.option("--opset", type=click.IntRange(13, 23), default=None,
              help="ONNX opset [default: 17].")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare ONNX Runtime with torch on random input after export.")
def export(models, output, all_models, opset, check):
    """Export MODELS (shipped names or card .json paths) to ONNX.

    The graph maps features to the model's probabilities (sigmoid, or
    log-softmax for CTC models), with dynamic batch and time axes where the
    model's layout allows them, and carries the geometry and the sha256 of
    the weights it was made from in its metadata.
    """
    from .. import pretrained
    from ..errors import AudiodlError
    from ..pretrained import onnx as ox

    if all_models:
        if models or output:
            raise click.UsageError("--all takes no MODELS and no -o")
        models = tuple(pretrained.list_models())
    if not models:
        raise click.UsageError("give MODELS or --all")
    if output is not None and len(models) != 1:
        raise click.UsageError("-o takes one model")
    for m in models:
        try:
            path = ox.export(m, output, opset=opset or ox.OPSET)
            msg = ""
            if check:
                err = ox.check_export(m, path)
                msg = f" (max |onnxruntime - torch| = {err:.2g})"
        except AudiodlError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{path}{msg}")
