"""Similarity encoder: spectrogram frames -> per-frame bit logits for semantic hashing.

:class:`SimilarityEncoder` (``"similarity_cnn"``) is fully convolutional
(layout ``same``): a 2-D conv stem over a log-frequency spectrogram (three
3x3 conv + BN + ReLU blocks, frequency max-pooling by 2 after each, time
max-pooling by 2 after the first two: output stride 4 frames), a 1x1
projection and a stack of dilated residual 1-D convolutions, then one logit
per bit and output frame. The task (:mod:`audiodl.tasks.similarity`) averages
the bit probabilities ``sigmoid(logit)`` over a track's frames: their signs
around 0.5 are the track's binary code, ``2 p - 1`` its real-valued
embedding (Schlüter, ISMIR 2013; Salakhutdinov & Hinton, semantic hashing).

Input ``x [shape=(batch, n_frames, n_bins)], float32`` (any length >= 1);
output ``(batch, ceil(n_frames / 4), n_bits)`` logits. No losses, files or
decoding here.
"""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

from .common import Standardize
from .registry import register

__all__ = ["SimilarityEncoder"]


class _Residual(nn.Module):
    def __init__(self, channels: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation,
                              bias=False)
        self.bn = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return x + self.drop(F.relu(self.bn(self.conv(x))))


@register("similarity_cnn")
class SimilarityEncoder(nn.Module):
    """Fully convolutional encoder emitting bit logits per output frame.

    Parameters
    ----------
    n_bins : int
        Frequency bins of the input (81 for the similarity front end).
    n_bits : int
        Code length (a multiple of 8, 64-256).
    channels : tuple of int
        Channels of the three 2-D conv blocks.
    width : int
        Channels of the 1-D residual stack.
    dilations : tuple of int
        One residual block (kernel 3) per dilation, in output frames.
    dropout : float

    Notes
    -----
    :attr:`time_stride` is 4 input frames per output frame;
    :attr:`receptive_field` bounds the context in input frames.
    """

    time_stride = 4

    def __init__(self, n_bins: int = 81, n_bits: int = 128, channels=(16, 32, 32),
                 width: int = 128, dilations=(1, 2, 4), dropout: float = 0.1):
        super().__init__()
        if n_bits % 8 or not 8 <= n_bits <= 1024:
            raise ValueError(f"n_bits must be a multiple of 8 in [8, 1024], got {n_bits}")
        if len(channels) != 3:
            raise ValueError(f"channels must hold three values, got {channels}")
        self.n_bins, self.n_bits = int(n_bins), int(n_bits)
        self.norm = Standardize(self.n_bins)
        layers, cin, f = [], 1, self.n_bins
        for i, c in enumerate(channels):
            layers += [nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True),
                       nn.MaxPool2d((2, 2 if i < 2 else 1), ceil_mode=True)]
            cin, f = c, (f + 1) // 2
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Conv1d(cin * f, width, 1, bias=False),
                                  nn.BatchNorm1d(width), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[_Residual(width, int(d), dropout) for d in dilations])
        self.out = nn.Conv1d(width, self.n_bits, 1)
        # stem: 3 + 1 + 2*2 + 2 + 2*4 = 18 frames; each residual block 2 * d * 4 more
        self.receptive_field = 18 + 2 * self.time_stride * sum(int(d) for d in dilations) + 4

    def forward(self, x):
        if x.dim() != 3 or x.shape[-1] != self.n_bins:
            raise ValueError(f"similarity_cnn expects (batch, n_frames, {self.n_bins}) input, "
                             f"got {tuple(x.shape)}")
        h = self.stem(self.norm(x).transpose(1, 2).unsqueeze(1))  # (b, c, f, t)
        b, c, f, t = h.shape
        h = self.blocks(self.proj(h.reshape(b, c * f, t)))
        return self.out(h).transpose(1, 2)  # (b, t', n_bits)
