"""Causal (online) onset detection on a stream of samples.

:class:`OnlineOnsetDetector` chains the one streaming front end
(:class:`~audiodl.features.StreamingFrontend`), the one chunked-context
runner (:class:`~audiodl.runtime.runner.ContextRunner`, CNN) or the chunk-wise
SuperFlux, and madmom's online peak picking. On a whole file its activations
equal the offline ones.
"""

from __future__ import annotations

import numpy as np

from ..decoders.peaks import OnlinePeakPicker
from ..types import Activations

__all__ = ["OnlineOnsetDetector"]


class OnlineOnsetDetector:
    """Causal onset detection on a stream of samples at the detector's rate (44.1 kHz).

    Each hop (441 samples, 10 ms) yields one spectrogram frame; the CNN
    needs ``context // 2`` (7) future frames and the longest FFT window half
    its length (2048 samples) of future audio, so an onset is reported
    :attr:`latency` seconds (116 ms for the default model) after it occurs,
    plus the compute time per hop. Peak picking is madmom's online mode
    (no smoothing, no future frames).

    Per-hop inputs are tiny: run with ``torch.set_num_threads(1)`` (as
    ``audiodl onsets --online`` does). A model with a long causal head
    (``onset_cnn_ctx``) runs through its stream step (the runner's ``stream=True``):
    each hop computes one new column instead of the head's whole 2.6 s context.

    Parameters
    ----------
    detector : OnsetPipeline or SuperFlux
    **params : float
        Peak-picking overrides (seconds), validated like offline ones.
    """

    def __init__(self, detector, **params):
        from ..features.streaming import StreamingFrontend
        self.detector = detector
        self.fps = detector.config.fps
        online = detector.online_params.replace(**params)
        detector.params(threshold=online.threshold)  # same validation as offline
        self.picker = OnlinePeakPicker(self.fps, online)
        self._front = StreamingFrontend(detector.config)
        self._is_cnn = detector.backend is not None
        if self._is_cnn:
            self._net = detector.runner(stream=True)
        else:
            from ..features.odf import SuperFluxODF
            self._net = SuperFluxODF()
        self.reset()

    @property
    def latency(self) -> float:
        """Algorithmic latency [s]: future audio needed before a frame can be decided."""
        cfg = self.detector.config
        future = self._net.latency_frames if self._is_cnn else 0
        return (max(cfg.n_ffts) // 2 + future * cfg.hop_length) / cfg.sr + self.picker.latency

    def reset(self):
        self._front.reset()
        self._net.reset()
        self.picker.reset()
        self.activations = []
        self._n_full = 0

    def _push(self, frames) -> np.ndarray:
        if not self._is_cnn:
            return self._net.push(frames)
        if not frames.shape[-2]:
            return np.zeros(0, np.float32)
        return np.asarray(self._net.push(frames)).reshape(-1)

    def process(self, y, *, last: bool = False) -> np.ndarray:
        """Feed samples (mono float at the detector's rate); return onsets decided now [s].

        Parameters
        ----------
        y : np.ndarray [shape=(n,)], float
        last : bool
            End of stream: flush the remaining frames. Their activations are computed (so
            :meth:`all_activations` equals the offline ones), but no onset is reported from
            a frame that needed audio after the end (padding): the cut-off at the end would
            otherwise read as an onset, and a stream that simply stops never decides those
            frames (madmom's online mode has no flush).
        """
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        act = self._push(self._front.process(y))
        self._n_full += len(act)  # frames with their whole window and future context
        if last:
            rest = self._push(self._front.flush())
            if self._is_cnn:
                rest = np.concatenate([rest, np.asarray(self._net.flush()).reshape(-1)])
            act = np.concatenate([act, rest])
        self.activations.append(act)
        out = self.picker.process(act) if len(act) else np.zeros(0)
        if last:
            out = np.concatenate([out, self.picker.flush()])
            frame = np.round((out - self.picker.params.delay) * self.fps)
            out = out[frame < self._n_full]
        return out

    def all_activations(self) -> Activations:
        """Every activation computed so far, as one :class:`Activations`."""
        vals = np.concatenate(self.activations) if self.activations else np.zeros(0, np.float32)
        return Activations(values=vals.astype(np.float32), fps=self.fps)
