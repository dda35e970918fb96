"""Music structure boundary network (pure ``nn.Module``; torch only).

:class:`BoundaryCNN` (``"boundary_cnn"``) follows Ullrich, Schlüter & Grill
(ISMIR 2014) and Grill & Schlüter (EUSIPCO 2015) in its input and output:
log-mel frames (the ``boundaries`` front end, 43 fps) standardised per band,
max-pooled in time by ``pool`` (6: 7.2 fps), a 2-D convolution stage over
time x frequency, and one boundary logit per pooled frame seeing a long
context (about 18 s each side with the defaults: 261 pooled frames in all). Instead of the paper's
dense layer over one fixed excerpt, the context is covered by a stack of
dilated 1-D convolutions, so a whole file is one fully convolutional pass
(layout ``same``, ``time_stride = pool``) rather than one excerpt per frame.

Shapes: ``x [shape=(batch, n_frames, n_mels)]`` -> logits
``[shape=(batch, ceil(n_frames / pool), 1)]``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .common import Standardize
from .registry import register

__all__ = ["BoundaryCNN"]


@register("boundary_cnn")
class BoundaryCNN(nn.Module):
    """Boundary CNN on time-pooled log-mel frames with a long dilated context.

    Parameters
    ----------
    n_mels : int
        Bands of the input (80).
    pool : int [frames]
        Max-pooling in time at the input (6: 43 fps -> 7.2 fps); the time stride.
    channels : int
        Filters of the first convolution (the second has twice as many).
    hidden : int
        Channels of the temporal (dilated) stack.
    dilations : tuple of int
        Dilations of the kernel-3 temporal convolutions (pooled frames).
    dropout : float
    sslm_lags : int [pooled frames]
        Self-similarity lag features (Grill & Schlüter 2015): the cosine
        similarity of every pooled frame to the ``sslm_lags`` frames before
        and after it (0: none), mapped by a 1x1 convolution into the
        temporal stack.
    """

    kind = "frames"

    def __init__(self, n_mels: int = 80, pool: int = 6, channels: int = 16, hidden: int = 64,
                 dilations: tuple = (1, 2, 4, 8, 16, 32, 64), dropout: float = 0.2,
                 sslm_lags: int = 0):
        super().__init__()
        self.n_mels, self.pool = int(n_mels), int(pool)
        self.norm = Standardize(n_mels)
        c1, c2 = int(channels), 2 * int(channels)
        self.conv1 = nn.Conv2d(1, c1, (5, 7), padding=(2, 3))
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, (3, 5), padding=(1, 2))
        self.bn2 = nn.BatchNorm2d(c2)
        f = n_mels // 3 // 3
        self.proj = nn.Conv1d(c2 * f, hidden, 1)
        self.dilations = tuple(int(d) for d in dilations)
        self.tconv = nn.ModuleList([nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d)
                                    for d in self.dilations])
        self.tbn = nn.ModuleList([nn.BatchNorm1d(hidden) for _ in self.dilations])
        self.drop = nn.Dropout(dropout)
        self.out = nn.Conv1d(hidden, 1, 1)
        self.sslm_lags = int(sslm_lags)
        if self.sslm_lags:
            self.sslm = nn.Conv1d(2 * self.sslm_lags, hidden, 1)
        #: output frames per input frame
        self.time_stride = self.pool
        pooled_rf = 1 + 4 + 2 + 2 * sum(self.dilations) + 2 * self.sslm_lags
        #: input frames that influence one output (for the chunked runner)
        self.receptive_field = self.pool * pooled_rf

    def set_normalization(self, mean, std) -> None:
        """Per-band statistics of the training features."""
        self.norm.set_stats(mean, std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Boundary logits, ``(batch, ceil(n_frames / pool), 1)``."""
        x = self.norm(x).transpose(1, 2)                     # (B, mels, T)
        x = F.max_pool1d(x, self.pool, self.pool, ceil_mode=True)
        lagsim = self._lag_similarity(x) if self.sslm_lags else None
        x = x.transpose(1, 2).unsqueeze(1)                    # (B, 1, T', mels)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), (1, 3))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), (1, 3))
        b, c, t, f = x.shape
        h = self.proj(x.permute(0, 1, 3, 2).reshape(b, c * f, t))
        if lagsim is not None:
            h = h + self.sslm(lagsim)
        h = F.relu(h)
        for conv, bn in zip(self.tconv, self.tbn):
            h = h + F.relu(bn(conv(self.drop(h))))
        return self.out(self.drop(h)).transpose(1, 2)

    def _lag_similarity(self, x: torch.Tensor) -> torch.Tensor:
        """Cosine similarity to the frames ``1..L`` before and after: ``(B, 2L, T')``."""
        u = x / (torch.linalg.vector_norm(x, dim=1, keepdim=True) + 1e-6)  # (B, mels, T')
        L, t = self.sslm_lags, u.shape[-1]
        up = F.pad(u, (L, L))
        past = [(u * up[..., L - k:L - k + t]).sum(1) for k in range(1, L + 1)]
        future = [(u * up[..., L + k:L + k + t]).sum(1) for k in range(1, L + 1)]
        return torch.stack(past + future, dim=1)
