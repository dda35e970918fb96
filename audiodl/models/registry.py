"""Model registry: architecture name -> ``nn.Module`` class.

Modules register themselves with :func:`register`; :func:`build` constructs
by name with explicit keyword arguments (unknown ones are an error).
"""

from __future__ import annotations

import importlib
import inspect

from ..errors import ModelError

__all__ = ["register", "build", "get", "names"]

_REGISTRY = {}

#: modules imported on first lookup so their classes register themselves
_MODULES = ("audiodl.models.musicspeech", "audiodl.models.onsets", "audiodl.models.singing", "audiodl.models.asr", "audiodl.models.structure", "audiodl.models.similarity")


def register(name: str):
    """Class decorator: make ``cls`` buildable as ``name``."""
    def deco(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ModelError(f"model name {name!r} registered twice")
        _REGISTRY[name] = cls
        cls.arch_name = name
        return cls
    return deco


def _load_all():
    for mod in _MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def names() -> list:
    _load_all()
    return sorted(_REGISTRY)


def get(name: str):
    """The class registered as ``name``."""
    if name not in _REGISTRY:
        _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown architecture {name!r}; known: {', '.join(names())}") from None


def build(name: str, args: dict | None = None):
    """Instantiate architecture ``name`` with keyword ``args`` (validated)."""
    cls = get(name)
    args = dict(args or {})
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in args if k not in params]
    if unknown:
        raise ModelError(f"{name}: unknown arguments {unknown}; accepted: "
                         f"{[p for p in params if p != 'self']}")
    return cls(**args)
