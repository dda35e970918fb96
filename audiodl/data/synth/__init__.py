"""Corpus generators with exact labels (``audiodl synth TASK``).

See :mod:`audiodl.data.synth.runner` for the protocol every task module
follows and :func:`~audiodl.data.synth.runner.generate_corpus` to run one.
"""
