"""``audiodl ship CARD.json [--name N] [--replace] [--default]``: ship a trained model."""

from __future__ import annotations

import click


@click.command("ship")
@click.argument("card", type=click.Path(dir_okay=False, exists=True))
@click.option("--name", default=None, help="Name in the registry [default: the card's name].")
@click.option("--replace", is_flag=True,
              help="Overwrite a shipped model of the same name (never done otherwise).")
@click.option("--default", "make_default", is_flag=True,
              help="Make it the default model of its task.")
@click.option("--to", "directory", type=click.Path(file_okay=False), default=None,
              help="Registry folder [default: the installed package's shipped weights].")
def ship(card, name, replace, make_default, directory):
    """Copy a trained model (CARD.json + its weights) into the shipped models.

    Refuses smoke/CI models and, without --replace, an existing shipped model
    of the same name. Legacy .pt weights are converted to safetensors on the
    way (python -m audiodl.pretrained.convert DIR converts cards in place).
    Prints the path of the shipped card.
    """
    from audiodl import pretrained
    from audiodl.errors import AudiodlError

    try:
        path = pretrained.ship(card, name=name, replace=replace,
                               default=True if make_default else None, directory=directory)
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))
