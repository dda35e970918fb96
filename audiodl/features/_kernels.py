"""Fused numba kernels (placeholder: delegates to the numpy reference until the
fused kernel lands)."""

from __future__ import annotations

import numpy as np

from .reference import reference_spectrogram


def spectrogram(y, config):
    if y.ndim == 2:
        return np.stack([reference_spectrogram(r, config) for r in y]).astype(np.float32)
    return reference_spectrogram(y, config).astype(np.float32)
