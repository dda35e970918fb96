"""Torch twin of the numba front end (``nn.Module``), for GPU training.

:class:`TorchFrontend` computes the same frames x bins as
:func:`audiodl.features.spectrogram` for the same :class:`FrontendConfig`:
same frame positions and edge padding (including ``np.pad``-style reflection
of any length), the same window and the same filterbank matrices (built by
:mod:`audiodl.features.filterbanks`), the same log and ``diff``. Only this
module imports torch; ``audiodl.features`` itself never does.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from .filterbanks import filterbank_for
from .config import as_config
from .reference import window as _window

__all__ = ["TorchFrontend"]


def _frame_indices(n: int, n_frames: int, n_fft: int, hop: int, pad: int, pad_mode: str,
                   device) -> tuple:
    """Sample index of every frame position and a validity mask (None if all valid).

    Returns ``(idx, mask)`` with ``idx`` ``[shape=(n_frames, n_fft)]`` int64 in
    ``[0, n)``; out-of-range positions are mapped per ``pad_mode`` (reflect
    as ``np.pad``, i.e. periodically for long pads) or masked (constant).
    """
    idx = (torch.arange(n_frames, device=device)[:, None] * hop - pad
           + torch.arange(n_fft, device=device)[None, :])
    if pad_mode == "reflect" and n <= pad:
        pad_mode = "constant"  # np.pad cannot reflect: the reference pads with zeros
    if pad_mode == "constant":
        mask = (idx >= 0) & (idx < n)
        return idx.clamp(0, n - 1), (None if bool(mask.all()) else mask)
    if pad_mode == "edge" or n == 1:
        return idx.clamp(0, n - 1), None
    period = 2 * (n - 1)
    j = idx.abs() % period
    return torch.where(j >= n, period - j, j), None


class TorchFrontend(nn.Module):
    """Waveforms -> (log-)filterbank spectrograms, differentiable, on any device.

    Parameters
    ----------
    config : FrontendConfig, preset name or dict
    learnable : bool
        Make the filterbank matrices trainable parameters (initialised from
        the configured filterbank); otherwise they are buffers. The window is
        always a buffer.

    Notes
    -----
    Input ``[shape=(batch, n)]`` (or ``(n,)``) float tensor at ``config.sr``;
    output ``[shape=(batch, n_frames, n_bins)]``, or ``(batch, n_channels,
    n_frames, n_bins)`` for a multi-resolution config, in the input's dtype.
    Matches the numba front end to float32 rounding (see the tests).
    """

    def __init__(self, config="librosa", *, learnable: bool = False):
        super().__init__()
        config = as_config(config)
        if config.is_multires and not config.center:
            raise ParameterError("multi-resolution front ends need center=True")
        self.config = config
        self.learnable = bool(learnable)
        self._linear = config.filterbank == "linear"
        fbs = []
        for c, n_fft in enumerate(config.n_ffts):
            win = _window(config.window, config.win_length or n_fft, n_fft)
            self.register_buffer(f"window{c}", torch.tensor(win, dtype=torch.float32))
            if not self._linear:
                fbs.append(torch.tensor(np.array(filterbank_for(config, n_fft)),
                                        dtype=torch.float32))
        if learnable and not self._linear:
            self.filterbanks = nn.ParameterList([nn.Parameter(f) for f in fbs])
        else:
            for c, f in enumerate(fbs):
                self.register_buffer(f"filterbank{c}", f)
        self._index_cache: dict = {}

    def extra_repr(self) -> str:
        return f"config={self.config!r}, learnable={self.learnable}"

    def filterbank(self, c: int = 0):
        """Filterbank matrix of channel ``c`` ``[shape=(n_bands, n_fft // 2 + 1)]`` (None if linear)."""
        if self._linear:
            return None
        if self.learnable:
            return self.filterbanks[c]
        return getattr(self, f"filterbank{c}")

    def _indices(self, n: int, c: int, device):
        key = (n, c, str(device))
        hit = self._index_cache.get(key)
        if hit is None:
            cfg = self.config
            n_fft = cfg.n_ffts[c]
            hit = _frame_indices(n, cfg.n_frames(n), n_fft, cfg.hop_length,
                                 n_fft // 2 if cfg.center else 0, cfg.pad_mode, device)
            if len(self._index_cache) > 16:
                self._index_cache.clear()
            self._index_cache[key] = hit
        return hit

    def _log(self, x):
        cfg = self.config
        if cfg.log == "none":
            return x
        if cfg.log == "log1p":
            return torch.log1p(cfg.log_mul * x)
        x = torch.log(torch.clamp(x, min=cfg.amin))
        if cfg.log == "db":
            return x * (10.0 / math.log(10.0))
        if cfg.log == "log10":
            return x * (1.0 / math.log(10.0))
        return x

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Compute the spectrogram.

        Parameters
        ----------
        y : torch.Tensor [shape=(batch, n) or (n,)], float

        Returns
        -------
        torch.Tensor [shape=(batch, n_frames, n_bins) or (batch, n_channels, n_frames, n_bins)]
        """
        if not torch.is_floating_point(y):
            raise ParameterError(f"expected a floating-point tensor, got {y.dtype}")
        single = y.dim() == 1
        if single:
            y = y[None]
        if y.dim() != 2 or y.shape[-1] == 0:
            raise ParameterError(f"expected samples of shape (batch, n), got {tuple(y.shape)}")
        cfg = self.config
        n = y.shape[-1]
        n_frames = cfg.n_frames(n)
        if n_frames == 0:  # (MKL's FFT rejects empty batches)
            shape = (y.shape[0], cfg.n_channels, 0, cfg.n_bins)
            out = y.new_zeros(shape if cfg.is_multires else shape[:1] + shape[2:])
            return out[0] if single else out
        outs = []
        for c, _n_fft in enumerate(cfg.n_ffts):
            idx, mask = self._indices(n, c, y.device)
            frames = y[:, idx]                                   # (batch, frames, n_fft)
            if mask is not None:
                frames = frames * mask
            frames = frames * getattr(self, f"window{c}").to(y.dtype)
            spec = torch.fft.rfft(frames, dim=-1)
            p = spec.real ** 2 + spec.imag ** 2
            if cfg.power == 1.0:
                p = torch.sqrt(p)
            fb = self.filterbank(c)
            m = p if fb is None else p @ fb.to(y.dtype).T
            m = self._log(m)
            if cfg.diff:
                d = torch.zeros_like(m)
                d[:, 1:] = torch.relu(m[:, 1:] - m[:, :-1])
                m = torch.cat([m, d], dim=-1)
            outs.append(m)
        out = torch.stack(outs, dim=1) if cfg.is_multires else outs[0]
        return out[0] if single else out
