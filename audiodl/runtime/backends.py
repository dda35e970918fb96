"""Model backends: one call signature for every way of running a network.

A backend maps a float32 batch to probabilities (the sigmoid of the model's
logits), shaped by the model's ``layout`` (see
:data:`audiodl.pretrained.card.LAYOUTS`):

``excerpt``  ``(batch, n_frames, n_bins) -> (batch, n_outputs)``
``same``     ``(1, n, n_bins) -> (1, ceil(n / time_stride), n_outputs)``
``valid``    ``(1, n_channels, n, n_bins) -> (1, n - context + 1)``
``window``   ``(1, n, n_bins) -> (1, ceil(n / time_stride), n_outputs)`` (any context)

and declares the geometry the runner needs: ``n_frames`` (excerpt),
``receptive_field`` and ``time_stride`` (same), ``context`` (valid),
``time_stride`` (window). The output transform is the model's
``output_activation`` attribute: ``sigmoid`` (default) or ``log_softmax``
(CTC models).

Backends: ``onnx`` (ONNX Runtime on the graph exported next to the weights,
:mod:`audiodl.runtime.onnx_backend`: any model, no torch import), ``torch``
(any registered architecture, any device) and ``numpy`` (the excerpt CNNs,
no torch import; the fallback where onnxruntime is missing). ``auto`` picks
ONNX Runtime on CPU whenever a verified graph of the card's weights exists,
else numpy (excerpt CNNs), else torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError, ParameterError

__all__ = ["Backend", "TorchBackend", "NumpyBackend", "make_backend", "BACKENDS"]

# OnnxBackend lives in .onnx_backend (imports onnxruntime only when used)

BACKENDS = ("auto", "torch", "numpy", "onnx", "onnx-int8")


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Backend:
    """Base: a callable model with its layout and geometry."""

    name = ""
    layout = "same"
    n_frames = 0
    receptive_field = 1
    time_stride = 1
    context = 1
    #: ``valid``: future frames of the context (the rest is past); None: ``context // 2``
    lookahead = None

    @property
    def future_frames(self) -> int:
        """``valid``: frames after an output's frame that it needs (``lookahead``, or half
        the context for the symmetric networks)."""
        return int(self.context // 2 if self.lookahead is None else self.lookahead)

    @property
    def past_frames(self) -> int:
        """``valid``: frames before an output's frame that it needs."""
        return int(self.context) - 1 - self.future_frames

    def __call__(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def stream(self):
        """A :class:`StreamBackend` of the same model, or None (``valid`` models whose
        output at a frame is a causal head over per-frame columns, e.g. ``onset_cnn_ctx``:
        a stream step computes only the new columns instead of the whole context)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layout={self.layout!r})"


class StreamBackend:
    """One streaming step of a cached-column model: ``(x, cache) -> (probabilities, columns)``.

    ``x`` (1, channels, m + base_context - 1, bands) are the raw frames of ``m`` new
    columns with the column network's own context (``base_context // 2`` frames each
    side); ``cache`` (1, cache_channels, cache_len) the columns before them. Returns the
    ``m`` probabilities (1, m) and the ``m`` new columns (1, cache_channels, m).
    """

    base_context = 1
    cache_len = 0
    cache_channels = 0

    def __call__(self, x, cache):  # pragma: no cover - interface
        raise NotImplementedError


class TorchStreamBackend(StreamBackend):
    """:class:`StreamBackend` on a torch model with ``stream_step``."""

    def __init__(self, model, *, device: str = "cpu"):
        self.model, self.device = model, device
        self.base_context = int(model.base.context)
        self.cache_len = int(model.stream_cache)
        self.cache_channels = int(model.stream_channels)

    def __call__(self, x, cache):
        import torch
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            c = torch.from_numpy(np.ascontiguousarray(cache, dtype=np.float32)).to(self.device)
            y, cols = self.model.stream_step(t, c)
            return torch.sigmoid(y).cpu().numpy(), cols.cpu().numpy()


class TorchBackend(Backend):
    """A torch ``nn.Module`` in eval mode, run under ``torch.inference_mode``."""

    name = "torch"

    def __init__(self, model, layout: str, *, device: str = "cpu"):
        self.model, self.layout, self.device = model, layout, device
        self.output = getattr(model, "output_activation", "sigmoid")
        if self.output not in ("sigmoid", "log_softmax"):
            raise ModelError(f"unknown output_activation {self.output!r}")
        if layout == "excerpt":
            self.n_frames = int(model.n_frames)
        elif layout == "same":
            self.receptive_field = int(model.receptive_field)
            self.time_stride = int(getattr(model, "time_stride", 1))
        elif layout == "valid":
            self.context = int(model.context)
            la = getattr(model, "lookahead", None)
            self.lookahead = None if la is None else int(la)
        elif layout == "window":
            self.time_stride = int(getattr(model, "time_stride", 1))
        else:
            raise ModelError(f"unknown model layout {layout!r}")

    def stream(self):
        if self.layout != "valid" or not hasattr(self.model, "stream_step"):
            return None
        return TorchStreamBackend(self.model, device=self.device)

    def __call__(self, x):
        import torch
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            y = self.model(t, pad=False) if self.layout == "valid" else self.model(t)
            if self.output == "log_softmax":
                return torch.log_softmax(y.float(), dim=-1).cpu().numpy()
            return torch.sigmoid(y).cpu().numpy()


class NumpyBackend(Backend):
    """The numpy twin of an excerpt CNN (:mod:`audiodl.runtime.numpy_nets`)."""

    name = "numpy"
    layout = "excerpt"

    def __init__(self, net):
        self.net = net
        self.n_frames = int(net.n_frames)

    def __call__(self, x):
        return _sigmoid(self.net(np.ascontiguousarray(x, dtype=np.float32)))


def make_backend(card, weights_dir, *, backend: str = "auto", device: str = "cpu",
                 threads=None) -> Backend:
    """The backend ``backend`` for the model of ``card`` (weights sha256-checked).

    Parameters
    ----------
    card : ModelCard
    weights_dir : path of the folder holding ``card.weights`` (and ``NAME.onnx``)
    backend : {'auto', 'torch', 'numpy', 'onnx', 'onnx-int8'}
        ``auto`` on CPU: ONNX Runtime on the 8-bit graph ``NAME.int8.onnx``
        when one is shipped (sha256 in ``onnx.sha256``, made from the card's
        weights), else on ``NAME.onnx`` under the same checks; else numpy for
        the excerpt CNNs; else torch. On other devices: torch. ``onnx``: the
        float graph only; ``onnx-int8``: the 8-bit graph only.
    device : str
        torch device; ``onnx`` with ``cuda`` uses ONNX Runtime's CUDA provider.
    threads : int or None
        ONNX Runtime intra-op threads (None: ``AUDIODL_THREADS`` or 1).
    """
    import logging

    from ..pretrained.weights import read_state_dict, verified_path
    from .numpy_nets import NUMPY_ARCHS, NumpyExcerptNet

    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "onnx-int8" or (backend == "auto" and device == "cpu"):
        from . import onnx_backend
        from ..pretrained.onnx import onnx_file, read_sums
        if backend == "onnx-int8" or onnx_file(card, int8=True) in read_sums(weights_dir):
            try:
                if not onnx_backend.available():
                    raise ModelError("onnxruntime is not installed (pip install onnxruntime)")
                from ..pretrained.onnx import verified_onnx
                b = onnx_backend.OnnxBackend(verified_onnx(card, Path(weights_dir), int8=True),
                                             threads=threads, device=device,
                                             weights_sha256=card.sha256)
                b.name = "onnx-int8"
                return b
            except ModelError as exc:
                if backend == "onnx-int8":
                    raise
                logging.getLogger(__name__).info("8-bit ONNX graph unavailable (%s); "
                                                 "trying the float graph", exc)
    if backend == "onnx" or (backend == "auto" and device == "cpu"):
        from . import onnx_backend
        from ..pretrained.onnx import onnx_file, read_sums
        try:
            if not onnx_backend.available():
                raise ModelError("onnxruntime is not installed (pip install onnxruntime)")
            from ..pretrained.onnx import verified_onnx
            b = onnx_backend.OnnxBackend(verified_onnx(card, Path(weights_dir)),
                                         threads=threads, device=device,
                                         weights_sha256=card.sha256)
            if onnx_file(card, stream=True) in read_sums(weights_dir):
                b.stream_loader = lambda: onnx_backend.OnnxStreamBackend(
                    verified_onnx(card, Path(weights_dir), stream=True), threads=threads,
                    device=device, weights_sha256=card.sha256)
            return b
        except ModelError as exc:
            if backend == "onnx":
                raise
            logging.getLogger(__name__).info("ONNX Runtime backend unavailable (%s); "
                                             "falling back", exc)
    numpy_ok = card.arch in NUMPY_ARCHS and device == "cpu"
    if backend == "numpy" and not numpy_ok:
        raise ModelError(f"{card.name}: no numpy forward pass for architecture {card.arch!r}"
                         + ("" if device == "cpu" else " on a non-CPU device"))
    if backend == "numpy" or (backend == "auto" and numpy_ok):
        state = read_state_dict(verified_path(card, Path(weights_dir)))
        return NumpyBackend(NumpyExcerptNet(card.arch, card.args, state))
    from ..pretrained import build_model
    return TorchBackend(build_model(card, weights_dir, device=device), card.layout,
                        device=device)
