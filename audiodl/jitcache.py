"""Where numba writes its cache, and the one ``jit`` decorator audiodl uses.

numba's default is a ``__pycache__`` folder next to the source file, i.e.
inside the installed package. That is wrong for an installed library: pip
does not know those files, leaves them behind when it uninstalls, and a
left-behind ``audiodl/features/__pycache__`` then shadows a later editable
install as an empty namespace package. So unless ``NUMBA_CACHE_DIR`` is set,
audiodl points numba at a user cache folder:

``$AUDIODL_CACHE/numba``, else ``$XDG_CACHE_HOME/audiodl/numba``, else
``~/.cache/audiodl/numba``.

This module imports numba only inside :func:`jit` (lazily, on first use).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["cache_dir", "jit"]

log = logging.getLogger(__name__)


def user_cache_root() -> Path:
    """``$AUDIODL_CACHE``, else ``$XDG_CACHE_HOME/audiodl``, else ``~/.cache/audiodl``."""
    if os.environ.get("AUDIODL_CACHE"):
        return Path(os.environ["AUDIODL_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "audiodl"


def cache_dir() -> str:
    """The folder numba caches compiled kernels in (``NUMBA_CACHE_DIR`` wins)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return env
    return str(user_cache_root() / "numba")


def _configure() -> None:
    """Point numba's cache at :func:`cache_dir` unless the user chose one."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        path = cache_dir()
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as err:  # read-only home: numba falls back (see jit)
            log.debug("cannot create numba cache dir %s (%s)", path, err)
            return
        # numba re-reads its settings from the environment when the environment
        # changes, so set both.
        os.environ["NUMBA_CACHE_DIR"] = path
    import numba.core.config as nconfig
    if nconfig.CACHE_DIR != os.environ["NUMBA_CACHE_DIR"]:
        nconfig.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


def jit(**options):
    """``numba.njit(cache=True, **options)`` caching outside the package.

    Falls back to compiling in memory (with a warning) when no cache folder
    can be written, e.g. a read-only install with a read-only home.
    """
    def wrap(fn):
        import numba
        _configure()
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError as err:  # "cannot cache function ...: no locator available"
            log.warning("numba cache unavailable for %s (%s); compiling in memory; "
                        "set NUMBA_CACHE_DIR to a writable directory to cache it",
                        fn.__name__, err)
            return numba.njit(cache=False, **options)(fn)
    return wrap
