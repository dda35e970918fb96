"""Deep Speech 2 style CTC acoustic models (pure ``nn.Module`` classes; torch only).

:class:`DeepSpeech2` follows Amodei et al., "Deep Speech 2: End-to-End Speech
Recognition in English and Mandarin", ICML 2016:

* input: log spectrogram frames ``(batch, n_frames, n_bins)`` (front-end
  presets ``ds2``: 161 linear bins, or ``ds2_mel``: 80 mel bands; 100 fps),
  standardised per band with statistics stored as buffers;
* two 2-D convolutions over (time, frequency) with batch norm and the
  clipped ReLU ``min(max(x, 0), 20)``; the first strides time by
  ``time_stride`` (2: 50 output frames per second);
* a stack of recurrent layers (GRU) with **sequence-wise batch norm** on their
  inputs (statistics over every valid frame of every utterance in the batch,
  paper section 3.2); bidirectional layers sum their two directions;
* for streaming (``bidirectional=False``): unidirectional GRUs followed by the
  paper's **lookahead convolution** (section 3.5): each output frame sees
  ``lookahead`` future frames through a per-channel (depthwise) filter;
* a linear layer to the output tokens; output are **logits** (apply
  ``log_softmax`` over the last axis for CTC).

Token 0 is the CTC blank. The model holds no loss, no file handling and no
decoding (see :mod:`audiodl.decoders.ctc`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .common import Standardize
from .registry import register

__all__ = ["DeepSpeech2", "SequenceBatchNorm", "LookaheadConv", "DEFAULT_TOKENS"]

#: default output tokens: CTC blank ``-``, word separator ``|``, apostrophe, a-z
DEFAULT_TOKENS = ("-", "|", "'", *"abcdefghijklmnopqrstuvwxyz")


class SequenceBatchNorm(nn.Module):
    """Batch norm over all valid frames of a batch of sequences (DS2 section 3.2).

    Parameters
    ----------
    n_features : int

    Notes
    -----
    ``forward(x [shape=(batch, n_frames, n_features)], mask=None)``: with a
    ``mask [shape=(batch, n_frames)]`` (True on valid frames), only valid
    frames contribute to the batch statistics and padded frames are set to 0.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(n_features)

    def forward(self, x, mask=None):
        if mask is None:
            b, t, f = x.shape
            return self.bn(x.reshape(b * t, f)).reshape(b, t, f)
        out = x.new_zeros(x.shape)
        out[mask] = self.bn(x[mask])
        return out


class LookaheadConv(nn.Module):
    """Row convolution over ``lookahead`` future frames (DS2 section 3.5).

    ``y[t, c] = sum_{k=0..lookahead} w[c, k] x[t + k, c]`` (zero past the end):
    a depthwise 1-D convolution padded on the right only, so the output at
    ``t`` needs frames up to ``t + lookahead``.
    """

    def __init__(self, n_features: int, lookahead: int):
        super().__init__()
        self.lookahead = int(lookahead)
        self.conv = nn.Conv1d(n_features, n_features, self.lookahead + 1, groups=n_features,
                              bias=False)

    def forward(self, x):  # (batch, n_frames, n_features)
        y = F.pad(x.transpose(1, 2), (0, self.lookahead))
        return self.conv(y).transpose(1, 2)


def _hardtanh20(x):
    return torch.clamp(x, 0.0, 20.0)


