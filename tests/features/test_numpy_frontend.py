"""The cold-start numpy front end equals the numba kernels (and when it is used)."""

from __future__ import annotations

import numpy as np
import pytest

from audiodl import pretrained
from audiodl.features import numpy_frontend
from audiodl.features.config import PRESETS
from audiodl.features.frontend import spectrogram

CONFIGS = {f"card:{n}": pretrained.card(n).frontend for n in pretrained.list_models()}
CONFIGS.update({f"preset:{k}": v for k, v in PRESETS.items()})


def _signal(sr, seconds=3.0):
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(0)
    y = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
    return (y + 0.05 * rng.normal(size=len(t))).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_numpy_frontend_equals_kernels(name):
    cfg = CONFIGS[name]
    y = _signal(cfg.sr)
    a = numpy_frontend.spectrogram(y, cfg)
    b = spectrogram(y, cfg)  # numba
    assert a.shape == b.shape and a.dtype == np.float32
    # float32 rounding apart (log/dB values; the kernels differ as much from float64)
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-4 * scale)


def test_short_and_odd_lengths():
    cfg = CONFIGS["card:onsets_cnn"]
    for n in (1, 100, 441, 4097):
        y = _signal(cfg.sr)[:n]
        np.testing.assert_allclose(numpy_frontend.spectrogram(y, cfg), spectrogram(y, cfg),
                                   atol=2e-3)


def test_frontend_choice(monkeypatch):
    from audiodl.runtime import source
    monkeypatch.setenv("AUDIODL_FRONTEND", "numpy")
    assert source.frontend_for(10.0) is numpy_frontend.spectrogram
    monkeypatch.setenv("AUDIODL_FRONTEND", "numba")
    assert source.frontend_for(10.0) is spectrogram
    monkeypatch.setenv("AUDIODL_FRONTEND", "auto")
    monkeypatch.setattr(source, "_cold_used", [source.COLD_SECONDS])
    assert source.frontend_for(10.0) is spectrogram  # budget used: the kernels
