"""Shared helpers for the front-end tests: deterministic test signals."""

import numpy as np
import pytest


def make_signal(n: int, sr: int, seed: int = 0) -> np.ndarray:
    """Broadband test signal [shape=(n,)], float64: noise + a tone + a chirp.

    Broadband on purpose: every band carries energy well above ``amin``, so
    float32-vs-float64 differences are measured where they mean something
    (in a band ~100 dB below the frame's loudest bin a float32 FFT has no
    significant digits left, whatever the implementation).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return (0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 440.0 * t)
            + 0.2 * np.sin(2 * np.pi * (100.0 + 0.1 * sr * t) * t))


@pytest.fixture
def signal():
    return make_signal