@register("ds2")
class DeepSpeech2(nn.Module):
    """Deep Speech 2 acoustic model: 2-D convs, (Bi)GRUs with sequence-wise BN, linear.

    Parameters
    ----------
    n_bins : int
        Feature bins of the input (161 for ``ds2``, 80 for ``ds2_mel``).
    n_tokens : int
        Output tokens including the blank (index 0).
    conv_channels : tuple of int
        Channels of the two convolutions (DS2: 32, 32).
    conv_kernels : tuple of (int, int)
        (time, frequency) kernel of each convolution (DS2: (11, 41), (11, 21)).
    conv_freq_strides : tuple of int
        Frequency stride of each convolution (DS2: 2, 2).
    time_stride : int
        Time stride of the first convolution (output rate = front-end fps / time_stride).
    rnn_hidden : int
        GRU units per direction.
    rnn_layers : int
    bidirectional : bool
        False: the streaming variant (unidirectional GRUs + lookahead convolution).
    lookahead : int [output frames]
        Future context of the lookahead convolution (unidirectional only).
    dropout : float
        Dropout between recurrent layers (training only).
    """

    #: the runtime applies log-softmax to the logits (CTC log-probabilities)
    output_activation = "log_softmax"

    def __init__(self, n_bins: int = 80, n_tokens: int = len(DEFAULT_TOKENS),
                 conv_channels=(32, 32), conv_kernels=((11, 41), (11, 21)),
                 conv_freq_strides=(2, 2), time_stride: int = 2, rnn_hidden: int = 512,
                 rnn_layers: int = 5, bidirectional: bool = True, lookahead: int = 10,
                 dropout: float = 0.0):
        super().__init__()
        if len(conv_channels) != len(conv_kernels) or len(conv_kernels) != len(conv_freq_strides):
            raise ValueError("conv_channels, conv_kernels and conv_freq_strides differ in length")
        self.n_bins, self.n_tokens = int(n_bins), int(n_tokens)
        self.time_stride = int(time_stride)
        self.bidirectional = bool(bidirectional)
        self.norm = Standardize(n_bins)
        convs, bns = [], []
        ch, f = 1, n_bins
        tpad = []
        for i, (c, (kt, kf), sf) in enumerate(zip(conv_channels, conv_kernels,
                                                  conv_freq_strides)):
            st = self.time_stride if i == 0 else 1
            convs.append(nn.Conv2d(ch, c, (kt, kf), stride=(st, sf), padding=(kt // 2, kf // 2),
                                   bias=False))
            bns.append(nn.BatchNorm2d(c))
            tpad.append((kt, st))
            ch, f = c, (f + 2 * (kf // 2) - kf) // sf + 1
        self.convs, self.conv_bns = nn.ModuleList(convs), nn.ModuleList(bns)
        self._tgeom = tpad
        rnn_in = ch * f
        self.rnn_bns = nn.ModuleList()
        self.rnns = nn.ModuleList()
        for _ in range(rnn_layers):
            self.rnn_bns.append(SequenceBatchNorm(rnn_in))
            self.rnns.append(nn.GRU(rnn_in, rnn_hidden, batch_first=True,
                                    bidirectional=self.bidirectional))
            rnn_in = rnn_hidden
        self.lookahead = None if self.bidirectional else LookaheadConv(rnn_hidden, lookahead)
        self.out_bn = SequenceBatchNorm(rnn_hidden)
        self.fc = nn.Linear(rnn_hidden, n_tokens)
        self.dropout = float(dropout)
        # layout geometry for the runner and the task (see audiodl.tasks.asr)
        self.receptive_field = 10 ** 9 if self.bidirectional else sum(k for k, _ in tpad)
        self.latency_frames = (sum(k // 2 for k, _ in tpad)
                               + (0 if self.bidirectional else lookahead * self.time_stride))

    def set_normalization(self, mean, std) -> None:
        """Set the per-band input statistics (training-set mean and std)."""
        self.norm.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(-1))
        self.norm.std.copy_(torch.clamp(torch.as_tensor(std, dtype=torch.float32).reshape(-1),
                                        min=1e-5))

    def output_lengths(self, lengths):
        """Output frames of inputs of ``lengths`` frames (tensor or int)."""
        for kt, st in self._tgeom:
            lengths = (lengths + 2 * (kt // 2) - kt) // st + 1
        return lengths

    def forward(self, x, lengths=None):
        """Logits of a batch of feature sequences.

        Parameters
        ----------
        x : torch.Tensor [shape=(batch, n_frames, n_bins)]
        lengths : torch.Tensor [shape=(batch,)] or None
            Valid input frames of each sequence (None: all).

        Returns
        -------
        torch.Tensor [shape=(batch, ceil(n_frames / time_stride), n_tokens)]
            Logits; ``log_softmax`` over the last axis gives CTC log-probabilities.
        """
        if x.dim() != 3 or x.shape[-1] != self.n_bins:
            raise ValueError(f"DeepSpeech2: expected features (batch, n_frames, {self.n_bins}), "
                             f"got {tuple(x.shape)}")
        h = self.norm(x).unsqueeze(1)  # (b, 1, t, f)
        for conv, bn in zip(self.convs, self.conv_bns):
            h = _hardtanh20(bn(conv(h)))
        b, c, t, f = h.shape
        h = h.permute(0, 2, 1, 3).reshape(b, t, c * f)
        mask, out_len = None, None
        if lengths is not None:
            out_len = self.output_lengths(lengths.to(torch.long)).clamp(1, t)
            mask = torch.arange(t, device=h.device)[None, :] < out_len[:, None]
        for i, (bn, rnn) in enumerate(zip(self.rnn_bns, self.rnns)):
            h = bn(h, mask)
            if i and self.dropout and self.training:
                h = F.dropout(h, self.dropout, training=True)
            if out_len is not None:
                packed = nn.utils.rnn.pack_padded_sequence(h, out_len.cpu(), batch_first=True,
                                                           enforce_sorted=False)
                h, _ = rnn(packed)
                h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=t)
            else:
                h, _ = rnn(h)
            if self.bidirectional:  # sum the two directions (DS2)
                h = h[..., :h.shape[-1] // 2] + h[..., h.shape[-1] // 2:]
        if self.lookahead is not None:
            h = _hardtanh20(self.lookahead(h))
        return self.fc(self.out_bn(h, mask))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def stride_ceil(n_frames: int, stride: int) -> int:
    """``ceil(n_frames / stride)``."""
    return int(math.ceil(n_frames / stride))
