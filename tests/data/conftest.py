"""Fixtures and skips shared by the data tests."""

from __future__ import annotations

import pytest


def require_engines(task):
    """Skip (with the reason) when the synthesis engines of ``task`` are missing."""
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import task_module

    try:
        task_module(task).check()
    except EngineUnavailable as exc:
        pytest.skip(f"{task} engines missing: {exc}")
