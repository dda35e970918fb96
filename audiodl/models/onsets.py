"""Onset detection CNNs (pure ``nn.Module`` classes; torch only).

:class:`OnsetCNN` is the network of Schlüter & Böck, "Improved musical onset
detection with convolutional neural networks", ICASSP 2014: a 15-frame x
80-band x 3-resolution excerpt -> Conv 10@7x3 -> max-pool 1x3 (frequency) ->
Conv 20@3x3 -> max-pool 1x3 -> Dense 256 (sigmoid) -> Dense 1 (sigmoid),
dropout 0.5 on the inputs of both dense layers, tanh after the convolutions
(as in madmom's port of the model).

It is written fully convolutionally: the first dense layer is a convolution
whose kernel spans the remaining 7 frames x 8 bands, the output layer a 1x1
convolution. One forward pass over a whole spectrogram therefore yields one
activation per frame, identical to running the classic per-frame excerpt
network on every frame, with no excerpt loop. Inputs are standardised per
channel and band with statistics stored as buffers (part of the state_dict).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .common import MemberMean
from .registry import register

__all__ = ["OnsetCNN", "OnsetCNNBN", "OnsetCNNContext", "OnsetCNNEnsemble"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid}


@register("onset_cnn_sb2014")
class OnsetCNN(nn.Module):
    """Schlüter & Böck (2014) onset CNN, fully convolutional over time.

    Parameters
    ----------
    n_channels : int
        Spectrogram resolutions stacked as channels (3: n_fft 1024, 2048, 4096).
    n_bands : int
        Mel bands per frame (80).
    conv1, conv2 : int
        Filters of the two convolutional layers (10, 20).
    kernel1, kernel2 : tuple of int
        (time, frequency) kernel sizes ((7, 3), (3, 3)).
    pool : int
        Max-pooling size along frequency after each convolution (3).
    hidden : int
        Units of the dense layer (256).
    dropout : float
        Dropout on the inputs of both dense layers (0.5).
    conv_activation : {'tanh', 'relu', 'elu', 'sigmoid'}
    batch_norm : bool
        Batch normalisation after each convolution and the dense layer (improved variant).

    Notes
    -----
    ``forward`` takes ``x`` of shape ``(batch, n_channels, n_frames, n_bands)``
    (log-mel values, not yet standardised) and returns logits of shape
    ``(batch, n_frames)`` when ``pad=True`` (edges padded by repeating the
    first/last frame ``context // 2`` times, as madmom does), or
    ``(batch, n_frames - context + 1)`` when ``pad=False`` (training on
    excerpts that already carry their context). Apply ``torch.sigmoid`` for
    activations in [0, 1].
    """

    def __init__(self, n_channels: int = 3, n_bands: int = 80, conv1: int = 10,
                 conv2: int = 20, kernel1=(7, 3), kernel2=(3, 3), pool: int = 3,
                 hidden: int = 256, dropout: float = 0.5, conv_activation: str = "tanh",
                 batch_norm: bool = False):
        super().__init__()
        if conv_activation not in _ACTIVATIONS:
            raise ValueError(f"conv_activation must be one of {sorted(_ACTIVATIONS)}")
        kernel1, kernel2 = tuple(kernel1), tuple(kernel2)
        self.n_channels, self.n_bands = n_channels, n_bands
        f1 = (n_bands - kernel1[1] + 1) // pool
        f2 = (f1 - kernel2[1] + 1) // pool
        if f2 < 1:
            raise ValueError(f"n_bands={n_bands} too small for the kernels and pooling")
        #: frames of context one output needs (15 for the defaults)
        self.context = kernel1[0] + kernel2[0] - 1 + 7 - 1
        act = _ACTIVATIONS[conv_activation]
        bn = batch_norm

        def block(cin, cout, k):
            layers = [nn.Conv2d(cin, cout, k, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm2d(cout))
            layers += [act(), nn.MaxPool2d((1, pool))]
            return layers

        self.features = nn.Sequential(*block(n_channels, conv1, kernel1),
                                      *block(conv1, conv2, kernel2))
        dense = [nn.Dropout(dropout), nn.Conv2d(conv2, hidden, (7, f2), bias=not bn)]
        if bn:
            dense.append(nn.BatchNorm2d(hidden))
        dense += [nn.Sigmoid(), nn.Dropout(dropout), nn.Conv2d(hidden, 1, 1)]
        self.classifier = nn.Sequential(*dense)
        self.register_buffer("mean", torch.zeros(n_channels, n_bands))
        self.register_buffer("std", torch.ones(n_channels, n_bands))

    @torch.no_grad()
    def set_normalization(self, mean, std) -> None:
        """Store per-(channel, band) input statistics, shape ``(n_channels, n_bands)``."""
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(self.std.shape)
        self.mean.copy_(mean)
        self.std.copy_(torch.clamp(std, min=1e-5))

    def forward(self, x: torch.Tensor, *, pad: bool = True) -> torch.Tensor:
        """Logits per frame; see the class notes for shapes."""
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.dim() != 4 or x.shape[1] != self.n_channels or x.shape[3] != self.n_bands:
            raise ValueError(f"expected (batch, {self.n_channels}, n_frames, {self.n_bands}), "
                             f"got {tuple(x.shape)}")
        x = (x - self.mean[:, None, :]) / self.std[:, None, :]
        if pad:
            h = self.context // 2
            x = F.pad(x, (0, 0, h, h), mode="replicate")
        if x.shape[2] < self.context:
            raise ValueError(f"need at least {self.context} frames, got {x.shape[2]}")
        y = self.classifier(self.features(x))  # (batch, 1, frames, 1)
        return y[:, 0, :, 0]


@register("onset_cnn_bn")
class OnsetCNNBN(OnsetCNN):
    """Improved variant: batch norm after every layer, ReLU convolutions, lighter dropout."""

    def __init__(self, n_channels: int = 3, n_bands: int = 80, conv1: int = 10,
                 conv2: int = 20, kernel1=(7, 3), kernel2=(3, 3), pool: int = 3,
                 hidden: int = 256, dropout: float = 0.3, conv_activation: str = "relu",
                 batch_norm: bool = True):
        super().__init__(n_channels=n_channels, n_bands=n_bands, conv1=conv1, conv2=conv2,
                         kernel1=kernel1, kernel2=kernel2, pool=pool, hidden=hidden,
                         dropout=dropout, conv_activation=conv_activation,
                         batch_norm=batch_norm)


@register("onset_cnn_ctx")
class OnsetCNNContext(nn.Module):
    """An onset CNN with a causal long-context head (issue 16: ringing decays).

    The CNN sees 15 frames (150 ms). A cymbal's tail that flares up again 0.3-1.3 s after
    the hit looks like a new attack in 150 ms; whether it belongs to an earlier hit's
    decay can only be told from the seconds before. The head is a stack of causal dilated
    1-D convolutions (kernel 3, dilations 1, 2, 4, ... ``2 ** (levels - 1)``) over the
    CNN's logit, its dense-layer units (projected to ``channels``) and the frame's mean
    standardised level per resolution; it adds a correction to the CNN's logit. Its last
    layer starts at zero, so an untrained head reproduces the CNN exactly.

    The head looks only into the past: the network needs ``lookahead`` = 7 future frames,
    as the CNN alone, and ``context - 1 - lookahead`` past frames (7 + 2 * (2 ** levels - 1);
    261 for 7 levels, 2.6 s), so streaming latency is unchanged.

    Parameters
    ----------
    base_arch : {'onset_cnn_bn', 'onset_cnn_sb2014'}
    base_args : dict
        Arguments of the CNN (weights ``base.*``; :meth:`init_target` loads a CNN card
        into it for fine-tuning).
    channels : int
        Width of the head.
    levels : int
        Dilated layers of the head.
    freeze_base : bool
        Keep the CNN fixed (eval mode, no gradients) while the head trains.
    """

    def __init__(self, base_arch: str = "onset_cnn_bn", base_args: dict | None = None,
                 channels: int = 16, levels: int = 7, freeze_base: bool = True):
        super().__init__()
        if base_arch not in _MEMBER_ARCHS:
            raise ValueError(f"base_arch must be one of {sorted(_MEMBER_ARCHS)}, "
                             f"got {base_arch!r}")
        if int(levels) < 1 or int(channels) < 1:
            raise ValueError("levels and channels must be >= 1")
        self.base_arch = base_arch
        self.base = _MEMBER_ARCHS[base_arch](**dict(base_args or {}))
        self.n_channels, self.n_bands = self.base.n_channels, self.base.n_bands
        self.freeze_base = bool(freeze_base)
        hidden = self.base.classifier[-1].in_channels
        self.dilations = [2 ** k for k in range(int(levels))]
        c = int(channels)
        self.proj = nn.Conv1d(hidden + 1 + self.n_channels, c, 1)
        self.layers = nn.ModuleList([nn.Conv1d(c, c, 3, dilation=d) for d in self.dilations])
        self.out = nn.Conv1d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        #: future frames an output needs (the CNN's half context)
        self.lookahead = self.base.context // 2
        #: frames of input one output needs (past + 1 + future)
        self.context = self.base.context + 2 * sum(self.dilations)
        if self.freeze_base:
            for p in self.base.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_base:
            self.base.eval()
        return self

    def init_target(self, arch: str):
        """The module a card of architecture ``arch`` loads into (fine-tuning from a CNN)."""
        return self.base if arch == self.base_arch else self

    def set_normalization(self, mean, std) -> None:
        """Input statistics of the CNN (see :meth:`OnsetCNN.set_normalization`)."""
        self.base.set_normalization(mean, std)

    def forward(self, x: torch.Tensor, *, pad: bool = True) -> torch.Tensor:
        """Logits per frame; as :meth:`OnsetCNN.forward`, with ``pad`` repeating the first
        frame ``context - 1 - lookahead`` times and the last ``lookahead`` times."""
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.dim() != 4 or x.shape[1] != self.n_channels or x.shape[3] != self.n_bands:
            raise ValueError(f"expected (batch, {self.n_channels}, n_frames, {self.n_bands}), "
                             f"got {tuple(x.shape)}")
        if pad:
            x = F.pad(x, (0, 0, self.context - 1 - self.lookahead, self.lookahead),
                      mode="replicate")
        if x.shape[2] < self.context:
            raise ValueError(f"need at least {self.context} frames, got {x.shape[2]}")
        return self.head(self.columns(x))

    def columns(self, x: torch.Tensor) -> torch.Tensor:
        """The head's input per frame: the CNN's logit, its dense units and the frame level.

        ``x`` (batch, channels, n_frames, bands), no padding -> (batch,
        :attr:`stream_channels`, n_frames - CNN context + 1); column 0 of the channels
        is the CNN's logit.
        """
        if x.dim() != 4 or x.shape[1] != self.n_channels or x.shape[3] != self.n_bands:
            raise ValueError(f"expected (batch, {self.n_channels}, n_frames, {self.n_bands}), "
                             f"got {tuple(x.shape)}")
        if x.shape[2] < self.base.context:
            raise ValueError(f"need at least {self.base.context} frames, got {x.shape[2]}")
        b = self.base
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_base):
            z = (x - b.mean[:, None, :]) / b.std[:, None, :]
            level = z.mean(dim=3)  # (batch, channels, frames): mean standardised level
            hid = b.classifier[:-2](b.features(z))[..., 0]  # (batch, hidden, frames - 14)
            logit = b.classifier[-1](b.classifier[-2](hid[..., None]))[:, :, :, 0]
        h0 = b.context // 2
        level = level[:, :, h0:level.shape[2] - h0]
        return torch.cat([logit, hid, level], dim=1)

    def head(self, cols: torch.Tensor) -> torch.Tensor:
        """Logits from :meth:`columns` (batch, channels, n) -> (batch, n - :attr:`stream_cache`)."""
        y = self.proj(cols)
        for d, conv in zip(self.dilations, self.layers):
            y = y[:, :, 2 * d:] + torch.relu(conv(y))
        n = y.shape[2]
        return (cols[:, :1, -n:] + self.out(y))[:, 0]

    @property
    def stream_cache(self) -> int:
        """Past columns the head needs beside each new one (``2 * sum(dilations)``)."""
        return 2 * sum(self.dilations)

    @property
    def stream_channels(self) -> int:
        """Channels of :meth:`columns` (logit, dense units, one level per resolution)."""
        return self.proj.in_channels

    def stream_step(self, x: torch.Tensor, cache: torch.Tensor):
        """One streaming step without recomputing the past: logits and the new columns.

        ``x`` (batch, channels, m + CNN context - 1, bands): the raw frames of ``m`` new
        columns with the CNN's own context; ``cache`` (batch, :attr:`stream_channels`,
        :attr:`stream_cache`): the columns before them. Returns the ``m`` logits and the
        ``m`` new columns (the caller keeps the last :attr:`stream_cache` as the next
        cache). The same numbers as :meth:`forward` on the whole input.
        """
        cols = self.columns(x)
        return self.head(torch.cat([cache, cols], dim=2)), cols


@register("onset_cnn_ensemble")
class OnsetCNNEnsemble(MemberMean):
    """Several onset CNNs of one architecture (e.g. seeds, folds), averaged (bagging).

    The output is the logit of the members' mean onset probability, so the
    pipeline's sigmoid gives that mean (averaging probabilities, as madmom's
    bagged CNN does, not logits). Every member keeps its own input
    standardisation and sees the same input; they share the context.

    Parameters
    ----------
    members : int
        Number of networks (their weights: ``members.0.*``, ``members.1.*`` ...).
    member_arch : {'onset_cnn_bn', 'onset_cnn_sb2014'}
        Registered architecture of every member.
    member_args : dict
        Arguments of ``member_arch``, the same for every member.
    """

    def __init__(self, members: int = 2, member_arch: str = "onset_cnn_bn",
                 member_args: dict | None = None):
        super().__init__()
        if isinstance(members, bool) or int(members) < 1:
            raise ValueError(f"members must be >= 1, got {members}")
        if member_arch not in _MEMBER_ARCHS:
            raise ValueError(f"member_arch must be one of {sorted(_MEMBER_ARCHS)}, "
                             f"got {member_arch!r}")
        cls, args = _MEMBER_ARCHS[member_arch], dict(member_args or {})
        self.members = nn.ModuleList([cls(**args) for _ in range(int(members))])
        first = self.members[0]
        self.n_channels, self.n_bands, self.context = first.n_channels, first.n_bands, first.context

    @classmethod
    def from_members(cls, models, member_arch: str = "onset_cnn_bn",
                     member_args: dict | None = None) -> "OnsetCNNEnsemble":
        """An ensemble holding copies of the trained ``models`` (same architecture and args)."""
        models = list(models)
        return cls(len(models), member_arch, member_args).load_members(models)

    def forward(self, x: torch.Tensor, *, pad: bool = True) -> torch.Tensor:
        """Logit of the mean member probability; shapes as :meth:`OnsetCNN.forward`."""
        return self.mean_logit([m(x, pad=pad) for m in self.members])


#: architectures an :class:`OnsetCNNEnsemble` can hold
_MEMBER_ARCHS = {"onset_cnn_sb2014": OnsetCNN, "onset_cnn_bn": OnsetCNNBN}
