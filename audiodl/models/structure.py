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

from .common import MemberMean, Standardize
from .registry import register

__all__ = ["BoundaryCNN", "BoundaryCNNEnsemble"]


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
    sslm_conv : int
        Filters of a 2-D convolution over the lag features as an image
        (lag x time, kernel ``3 x sslm_kernel``), max-pooled over all past
        lags and over all future lags (0: none). A repeat A | A starts a
        stripe at lag ``len(A)`` in the past half where the second A starts
        (and ends one in the future half there); the 1x1 path needs a weight
        per lag for that, the max over lags sees it at any lag, so section
        lengths absent from training still count.
    sslm_kernel : int [pooled frames]
        Time extent of that convolution (odd).
    sslm_lag_pool : int [lags]
        Max-pooling of the lag axis before that convolution (cost; a stripe
        keeps its start time).
    """

    kind = "frames"

    def __init__(self, n_mels: int = 80, pool: int = 6, channels: int = 16, hidden: int = 64,
                 dilations: tuple = (1, 2, 4, 8, 16, 32, 64), dropout: float = 0.2,
                 sslm_lags: int = 0, sslm_conv: int = 0, sslm_kernel: int = 9,
                 sslm_lag_pool: int = 1):
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
        self.sslm_conv, self.sslm_kernel = int(sslm_conv), int(sslm_kernel)
        self.sslm_lag_pool = int(sslm_lag_pool)
        if self.sslm_lag_pool < 1:
            raise ValueError(f"sslm_lag_pool must be >= 1, got {sslm_lag_pool}")
        if self.sslm_conv and not self.sslm_lags:
            raise ValueError("sslm_conv needs sslm_lags > 0")
        if self.sslm_kernel < 1 or self.sslm_kernel % 2 == 0:
            raise ValueError(f"sslm_kernel must be odd and >= 1, got {sslm_kernel}")
        extra = 0
        if self.sslm_conv:
            k = self.sslm_kernel
            # channels: similarity, and 1 where the lagged frame lies inside the input (the
            # zero padding beyond the edges must not look like the start of a stripe)
            self.sslm2d = nn.Conv2d(2, self.sslm_conv, (3, k), padding=(1, k // 2))
            self.sslm2d_bn = nn.BatchNorm2d(self.sslm_conv)
            self.sslm2d_proj = nn.Conv1d(2 * self.sslm_conv, hidden, 1)
            extra = k - 1
        #: output frames per input frame
        self.time_stride = self.pool
        pooled_rf = 1 + 4 + 2 + 2 * sum(self.dilations) + 2 * self.sslm_lags + extra
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
            if self.sslm_conv:
                h = h + self.sslm2d_proj(self._lag_stripes(lagsim))
        h = F.relu(h)
        for conv, bn in zip(self.tconv, self.tbn):
            h = h + F.relu(bn(conv(self.drop(h))))
        return self.out(self.drop(h)).transpose(1, 2)

    def _lag_stripes(self, lagsim: torch.Tensor) -> torch.Tensor:
        """2-D filters over (lag, time), max over the past and the future lags: ``(B, 2C, T')``."""
        L, t = self.sslm_lags, lagsim.shape[-1]
        ones = F.pad(torch.ones_like(lagsim[:1, :1]), (L, L))        # (1, 1, T' + 2L)
        inside = torch.cat([ones[..., L - k:L - k + t] for k in range(1, L + 1)]
                           + [ones[..., L + k:L + k + t] for k in range(1, L + 1)], dim=1)
        img = torch.stack([lagsim, inside.expand_as(lagsim)], dim=1)  # (B, 2, 2L, T')
        p = self.sslm_lag_pool
        if p > 1:  # past and future lags pooled apart
            img = torch.cat([F.max_pool2d(img[:, :, :L], (p, 1), ceil_mode=True),
                             F.max_pool2d(img[:, :, L:], (p, 1), ceil_mode=True)], dim=2)
        z = F.relu(self.sslm2d_bn(self.sslm2d(img)))                  # (B, C, 2L', T')
        h = z.shape[2] // 2
        return torch.cat([z[:, :, :h].amax(dim=2), z[:, :, h:].amax(dim=2)], dim=1)

    def _lag_similarity(self, x: torch.Tensor) -> torch.Tensor:
        """Cosine similarity to the frames ``1..L`` before and after: ``(B, 2L, T')``."""
        u = x / (torch.linalg.vector_norm(x, dim=1, keepdim=True) + 1e-6)  # (B, mels, T')
        L, t = self.sslm_lags, u.shape[-1]
        up = F.pad(u, (L, L))
        past = [(u * up[..., L - k:L - k + t]).sum(1) for k in range(1, L + 1)]
        future = [(u * up[..., L + k:L + k + t]).sum(1) for k in range(1, L + 1)]
        return torch.stack(past + future, dim=1)


@register("boundary_cnn_ensemble")
class BoundaryCNNEnsemble(MemberMean):
    """Several :class:`BoundaryCNN` of one architecture (e.g. training seeds), averaged.

    The output is the logit of the members' mean boundary probability, so the
    pipeline's sigmoid gives that mean (averaging probabilities, not logits).
    Every member keeps its own input standardisation and sees the same input;
    they share the receptive field and the stride.

    Parameters
    ----------
    members : int
        Number of networks (their weights: ``members.0.*``, ``members.1.*`` ...).
    member_args : dict
        :class:`BoundaryCNN` arguments, the same for every member.
    """

    kind = "frames"

    def __init__(self, members: int = 2, member_args: dict | None = None):
        super().__init__()
        first = self._make_members(BoundaryCNN, members, member_args)
        self.n_mels, self.pool = first.n_mels, first.pool
        self.time_stride, self.receptive_field = first.time_stride, first.receptive_field

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of the mean member probability, ``(batch, ceil(n_frames / pool), 1)``."""
        return self.mean_logit([m(x) for m in self.members])
