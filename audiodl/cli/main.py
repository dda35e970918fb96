"""Entry point of the ``audiodl`` command.

Subcommands live in their own modules and are imported only when invoked,
so ``audiodl --help`` starts instantly and never imports torch. To add a
command, add one row to :data:`COMMANDS`: name -> (module:attribute, short help).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import click

from .. import __version__

#: name -> ("module:attribute", short help shown by ``audiodl --help``)
COMMANDS = {
    "transcribe": ("audiodl.cli.asr:transcribe", "Transcribe English speech to text."),
    "classify": ("audiodl.cli.musicspeech:classify", "Classify files as music, speech or neither."),
    "detect": ("audiodl.cli.musicspeech:detect", "Music and speech activity over time."),
    "onsets": ("audiodl.cli.onsets:onsets", "Detect note onsets."),
    "singing": ("audiodl.cli.singing:singing", "Detect singing voice over time."),
    "features": ("audiodl.cli.features:features", "Compute a spectrogram front end."),
    "info": ("audiodl.cli.info:info", "Describe audio files."),
    "models": ("audiodl.cli.models:models", "List and describe the shipped models."),
    "synth": ("audiodl.cli.synth:synth", "Generate a labelled training corpus."),
    "data": ("audiodl.cli.data:data", "Import real recordings into manifests."),
    "train": ("audiodl.cli.train:train", "Train a task's model from a config."),
    "export": ("audiodl.cli.export:export", "Export a model to ONNX (ONNX Runtime inference)."),
    "ship": ("audiodl.cli.ship:ship", "Ship a trained model into the package."),
    "index": ("audiodl.cli.index:index", "Build and search a similarity index of audio files."),
    "segment": ("audiodl.cli.structure:segment", "Music structure: sections with repeat labels."),
    "batch": ("audiodl.cli.batch:batch", "Run a task over a catalogue of files on Ray."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    @staticmethod
    def _available():
        out = {}
        for name, (target, short) in COMMANDS.items():
            module = target.split(":")[0]
            if importlib.util.find_spec(module) is not None:
                out[name] = short
        return out

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None:
            return cmd
        if name not in COMMANDS:
            return None
        target = COMMANDS[name][0]
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return None
            raise
        return getattr(mod, attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, short) for name, short in sorted(self._available().items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="audiodl")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose):
    """audiodl: deep learning on audio and music.

    Music/speech classification and detection, onsets, singing voice,
    structure, similarity search and speech recognition, and the front ends,
    data, training and evaluation behind them. Run 'audiodl COMMAND --help'
    for details.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="audiodl")


if __name__ == "__main__":  # pragma: no cover
    main()
