"""Singing-voice detection network: Schlüter & Grill (ISMIR 2015), fully convolutional.

:class:`SchlueterSVD` (``"svd_schlueter"``) is the excerpt CNN of
J. Schlüter and T. Grill, "Exploring data augmentation for improved singing
voice detection with neural networks", ISMIR 2015:

    115 x 80 log-mel excerpt -> conv 64 3x3 -> conv 32 3x3 -> max-pool 3x3
    -> conv 128 3x3 -> conv 64 3x3 -> max-pool 3x3 -> dense 256 -> dense 64
    -> dense 1 (label of the centre frame); leaky ReLU, dropout 0.5.

It is written in the "dilated" fully convolutional form the authors use for
inference over long chunks: time pooling has stride 1 and every later layer
is dilated by the product of the earlier time strides, and the dense layers
are convolutions (the first spans the whole remaining time x frequency map:
11 time steps at dilation 9). One output per input frame then equals the
excerpt network applied to the 115 frames centred on that frame, computed
with shared work. Frequency pooling keeps its stride (it does not change
the time axis).

Deviation from the paper: optional batch normalisation after each
convolution (``batch_norm=True``, default), which lets the small CPU budget
of the shipped model converge; ``batch_norm=False`` is the published network.

``zero_mean=True`` is the level-invariant variant of J. Schlüter and B. Lehner,
"Zero-mean convolutions for level-invariant singing voice detection", ISMIR
2018: every kernel of the first convolution has its mean subtracted (over input
channel, time and frequency) in the forward pass, and the input is standardised
with one scale for all bands (the mean of the per-band deviations; the per-band
means are still subtracted). A gain change adds the same constant to every
log-mel bin (above the front end's floor), the first layer's responses do not
see it (its convolutions are unpadded, the time padding repeats edge frames),
so the whole network's output does not change with the recording's level.

Input ``x [shape=(batch, n_frames, n_mels)]`` log-mel frames (the
``svd_schlueter`` front end), standardised per band with training-set
statistics stored as buffers; output logits ``(batch, n_frames, 1)``
(``pad=True``: the time axis is padded by repeating the edge frames,
``receptive_field // 2`` on each side) or ``(batch, n_frames - 114, 1)``
(``pad=False``, for training windows that carry their own context).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .common import Standardize
from .registry import register

__all__ = ["SchlueterSVD", "SchlueterSVDContext"]


class ZeroMeanConv2d(nn.Conv2d):
    """A convolution whose every kernel has its mean (over input channel, time and
    frequency) subtracted in the forward pass: it does not respond to a constant offset."""

    def forward(self, x):
        return self._conv_forward(x, self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True),
                                  self.bias)


@register("svd_schlueter")
class SchlueterSVD(nn.Module):
    """Schlüter & Grill 2015 singing-voice CNN, one output per frame.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input (80).
    conv : tuple of int
        Filters of the four 3x3 convolutions (64, 32, 128, 64).
    dense : tuple of int
        Units of the two hidden dense layers (256, 64).
    pool : int
        Max-pooling size in time and frequency (3).
    n_frames : int
        Excerpt length the network sees per output [frames] (115, ~1.6 s at 70 fps).
    dropout : float
        Dropout before each dense layer (0.5).
    negative_slope : float
        Leaky ReLU slope (0.01).
    batch_norm : bool
        Batch normalisation after each convolution (not in the paper).
    zero_mean : bool
        Zero-mean first-layer kernels and one input scale for all bands: the
        output does not depend on the input level (Schlüter & Lehner 2018).

    Attributes
    ----------
    receptive_field : int [frames]
        Input frames that determine one output (= ``n_frames``).
    time_stride : int
        Input frames per output frame (1).
    """

    kind = "frames"

    def __init__(self, n_mels: int = 80, conv=(64, 32, 128, 64), dense=(256, 64),
                 pool: int = 3, n_frames: int = 115, dropout: float = 0.5,
                 negative_slope: float = 0.01, batch_norm: bool = True,
                 zero_mean: bool = False):
        super().__init__()
        self.zero_mean = bool(zero_mean)
        if len(conv) != 4 or len(dense) != 2:
            raise ValueError("svd_schlueter: conv needs 4 sizes and dense 2")
        self.n_mels, self.n_frames, self.pool = int(n_mels), int(n_frames), int(pool)
        self.time_stride = 1
        self.negative_slope = float(negative_slope)
        self.norm = Standardize(n_mels)
        p = self.pool

        def block(cin, cout, dil, layer=nn.Conv2d):
            layers = [layer(cin, cout, 3, dilation=(dil, 1), bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(self.negative_slope))
            return layers

        # (batch, channels, time, freq); time context after each layer in the comments
        self.features = nn.Sequential(
            *block(1, conv[0], 1, ZeroMeanConv2d if self.zero_mean else nn.Conv2d),
            *block(conv[0], conv[1], 1),           # 115 -> 111
            nn.MaxPool2d((p, p), stride=(1, p)),                          # -> 37 (dil 3)
            *block(conv[1], conv[2], p), *block(conv[2], conv[3], p),     # -> 33
            nn.MaxPool2d((p, p), stride=(1, p), dilation=(p, 1)),         # -> 11 (dil 9)
        )
        t, f = self.n_frames, self.n_mels
        t, f = (t - 4) // p, (f - 4) // p
        t, f = (t - 4) // p, (f - 4) // p
        if t < 1 or f < 1:
            raise ValueError(f"svd_schlueter: n_frames={n_frames}, n_mels={n_mels} too small")
        d = p * p
        self.dense = nn.Sequential(
            nn.Dropout(dropout),
            nn.Conv2d(conv[3], dense[0], (t, f), dilation=(d, 1)),
            nn.LeakyReLU(self.negative_slope),
            nn.Dropout(dropout),
            nn.Conv2d(dense[0], dense[1], 1),
            nn.LeakyReLU(self.negative_slope),
            nn.Dropout(dropout),
            nn.Conv2d(dense[1], 1, 1),
        )
        # context: 2 + 2 (convs) + (p-1) (pool) + 2p + 2p (dilated convs)
        #          + (p-1)p (dilated pool) + (t-1)p^2 (dense)
        self.receptive_field = 1 + 4 + (p - 1) + 4 * p + (p - 1) * p + (t - 1) * d
        if self.receptive_field != self.n_frames:
            raise ValueError(f"svd_schlueter: n_frames={n_frames} is not a whole excerpt of "
                             f"the pooling (nearest: {self.receptive_field})")

    def _input(self, x, pad: bool):
        if x.dim() != 3 or x.shape[-1] != self.n_mels:
            raise ValueError(f"svd_schlueter: expected log-mel frames of shape "
                             f"(batch, n_frames, {self.n_mels}), got {tuple(x.shape)}")
        if self.zero_mean:  # one scale for all bands keeps a level change a constant
            x = ((x - self.norm.mean) / self.norm.std.mean()).unsqueeze(1)
        else:
            x = self.norm(x).unsqueeze(1)  # (b, 1, t, f)
        if pad:
            h = self.receptive_field // 2
            x = F.pad(x, (0, 0, h, h), mode="replicate")
        return x

    def forward(self, x, pad: bool = True):
        x = self.dense(self.features(self._input(x, pad)))  # (b, 1, t', 1)
        return x[:, 0, :, :]  # (b, t', 1)

    def columns(self, x):
        """The logit and the last hidden layer's units per frame, without padding:
        ``x`` (batch, n_frames, n_mels) -> (batch, 1 + dense[1], n_frames - 114);
        channel 0 is the logit (the input of :class:`SchlueterSVDContext`'s head)."""
        hid = self.dense[:-1](self.features(self._input(x, False)))  # (b, dense[1], t', 1)
        return torch.cat([self.dense[-1](hid), hid], dim=1)[:, :, :, 0]


@register("svd_schlueter_ctx")
class SchlueterSVDContext(nn.Module):
    """The singing CNN with a non-causal long-context head (round 21 of the recipe).

    The CNN sees 115 frames (1.6 s). Whether a stretch of uncertain frames is singing is
    easier to tell from the song around it: a sung phrase sits among other sung phrases,
    speech over music keeps its prose rhythm for many seconds. The head is a stack of
    dilated 1-D convolutions (kernel 3, dilations 1, 2, ... ``2 ** (levels - 1)``, residual,
    ReLU) over the CNN's logit and its last hidden units (:meth:`SchlueterSVD.columns`),
    centred on each frame (``2 ** levels - 1`` frames each side: 3.6 s at 8 levels and
    70 fps); it adds a correction to the CNN's logit. Its last layer starts at zero, so an
    untrained head reproduces the CNN exactly.

    Input and output as :class:`SchlueterSVD` (``pad=True`` repeats the edge frames
    ``receptive_field // 2`` times on each side); ``receptive_field`` = the CNN's + twice
    the head's reach. The CNN's weights are ``base.*``; :meth:`init_target` loads a
    ``svd_schlueter`` card into it.

    Parameters
    ----------
    base_args : dict
        Arguments of the CNN (:class:`SchlueterSVD`).
    channels : int
        Width of the head.
    levels : int
        Dilated layers of the head.
    dropout : float
        Dropout on the head's input columns while training.
    """

    kind = "frames"

    def __init__(self, base_args: dict | None = None, channels: int = 32, levels: int = 8,
                 dropout: float = 0.2):
        super().__init__()
        if int(levels) < 1 or int(channels) < 1:
            raise ValueError("svd_schlueter_ctx: levels and channels must be >= 1")
        self.base = SchlueterSVD(**dict(base_args or {}))
        self.n_mels, self.n_frames = self.base.n_mels, self.base.n_frames
        self.time_stride = 1
        self.dilations = [2 ** k for k in range(int(levels))]
        c = int(channels)
        self.drop = nn.Dropout(float(dropout))
        self.proj = nn.Conv1d(self.base.dense[-1].in_channels + 1, c, 1)
        self.layers = nn.ModuleList([nn.Conv1d(c, c, 3, dilation=d) for d in self.dilations])
        self.out = nn.Conv1d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        #: frames of context the head adds on each side
        self.reach = sum(self.dilations)
        self.receptive_field = self.base.receptive_field + 2 * self.reach

    @property
    def norm(self):
        """The CNN's input standardisation (set from the training set)."""
        return self.base.norm

    def init_target(self, arch: str):
        """The module a card of architecture ``arch`` loads into (a CNN card: the base)."""
        return self.base if arch == "svd_schlueter" else self

    def head(self, cols):
        """Logits from :meth:`SchlueterSVD.columns` (batch, channels, n) ->
        (batch, n - 2 * reach, 1)."""
        y = self.proj(self.drop(cols))
        for d, conv in zip(self.dilations, self.layers):
            y = y[:, :, d:y.shape[2] - d] + torch.relu(conv(y))
        n = y.shape[2]
        return (cols[:, :1, self.reach:self.reach + n] + self.out(y)).transpose(1, 2)

    def forward(self, x, pad: bool = True):
        if pad:
            if x.dim() != 3 or x.shape[-1] != self.n_mels:
                raise ValueError(f"svd_schlueter_ctx: expected log-mel frames of shape "
                                 f"(batch, n_frames, {self.n_mels}), got {tuple(x.shape)}")
            h = self.receptive_field // 2
            x = F.pad(x.unsqueeze(1), (0, 0, h, h), mode="replicate")[:, 0]
        return self.head(self.base.columns(x))
