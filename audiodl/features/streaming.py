"""Streaming front end: blocks of samples in, frames out, identical to offline.

:class:`StreamingFrontend` takes blocks of any size (one sample, one hop, a
whole file) and returns every frame that has become computable; ``flush()``
returns the remaining frames once the stream has ended. The concatenation of
all returned frames equals :func:`audiodl.features.spectrogram` of the
concatenated blocks (same padding at both ends, same ``diff``).

The per-call work is one numba call with the state packed into one float32
and one int64 array, so a hop costs a few microseconds on top of its FFT.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .config import as_config

__all__ = ["StreamingFrontend"]


class StreamingFrontend:
    """Stateful block-wise front end whose output equals the offline one.

    Parameters
    ----------
    config : FrontendConfig, preset name or dict
    chunk : int, optional
        Largest number of samples handed to the kernel in one call (larger
        blocks are split); bounds the internal buffer. Default: the larger of
        16 hops and 8192 samples.

    Notes
    -----
    With ``center=True`` frame ``t`` is centred on sample ``t * hop_length``:
    it is returned as soon as its last sample has arrived (with
    ``pad_mode='reflect'`` the first frames also wait until more than
    ``n_fft // 2`` samples have arrived). The latency is therefore
    ``n_fft - n_fft // 2`` samples (plus up to one hop). The frames that need
    the right-hand padding come out of :meth:`flush`.

    Examples
    --------
    >>> sf = StreamingFrontend("speech16k")
    >>> parts = [sf.process(block) for block in blocks]      # doctest: +SKIP
    >>> S = np.concatenate(parts + [sf.flush()], axis=-2)    # doctest: +SKIP
    """

    def __init__(self, config="librosa", *, chunk: int | None = None):
        from . import _kernels  # numba: imported on first use only

        self.config = as_config(config)
        plan = _kernels.plan_for(self.config)
        hop = self.config.hop_length
        self._chunk = int(chunk) if chunk else max(16 * hop, 8192)
        if self._chunk < 1:
            raise ParameterError(f"chunk must be positive, got {chunk}")
        self._F, self._I = _kernels.pack_stream(plan, self._chunk)
        self._kernel = _kernels._get("stream")
        self._reset = _kernels.reset_stream
        self._multires = self.config.is_multires
        self._empty = np.zeros((0, 0), np.float32)

    def __repr__(self) -> str:
        return f"StreamingFrontend({self.config!r})"

    @property
    def fps(self) -> float:
        """Frames per second [Hz]."""
        return self.config.fps

    @property
    def n_samples(self) -> int:
        """Samples received since the start (or the last reset/flush)."""
        from ._kernels import _H_NSEEN
        return int(self._I[_H_NSEEN])

    @property
    def n_frames(self) -> int:
        """Frames returned since the start (or the last reset/flush)."""
        from ._kernels import _H_TNEXT
        return int(self._I[_H_TNEXT])

    def _run(self, block, final: bool) -> np.ndarray:
        if len(block) <= self._chunk:
            out = self._kernel(block, final, self._F, self._I)
        else:
            parts = [self._kernel(block[i:i + self._chunk], False, self._F, self._I)
                     for i in range(0, len(block) - self._chunk, self._chunk)]
            rest = block[len(parts) * self._chunk:]
            parts.append(self._kernel(rest, final, self._F, self._I))
            out = np.concatenate(parts, axis=1)
        return out if self._multires else out[0]

    def process(self, block) -> np.ndarray:
        """Feed the next samples; return the frames that became complete.

        Parameters
        ----------
        block : np.ndarray [shape=(m,)], float
            Next ``m >= 0`` samples at ``config.sr``.

        Returns
        -------
        np.ndarray [shape=(k, n_bins) or (n_channels, k, n_bins)], float32
            ``k >= 0`` new frames, in order.
        """
        if type(block) is not np.ndarray or block.ndim != 1 or \
                block.dtype not in (np.float32, np.float64):
            block = np.asarray(block)
            if block.ndim != 1:
                raise ParameterError(f"expected a block of shape (m,), got {block.shape}")
            if not np.issubdtype(block.dtype, np.floating):
                raise ParameterError(f"expected floating-point samples, got {block.dtype}")
            block = block.astype(np.float32)
        return self._run(block, False)

    def flush(self) -> np.ndarray:
        """End the stream: return the remaining frames, then :meth:`reset`.

        Returns
        -------
        np.ndarray [shape=(k, n_bins) or (n_channels, k, n_bins)], float32
        """
        out = self._run(np.zeros(0, np.float32), True)
        self.reset()
        return out

    def reset(self) -> None:
        """Forget everything received: the next block starts a new stream."""
        self._reset(self._F, self._I)
