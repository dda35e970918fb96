"""Where corpora, run folders and feature caches live on this machine.

Nothing in audiodl, its recipes or benchmarks hard-codes a machine's folder:
the data root comes, in this order, from

1. an explicit argument (``--data-root DIR`` on the command line),
2. the ``AUDIODL_DATA`` environment setting,
3. ``$XDG_CACHE_HOME/audiodl/data``, else ``~/.cache/audiodl/data``.

Relative paths in training configs (corpus manifests) are relative to the
data root; training runs go to ``DATA_ROOT/runs/<task>/<name>`` unless
``--out`` says otherwise. Feature caches use :func:`cache_root`
(``$AUDIODL_CACHE``, else ``$XDG_CACHE_HOME/audiodl``, else ``~/.cache/audiodl``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["data_root", "cache_root", "resolve_data_path", "runs_dir"]

#: environment setting naming the data root
DATA_ENV = "AUDIODL_DATA"


def cache_root() -> Path:
    """The user cache folder of audiodl.

    ``$AUDIODL_CACHE``, else ``$XDG_CACHE_HOME/audiodl``, else ``~/.cache/audiodl``
    (one rule, shared with numba's kernel cache: :func:`audiodl.jitcache.user_cache_root`).
    """
    from ..jitcache import user_cache_root
    return user_cache_root()


def data_root(explicit: Optional[os.PathLike] = None) -> Path:
    """The folder holding corpora and training runs.

    Parameters
    ----------
    explicit : path or None
        ``--data-root``; wins over the environment.

    Returns
    -------
    Path
        ``explicit``, else ``$AUDIODL_DATA``, else ``$XDG_CACHE_HOME/audiodl/data``
        (``~/.cache/audiodl/data`` when ``XDG_CACHE_HOME`` is unset). Absolute;
        not created.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "audiodl" / "data").resolve()


def resolve_data_path(path: os.PathLike, root: Optional[os.PathLike] = None) -> Path:
    """``path`` if absolute (``~`` expanded), else ``data_root(root) / path``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else data_root(root) / p


def runs_dir(task: str, root: Optional[os.PathLike] = None) -> Path:
    """Default parent folder of training runs of ``task``: ``DATA_ROOT/runs/<task>``."""
    return data_root(root) / "runs" / task
