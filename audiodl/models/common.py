"""Building blocks shared by the task models."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Standardize"]


class Standardize(nn.Module):
    """``(x - mean) / std`` with statistics kept as buffers (they travel with the weights).

    ``mean``/``std`` have shape ``shape``: ``(n_bins,)`` (per band) or
    ``(n_frames, n_bins)`` (per pixel); they start at 0/1 and are set from the
    training set with :meth:`set_stats` (std clamped to at least 1e-5).
    """

    def __init__(self, shape):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape))

    def set_stats(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape))
        std = torch.as_tensor(std, dtype=torch.float32).reshape(self.std.shape)
        self.std.copy_(torch.clamp(std, min=1e-5))

    def forward(self, x):
        return (x - self.mean) / self.std
