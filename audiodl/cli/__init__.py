"""The ``audiodl`` command line (click); subcommands import lazily."""
