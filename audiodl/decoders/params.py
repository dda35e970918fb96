"""The one base of every typed decoding-parameter set.

Decoders take frozen dataclasses of parameters in seconds
(:class:`~audiodl.decoders.peaks.PeakPickingParams`,
:class:`~audiodl.decoders.smoothing.SegmentParams`, ...). They validate
their values in ``__post_init__``; this mixin gives them the rest of the
contract :class:`audiodl.tasks.base.Pipeline` relies on: ``from_dict`` and
``replace`` reject unknown names, ``replace`` keeps a value given as None,
``to_dict`` returns plain field values.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Optional

from ..errors import ParameterError

__all__ = ["ParamSet"]


class ParamSet:
    """Mixin for frozen dataclasses of decoding parameters (set ``what`` for messages)."""

    #: name used in error messages, e.g. "peak-picking"
    what = "decoding"

    @classmethod
    def _check_names(cls, names) -> None:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(names) - known)
        if unknown:
            raise ParameterError(f"unknown {cls.what} parameters {unknown}; "
                                 f"known: {sorted(known)}")

    @classmethod
    def from_dict(cls, d: Optional[dict] = None):
        """Build from a dict (e.g. a card's ``decoder.offline``); unknown keys are an error."""
        cls._check_names(d or {})
        return cls(**(d or {}))

    def replace(self, **changes):
        """Copy with some fields changed (``None`` keeps the current value), validated."""
        self._check_names(changes)
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def _as_floats(self, *, signed=()) -> None:
        """Validate every field as a finite number, >= 0 unless named in ``signed``; store floats.

        For ``__post_init__`` of parameter sets whose fields are all numbers.
        """
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ParameterError(f"{self.what}: {f.name} must be a finite number, "
                                     f"got {v!r}")
            if f.name not in signed and v < 0:
                raise ParameterError(f"{self.what}: {f.name} must be >= 0, got {v}")
            object.__setattr__(self, f.name, float(v))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
