"""The ONNX Runtime backend: any exported model, no torch import.

A graph written by :func:`audiodl.pretrained.onnx.export` carries its
geometry in its metadata (``audiodl.layout``, ``audiodl.n_frames``, ...), so
:class:`OnnxBackend` needs only the ``.onnx`` file.

Threads: ONNX Runtime's intra-op pool has ``threads`` threads, by default
the ``AUDIODL_THREADS`` environment variable (also set by the task commands'
``--threads`` option) or 1. One thread starts fastest, is what the
throughput figures in ``bench/README.md`` measure ("one core"), and leaves
the other cores to ``-j`` (one session is shared by all worker threads);
raise it for long inputs of heavy models (ASR) on an otherwise idle
machine. The inter-op pool is 1 thread (sequential execution).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ModelError, ParameterError
from .backends import Backend

__all__ = ["OnnxBackend", "OnnxStreamBackend", "default_threads", "available"]

_INT_KEYS = ("n_frames", "receptive_field", "time_stride", "context")


def available() -> bool:
    """Whether onnxruntime can be imported (without importing it)."""
    import importlib.util
    return importlib.util.find_spec("onnxruntime") is not None


def default_threads() -> int:
    """Intra-op threads: ``AUDIODL_THREADS`` or 1."""
    v = os.environ.get("AUDIODL_THREADS", "").strip()
    if not v:
        return 1
    try:
        n = int(v)
    except ValueError:
        raise ParameterError(f"AUDIODL_THREADS must be a positive integer, got {v!r}") from None
    if n < 1:
        raise ParameterError(f"AUDIODL_THREADS must be a positive integer, got {v!r}")
    return n


def read_metadata(path) -> dict:
    """The ``audiodl.*`` metadata of an exported graph (prefix removed)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return _audiodl_meta(s)


def _audiodl_meta(session) -> dict:
    meta = session.get_modelmeta().custom_metadata_map
    return {k[len("audiodl."):]: v for k, v in meta.items() if k.startswith("audiodl.")}


class OnnxBackend(Backend):
    """An exported graph (features -> probabilities) in an ONNX Runtime session.

    Parameters
    ----------
    path : the ``.onnx`` file
    threads : int or None
        Intra-op threads (None: :func:`default_threads`).
    device : {'cpu', 'cuda', ...}
        ``cuda`` uses the CUDA execution provider (onnxruntime-gpu), else an error.
    weights_sha256 : str or None
        When given, the graph must have been exported from weights of this
        digest (the card's ``sha256``), else :class:`ModelError`.
    """

    name = "onnx"

    def __init__(self, path, *, threads: Optional[int] = None, device: str = "cpu",
                 weights_sha256: Optional[str] = None):
        import onnxruntime as ort

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or default_threads())
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        providers = ["CPUExecutionProvider"]
        if device != "cpu":
            if not str(device).startswith("cuda"):
                raise ModelError(f"ONNX Runtime backend: unsupported device {device!r}")
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ModelError("ONNX Runtime has no CUDA provider here (install "
                                 "onnxruntime-gpu); use --backend torch for the GPU")
            idx = str(device).partition(":")[2] or "0"
            providers = [("CUDAExecutionProvider", {"device_id": int(idx)}),
                         "CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{self.path}: cannot load ONNX graph ({exc})") from None
        self.meta = _audiodl_meta(self.session)
        if "layout" not in self.meta:
            raise ModelError(f"{self.path}: not an audiodl export (no audiodl.layout metadata); "
                             "make it with 'audiodl export'")
        if weights_sha256 is not None and self.meta.get("weights_sha256") != weights_sha256:
            raise ModelError(f"{self.path}: exported from other weights "
                             f"({self.meta.get('weights_sha256', '?')[:12]}…, card "
                             f"{weights_sha256[:12]}…); re-export it with 'audiodl export'")
        self.layout = self.meta["layout"]
        for k in _INT_KEYS:
            setattr(self, k, int(self.meta.get(k, getattr(Backend, k))))
        if "lookahead" in self.meta:  # asymmetric valid context (older graphs: symmetric)
            self.lookahead = int(self.meta["lookahead"])
        self.output = self.meta.get("output", "sigmoid")
        self.input_name = self.session.get_inputs()[0].name
        self.threads = opts.intra_op_num_threads

    #: zero-argument callable returning the model's :class:`OnnxStreamBackend`, set by
    #: :func:`~audiodl.runtime.backends.make_backend` when a stream graph is shipped
    stream_loader = None

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.session.run(None, {self.input_name: x})[0]

    def stream(self):
        """The shipped stream graph (``NAME.stream.onnx``), loaded on first use, or None."""
        if self.stream_loader is None:
            return None
        if not hasattr(self, "_stream"):
            self._stream = self.stream_loader()
        return self._stream

    def __repr__(self) -> str:
        return f"OnnxBackend({self.path.name!r}, layout={self.layout!r}, threads={self.threads})"


class OnnxStreamBackend(OnnxBackend):
    """A stream graph (``NAME.stream.onnx``, inputs ``x`` and ``cache``, outputs ``y`` and
    ``columns``): :class:`~audiodl.runtime.backends.StreamBackend` on ONNX Runtime."""

    def __init__(self, path, **kwargs):
        super().__init__(path, **kwargs)
        for k in ("stream_base_context", "stream_cache", "stream_channels"):
            if k not in self.meta:
                raise ModelError(f"{self.path}: not a stream graph (no audiodl.{k} metadata)")
        self.base_context = int(self.meta["stream_base_context"])
        self.cache_len = int(self.meta["stream_cache"])
        self.cache_channels = int(self.meta["stream_channels"])

    def __call__(self, x, cache):
        feeds = {"x": np.ascontiguousarray(x, dtype=np.float32),
                 "cache": np.ascontiguousarray(cache, dtype=np.float32)}
        y, cols = self.session.run(["y", "columns"], feeds)
        return y, cols

    def stream(self):
        return None
