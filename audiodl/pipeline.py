"""The public face of every task: ``audiodl.Pipeline.from_pretrained(name)``.

:class:`Pipeline` (defined in :mod:`audiodl.tasks.base`) dispatches on the
model card's task and returns that task's pipeline: front end -> model ->
decoder, each stage callable on its own. :func:`from_pretrained` is the
short alias (``audiodl.from_pretrained(name)``).
"""

from __future__ import annotations

from .tasks.base import Pipeline

__all__ = ["Pipeline", "from_pretrained"]


def from_pretrained(name: str, *, backend: str = "auto", device: str = "cpu") -> Pipeline:
    """The pipeline of a shipped model (or a card path), whatever its task.

    Examples
    --------
    >>> import audiodl
    >>> pipe = audiodl.from_pretrained("onsets_cnn")           # doctest: +SKIP
    >>> pipe("song.wav").times                                 # doctest: +SKIP
    """
    return Pipeline.from_pretrained(name, backend=backend, device=device)
