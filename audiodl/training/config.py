"""Flat, typed training configs: TOML files plus ``--set key=value`` overrides.

A config is a dataclass (every task's spec config extends
:class:`~audiodl.training.trainer.TrainConfig`). Values are checked against
the field types; unknown keys are an error, never silently dropped.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``list`` (of
str, int or float) and ``Optional`` of these. On the command line a list is
comma-separated (``--set extra_corpora=a.jsonl,b.jsonl``; empty: ``--set
extra_corpora=``), ``none``/``null`` sets an optional field to None, and a
dict-like string field (``arch_args``) is JSON.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing

from ..errors import ParameterError

__all__ = ["load_config", "apply_overrides", "config_dict"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _field_types(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unwrap_optional(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(key, tp, value, *, from_text: bool):
    """``value`` (TOML value or command-line text) as type ``tp``."""
    base, optional = _unwrap_optional(tp)
    if value is None or (from_text and optional and str(value).lower() in ("none", "null")):
        if optional:
            return None
        raise ParameterError(f"config key {key!r} cannot be empty (None)")
    origin = typing.get_origin(base) or base
    try:
        if origin is bool:
            if isinstance(value, bool):
                return value
            if from_text and str(value).lower() in _TRUE + _FALSE:
                return str(value).lower() in _TRUE
            raise ValueError("expected true or false")
        if origin is int:
            if isinstance(value, bool) or (isinstance(value, float) and not from_text):
                raise ValueError("expected an integer")
            return int(value)
        if origin is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if origin is str:
            if not isinstance(value, str):
                raise ValueError("expected a string")
            return value
        if origin in (list, tuple):
            (item,) = typing.get_args(base) or (str,)
            if from_text and isinstance(value, str):
                value = [v for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError("expected a list")
            return [_coerce(key, item, v, from_text=from_text) for v in value]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"config key {key!r}: bad value {value!r} ({exc})") from None
    raise ParameterError(f"config key {key!r}: unsupported field type {tp!r}")


def _replace(config, changes: dict):
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"invalid config: {exc}") from None


def apply_overrides(config, items):
    """``config`` with ``key=value`` strings applied (typed by the field).

    Raises
    ------
    ParameterError
        For an unknown key (the known ones are listed), a malformed item or a
        value of the wrong type.
    """
    types = _field_types(type(config))
    changes = {}
    for item in items or ():
        k, sep, v = str(item).partition("=")
        k = k.strip()
        if not sep or k not in types:
            raise ParameterError(f"bad override {item!r}; known keys: {', '.join(sorted(types))}")
        changes[k] = _coerce(k, types[k], v.strip(), from_text=True)
    return _replace(config, changes)


def load_config(cls, path=None, overrides=()):
    """Build config class ``cls`` from a TOML file and ``key=value`` overrides.

    Parameters
    ----------
    cls : dataclass type
    path : path or None
        Flat TOML file (no tables); keys must be fields of ``cls``.
    overrides : iterable of str
        ``key=value`` strings, applied after the file.

    Returns
    -------
    instance of ``cls``
    """
    config = cls()
    if path is not None:
        from ..io.textfiles import read_text
        text = read_text(path, error=ParameterError, what="config file",
                         max_bytes=16 * 2 ** 20)
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
            raise ParameterError(f"{path}: invalid TOML ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None
        types = _field_types(cls)
        unknown = sorted(set(data) - set(types))
        if unknown:
            raise ParameterError(f"{path}: unknown config keys {unknown}; known keys: "
                                 f"{', '.join(sorted(types))}")
        try:
            config = _replace(config, {k: _coerce(k, types[k], v, from_text=False)
                                       for k, v in data.items()})
        except ParameterError as exc:
            raise ParameterError(f"{path}: {exc}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise ParameterError(f"{path}: invalid config value ({exc})") from None
    return apply_overrides(config, overrides)


def config_dict(config) -> dict:
    """The resolved config as a plain dict (for ``config.json`` and cards)."""
    return dataclasses.asdict(config)
