"""Music/speech networks: Lidy's MIREX 2015 CNN, an improved excerpt CNN, and
a fully convolutional temporal model for detection.

All models take log-mel frames as the front end produces them,
``x [shape=(batch, n_frames, n_mels)], float32``, normalise them with
statistics stored as buffers (so a checkpoint is self-contained), and return
logits. They contain no losses, no file handling and no decoding.

* :class:`Lidy2015` (``"lidy2015"``): 40 x 80 excerpt -> Conv2D(15, 12x8)
  sigmoid -> MaxPool(2, 1) -> Dense(200, sigmoid) -> Dropout 0.5 -> Dense(1),
  per-pixel z-score. Output: one logit, ``P(speech) = sigmoid(logit)``.
  (T. Lidy, "Spectral convolutional neural network for music classification",
  MIREX 2015.)
* :class:`MusicSpeechCNN` (``"musicspeech_cnn"``): the same excerpt task with
  batch norm, ReLU, three blocks of two 3x3 convs and global pooling (fewer
  parameters, 22 thousand instead of three million).
* :class:`MusicSpeechTCN` (``"musicspeech_tcn"``): any-length input; a small
  2-D conv stem reduces frequency (and time by ``time_stride``), then a
  residual stack of dilated 1-D convolutions; two sigmoid outputs per output
  frame (music, speech activity; overlap allowed). Output fps is the input
  fps divided by :attr:`time_stride`. In the spirit of Lemaire & Holzapfel
  (ISMIR 2019), non-causal.
* :class:`MusicSpeechTCNEnsemble` (``"musicspeech_tcn_ensemble"``): several
  trained TCNs (seeds) averaged in probability, one card and one graph
  (``recipes/music_speech/ensemble.py``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .common import MemberMean, Standardize
from .registry import register

__all__ = ["Lidy2015", "MusicSpeechCNN", "MusicSpeechTCN"]


def _check_input(x, n_mels, n_frames=None, name=""):
    if x.dim() != 3 or x.shape[-1] != n_mels:
        raise ValueError(f"{name}: expected log-mel frames of shape (batch, n_frames, {n_mels}), "
                         f"got {tuple(x.shape)}")
    if n_frames is not None and x.shape[1] != n_frames:
        raise ValueError(f"{name}: expected excerpts of {n_frames} frames, got {x.shape[1]}")


@register("lidy2015")
class Lidy2015(nn.Module):
    """Lidy's MIREX 2015 music/speech CNN, as in his tutorial code.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input (40).
    n_frames : int
        Frames per excerpt (80, about 0.93 s at 86 fps).
    n_filters : int
        Convolution filters (15).
    kernel_size : tuple of int
        (frequency, time) extent of the filters (12, 8).
    pool_size : tuple of int
        (frequency, time) max-pooling (2, 1).
    n_hidden : int
        Units of the dense sigmoid layer (200).
    dropout : float
        Dropout before the output layer (0.5).

    Notes
    -----
    Input ``(batch, n_frames, n_mels)``; output ``(batch, 1)`` logits of the
    class ``speech`` (``music`` = 1 - P). Normalisation is per pixel
    (``mean``, ``std`` of shape ``(n_frames, n_mels)``, training-set statistics).
    """

    kind = "excerpt"

    def __init__(self, n_mels: int = 40, n_frames: int = 80, n_filters: int = 15,
                 kernel_size=(12, 8), pool_size=(2, 1), n_hidden: int = 200,
                 dropout: float = 0.5):
        super().__init__()
        self.n_mels, self.n_frames = n_mels, n_frames
        self.norm = Standardize((n_frames, n_mels))
        self.conv = nn.Conv2d(1, n_filters, tuple(kernel_size))
        self.pool = nn.MaxPool2d(tuple(pool_size))
        fh = (n_mels - kernel_size[0] + 1) // pool_size[0]
        fw = (n_frames - kernel_size[1] + 1) // pool_size[1]
        self.hidden = nn.Linear(n_filters * fh * fw, n_hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(n_hidden, 1)

    def forward(self, x):
        _check_input(x, self.n_mels, self.n_frames, "lidy2015")
        x = self.norm(x).transpose(1, 2).unsqueeze(1)  # (batch, 1, mels, frames)
        x = self.pool(torch.sigmoid(self.conv(x)))
        x = torch.sigmoid(self.hidden(x.flatten(1)))
        return self.out(self.dropout(x))


def _conv_bn(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@register("musicspeech_cnn")
class MusicSpeechCNN(nn.Module):
    """An improved excerpt classifier: conv blocks with batch norm and ReLU.

    Parameters
    ----------
    n_mels : int
        Mel bands (40).
    n_frames : int
        Frames per excerpt (80).
    channels : tuple of int
        Channels of the conv blocks; each block is two 3x3 convs then 2x2 max pooling.
    n_hidden : int
        Units of the dense layer after global average + max pooling.
    dropout : float

    Notes
    -----
    Input ``(batch, n_frames, n_mels)``, output ``(batch, 1)`` speech logits.
    Per-band normalisation (``mean``, ``std`` of shape ``(n_mels,)``).
    """

    kind = "excerpt"

    def __init__(self, n_mels: int = 40, n_frames: int = 80, channels=(8, 16, 32),
                 n_hidden: int = 64, dropout: float = 0.3):
        super().__init__()
        self.n_mels, self.n_frames = n_mels, n_frames
        self.norm = Standardize((n_mels,))
        blocks, cin = [], 1
        for c in channels:
            blocks += [_conv_bn(cin, c), _conv_bn(c, c), nn.MaxPool2d(2)]
            cin = c
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(2 * cin, n_hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(n_hidden, 1))

    def forward(self, x):
        _check_input(x, self.n_mels, self.n_frames, "musicspeech_cnn")
        x = self.features(self.norm(x).unsqueeze(1))
        x = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return self.head(x)


class _TemporalBlock(nn.Module):
    def __init__(self, channels, dilation, kernel_size=3, dropout=0.1):
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=pad, dilation=dilation,
                              bias=False)
        self.bn = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return x + self.drop(F.relu(self.bn(self.conv(x))))


@register("musicspeech_tcn")
class MusicSpeechTCN(nn.Module):
    """Fully convolutional music and speech activity detector.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input (40).
    channels : tuple of int
        Channels of the 2-D stem; each conv (3x3, BN, ReLU) is followed by
        frequency max pooling by 2, the first also by ``time_stride`` in time.
    time_stride : int
        Temporal downsampling of the output (frames in per frame out).
    tcn_channels : int
        Width of the dilated 1-D residual stack.
    dilations : tuple of int
        One residual block (kernel 3) per dilation.
    n_outputs : int
        Output classes (2: music, speech).
    dropout : float

    Notes
    -----
    Input ``(batch, n_frames, n_mels)`` of any length >= 1; output
    ``(batch, ceil(n_frames / time_stride), n_outputs)`` logits. Output frame
    ``j`` covers input frames ``[j * time_stride, (j + 1) * time_stride)``.
    :attr:`receptive_field` is the context in input frames.
    """

    kind = "frames"

    def __init__(self, n_mels: int = 40, channels=(8, 16, 16), time_stride: int = 2,
                 tcn_channels: int = 48, dilations=(1, 2, 4, 8, 16, 32), n_outputs: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.n_mels, self.time_stride, self.n_outputs = n_mels, int(time_stride), n_outputs
        self.norm = Standardize((n_mels,))
        stem, cin, f = [], 1, n_mels
        for i, c in enumerate(channels):
            stem += [_conv_bn(cin, c), nn.MaxPool2d((2, self.time_stride if i == 0 else 1),
                                                    ceil_mode=True)]
            cin, f = c, (f + 1) // 2
        self.stem = nn.Sequential(*stem)
        self.proj = nn.Sequential(nn.Conv1d(cin * f, tcn_channels, 1, bias=False),
                                  nn.BatchNorm1d(tcn_channels), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[_TemporalBlock(tcn_channels, d, dropout=dropout)
                                      for d in dilations])
        self.out = nn.Conv1d(tcn_channels, n_outputs, 1)
        # context of the dilated stack in output frames, plus the stem's 3 frames
        self.receptive_field = (1 + 2 * sum(dilations)) * self.time_stride + 2 * len(channels)

    def forward(self, x):
        _check_input(x, self.n_mels, None, "musicspeech_tcn")
        x = self.stem(self.norm(x).transpose(1, 2).unsqueeze(1))  # (b, c, f, t)
        b, c, f, t = x.shape
        x = self.proj(x.reshape(b, c * f, t))
        x = self.out(self.blocks(x))
        return x.transpose(1, 2)  # (b, t', n_outputs)


@register("musicspeech_tcn_ensemble")
class MusicSpeechTCNEnsemble(MemberMean):
    """Several :class:`MusicSpeechTCN` of one architecture (training seeds), averaged.

    Each output class's logit is that of the members' mean probability, so the
    pipeline's sigmoid gives the mean music and the mean speech probability
    (averaging probabilities, not logits). Every member keeps its own input
    standardisation and sees the same input; they share the receptive field
    and the stride.

    Parameters
    ----------
    members : int
        Number of networks (their weights: ``members.0.*``, ``members.1.*`` ...).
    member_args : dict
        :class:`MusicSpeechTCN` arguments, the same for every member.
    """

    kind = "frames"

    def __init__(self, members: int = 2, member_args: dict | None = None):
        super().__init__()
        first = self._make_members(MusicSpeechTCN, members, member_args)
        self.n_mels, self.n_outputs = first.n_mels, first.n_outputs
        self.time_stride, self.receptive_field = first.time_stride, first.receptive_field

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the mean member probabilities, ``(batch, ceil(n_frames / stride), 2)``."""
        return self.mean_logit([m(x) for m in self.members])
