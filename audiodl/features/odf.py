"""Onset detection functions computed from spectrogram frames (numpy only).

:func:`superflux_activation` is Böck & Widmer's SuperFlux (DAFx 2013):
the positive difference of a log-frequency log-magnitude spectrogram against
a frequency-maximum-filtered earlier frame, summed over bands.
:class:`SuperFluxODF` computes it chunk by chunk (offline in bounded memory,
or one frame per hop online) with results equal to one whole-input call.
"""

from __future__ import annotations

import numpy as np

__all__ = ["superflux_activation", "SuperFluxODF", "SUPERFLUX_LAG"]

#: frames of spectral difference lag at 100 fps (madmom's ratio 0.5 rule)
SUPERFLUX_LAG = 1


def superflux_activation(spec: np.ndarray, *, lag: int = SUPERFLUX_LAG,
                         max_bins: int = 3) -> np.ndarray:
    """SuperFlux onset strength of a log-magnitude spectrogram.

    Parameters
    ----------
    spec : np.ndarray [shape=(n_frames, n_bins)]
        log(1 + magnitude) of a log-frequency filterbank.
    lag : int [frames]
        Compare with the frame ``lag`` frames earlier (frames before 0 repeat frame 0).
    max_bins : int
        Width of the maximum filter along frequency applied to the earlier frame.

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32
    """
    from scipy.ndimage import maximum_filter1d
    s = np.asarray(spec, dtype=np.float32)
    ref = maximum_filter1d(s, max_bins, axis=1) if max_bins > 1 else s
    prev = np.concatenate([np.repeat(ref[:1], lag, axis=0), ref[:-lag]], axis=0)
    return np.maximum(s - prev, 0).sum(axis=1).astype(np.float32)


class SuperFluxODF:
    """Chunk-wise SuperFlux, scaled by 1/ln(10) to match madmom's log10 front end.

    ``push(frames [shape=(k, n_bins)])`` returns ``k`` activation values; the
    concatenation equals ``superflux_activation(all_frames) / ln(10)``.
    """

    def __init__(self, lag: int = SUPERFLUX_LAG):
        self.lag = int(lag)
        self.reset()

    def reset(self) -> None:
        self._prev = None

    def push(self, frames) -> np.ndarray:
        s = np.asarray(frames, dtype=np.float32)
        if s.ndim == 3:  # (1, k, n_bins) from a single-resolution stream
            s = s[0]
        if s.shape[0] == 0:
            return np.zeros(0, np.float32)
        lag = self.lag
        hist = np.repeat(s[:1], lag, axis=0) if self._prev is None else self._prev
        full = np.concatenate([hist, s], axis=0)
        act = superflux_activation(full, lag=lag)[lag:]
        self._prev = full[-lag:]
        return act / np.float32(np.log(10.0))
