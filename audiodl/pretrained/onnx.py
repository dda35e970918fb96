"""ONNX export of any registered model, and the shipped ``.onnx`` files.

:func:`export` turns a model card (its architecture from
:mod:`audiodl.models.registry` and its sha256-checked weights) into an ONNX
graph with ``torch.onnx.export``; nothing here is specific to one task, so a
model added to the registry later exports the same way. The graph computes
the backend contract of :mod:`audiodl.runtime.backends`: features in,
*probabilities* out (the model's ``output_activation``, sigmoid or
log_softmax, is part of the graph), with dynamic axes where the layout
needs them:

``excerpt``  ``x (batch, n_frames, n_bins)``: batch dynamic;
``same``     ``x (batch, time, n_bins)``: batch and time dynamic;
``valid``    ``x (batch, n_channels, time, n_bins)``: batch and time dynamic
             (the unpadded forward pass, ``pad=False``);
``window``   ``x (batch, time, n_bins)``: batch and time dynamic.

The geometry the runner needs (``layout``, ``n_frames``, ``receptive_field``,
``time_stride``, ``context``, ``output``) and the sha256 of the weights the
graph was made from (``weights_sha256``) are stored in the graph's metadata,
so the ONNX Runtime backend needs neither torch nor the module class, and a
graph left behind by a weight change is detected (it no longer matches the
card's ``sha256``).

Shipped graphs live next to the weights (``weights/NAME.onnx``); their own
sha256 digests are listed in ``weights/onnx.sha256`` (``sha256sum`` format,
so ``sha256sum -c onnx.sha256`` checks them too). :func:`verified_onnx`
checks both before a graph is used.

Why ship the graphs rather than build them at install: exporting needs torch
and the ``onnx`` package and ~2 s per model, while the point of the graphs is
a runtime that needs neither; a wheel cannot run code at install, and a graph
built lazily on first use would make the first run the slowest. The cost is
the graphs' size (about that of the weights: 15.9 MB for the eight models, their one
8-bit graph and one stream-step graph, 2026-12-02).
Why a digest file rather than a card field: the graph is derived data, so the
card (the model's identity, written by training) stays as it is, and the
graph records which weights it came from itself; after a weight change
``audiodl export --all`` rewrites graphs and digests, and until then the stale
graphs are refused (``auto`` falls back to numpy/torch).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import ModelError

__all__ = ["export", "export_all", "check_export", "TOLERANCE", "onnx_file", "verified_onnx", "read_sums", "SUMS_FILE", "stream_path",
           "OPSET", "EXPORT_LENGTH", "record_graph"]

#: ONNX opset of exported graphs (supported by onnxruntime >= 1.16)
OPSET = 17
#: the digests of the ``.onnx`` files of a weights folder
SUMS_FILE = "onnx.sha256"
#: time frames of the example input traced at export (any length works at run time)
EXPORT_LENGTH = 301


def onnx_file(card, *, int8: bool = False, stream: bool = False) -> str:
    """File name of the graph of ``card`` in its weights folder.

    ``int8``: the 8-bit graph (``NAME.int8.onnx``), made from the float graph
    by a task's recipe (``recipes/singing/quantize.py --ship``), shipped only
    where it keeps the task's test score; the backend prefers it on CPU.
    ``stream``: the stream-step graph (``NAME.stream.onnx``) of a model with
    ``stream_step`` (``onset_cnn_ctx``), written by :func:`export` beside the float
    graph and used by the streaming runner.
    """
    if stream:
        return f"{card.name}.stream.onnx"
    return f"{card.name}.int8.onnx" if int8 else f"{card.name}.onnx"


def record_graph(path) -> None:
    """Record the sha256 of the graph ``path`` in ``onnx.sha256`` of its folder."""
    from .weights import sha256_of
    path = Path(path)
    _write_sums(path.parent, path.name, sha256_of(path))


def read_sums(directory) -> dict:
    """``{file name: sha256}`` of ``directory/onnx.sha256`` (empty when absent)."""
    p = Path(directory) / SUMS_FILE
    if not p.exists():
        return {}
    out = {}
    for line in p.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0]
    return out


def _write_sums(directory, name: str, digest: Optional[str]) -> None:
    sums = read_sums(directory)
    if digest is None:
        sums.pop(name, None)
    else:
        sums[name] = digest
    p = Path(directory) / SUMS_FILE
    tmp = p.with_suffix(".tmp")
    tmp.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
    os.replace(tmp, p)


def verified_onnx(card, directory, *, int8: bool = False, stream: bool = False) -> Path:
    """Path of the shipped graph of ``card`` after checking its sha256 (``onnx.sha256``).

    ``int8``: the 8-bit graph ``NAME.int8.onnx`` instead of the float one;
    ``stream``: the stream-step graph ``NAME.stream.onnx``.

    Raises
    ------
    ModelError
        No graph, no recorded digest, or a digest mismatch. (That the graph
        was made from the card's current weights is checked from its metadata
        by the ONNX Runtime backend.)
    """
    from .weights import sha256_of
    name = onnx_file(card, int8=int8, stream=stream)
    path = Path(directory) / name
    if not path.exists():
        how = "recipes/singing/quantize.py --ship" if int8 else f"'audiodl export {card.name}'"
        raise ModelError(f"{card.name}: no ONNX graph {path}; make it with {how}")
    want = read_sums(directory).get(name)
    if want is None:
        raise ModelError(f"{card.name}: {path} has no sha256 in {Path(directory) / SUMS_FILE}; "
                         f"re-export it with 'audiodl export {card.name}'")
    got = sha256_of(path)
    if got != want:
        raise ModelError(f"{card.name}: sha256 mismatch for {path} (recorded {want[:12]}…, "
                         f"file {got[:12]}…): corrupt copy? re-export with "
                         f"'audiodl export {card.name}'")
    return path


def _example_input(card, model, length: int):
    import torch
    fe = card.frontend
    if card.layout == "excerpt":
        return torch.zeros(2, int(model.n_frames), fe.n_bins)
    if card.layout == "valid":
        return torch.zeros(1, fe.n_channels, max(length, int(model.context)), fe.n_bins)
    if fe.n_channels != 1:
        return torch.zeros(1, fe.n_channels, length, fe.n_bins)
    return torch.zeros(1, length, fe.n_bins)


def _geometry(card, model) -> dict:
    """The metadata the runner needs (see :class:`audiodl.runtime.backends.TorchBackend`)."""
    from ..runtime.backends import TorchBackend
    b = TorchBackend(model, card.layout)
    geo = {"layout": card.layout, "n_frames": b.n_frames, "receptive_field": b.receptive_field,
           "time_stride": b.time_stride, "context": b.context, "output": b.output}
    if b.lookahead is not None:
        geo["lookahead"] = b.lookahead
    return geo


def export(name_or_path, output=None, *, directory=None, opset: int = OPSET,
           record: Optional[bool] = None) -> Path:
    """Export the model of a shipped name or card path to ONNX.

    Parameters
    ----------
    name_or_path : shipped model name or ``.json`` card path
    output : path of the ``.onnx`` file; default ``NAME.onnx`` next to the card
        (the weights folder), which also records its sha256 in ``onnx.sha256``.
    directory : folder of shipped models (default: the package's)
    opset : ONNX opset
    record : record the digest in ``onnx.sha256`` of the output's folder
        (default: only when writing next to the card).

    Returns
    -------
    Path of the written graph.
    """
    import torch

    from .. import __version__
    from . import build_model, resolve

    card, wdir = resolve(name_or_path, directory=directory)
    model = build_model(card, wdir)
    geom = _geometry(card, model)
    default_out = Path(wdir) / onnx_file(card)
    out = Path(output) if output is not None else default_out
    if record is None:
        record = out.resolve() == default_out.resolve()

    class _Probabilities(torch.nn.Module):
        """The model and its output activation: the backend contract in one graph."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            y = self.m(x, pad=False) if geom["layout"] == "valid" else self.m(x)
            if geom["output"] == "log_softmax":
                return torch.log_softmax(y.float(), dim=-1)
            return torch.sigmoid(y)

    wrapper = _Probabilities(model).eval()
    x = _example_input(card, model, EXPORT_LENGTH)
    dyn = {0: "batch"} if card.layout == "excerpt" else {0: "batch", x.dim() - 2: "time"}
    y_dims = {0: "batch"} if card.layout == "excerpt" else {0: "batch", 1: "time_out"}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    import warnings
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings on shape checks in forward()
        torch.onnx.export(wrapper, (x,), str(tmp), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": dyn, "y": y_dims}, opset_version=opset,
                          dynamo=False, do_constant_folding=True)
    _set_metadata(tmp, dict(geom, name=card.name, arch=card.arch, task=card.task,
                            weights=card.weights, weights_sha256=card.sha256,
                            audiodl=__version__, torch=torch.__version__))
    os.replace(tmp, out)
    if record:
        from .weights import sha256_of
        _write_sums(out.parent, out.name, sha256_of(out))
    if geom["layout"] == "valid" and hasattr(model, "stream_step"):
        _export_stream(card, model, geom, stream_path(out), opset=opset, record=record)
    return out


def stream_path(path) -> Path:
    """The stream-step graph written beside the float graph ``path`` (``X.onnx`` ->
    ``X.stream.onnx``)."""
    path = Path(path)
    return path.with_name(path.name[:-len(".onnx")] + ".stream.onnx"
                          if path.name.endswith(".onnx") else path.name + ".stream.onnx")


def _export_stream(card, model, geom, out, *, opset: int, record: bool) -> None:
    """The stream-step graph: ``(x, cache) -> (y, columns)`` (see ``stream_step``)."""
    import warnings

    import torch

    from .. import __version__

    class _Step(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, cache):
            y, cols = self.m.stream_step(x, cache)
            return torch.sigmoid(y), cols

    fe = card.frontend
    n_cache, n_ch, ctx = int(model.stream_cache), int(model.stream_channels), int(model.base.context)
    x = torch.zeros(1, fe.n_channels, ctx + 9, fe.n_bins)
    cache = torch.zeros(1, n_ch, n_cache)
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Step(model).eval(), (x, cache), str(tmp), input_names=["x", "cache"],
                          output_names=["y", "columns"],
                          dynamic_axes={"x": {0: "batch", 2: "time"},
                                        "cache": {0: "batch", 2: "cache_time"},
                                        "y": {0: "batch", 1: "time_out"},
                                        "columns": {0: "batch", 2: "time_out"}},
                          opset_version=opset, dynamo=False, do_constant_folding=True)
    _set_metadata(tmp, dict(geom, name=card.name, arch=card.arch, task=card.task,
                            weights=card.weights, weights_sha256=card.sha256,
                            audiodl=__version__, torch=torch.__version__,
                            stream_base_context=ctx, stream_cache=n_cache,
                            stream_channels=n_ch))
    os.replace(tmp, out)
    if record:
        from .weights import sha256_of
        _write_sums(out.parent, out.name, sha256_of(out))


def _set_metadata(path, meta: dict) -> None:
    """Write ``meta`` into the graph's ``metadata_props`` (read back by onnxruntime)."""
    try:
        import onnx
    except ImportError:
        raise ModelError("exporting needs the onnx package: pip install 'audiodl[export]' "
                         "(or pip install onnx)") from None
    m = onnx.load(str(path))
    del m.metadata_props[:]
    for k, v in sorted(meta.items()):
        p = m.metadata_props.add()
        p.key, p.value = f"audiodl.{k}", str(v)
    m.producer_name = "audiodl"
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


#: largest |onnxruntime - torch| accepted on the exported outputs (probabilities,
#: or log-probabilities of CTC models, which are larger numbers)
TOLERANCE = {"sigmoid": 1e-5, "log_softmax": 1e-4}


def check_export(name_or_path, path, *, directory=None, lengths=(37, 301, 1000),
                 seed: int = 0) -> float:
    """Largest |onnxruntime - torch| over random inputs of several lengths.

    Raises :class:`ModelError` beyond :data:`TOLERANCE`.
    """
    import numpy as np

    from ..runtime.backends import TorchBackend
    from ..runtime.onnx_backend import OnnxBackend
    from . import build_model, resolve

    card, wdir = resolve(name_or_path, directory=directory)
    model = build_model(card, wdir)
    tb, ob = TorchBackend(model, card.layout), OnnxBackend(path, weights_sha256=card.sha256)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for n in lengths:
        shape = tuple(_example_input(card, model, n).shape)
        if card.layout == "excerpt":
            shape = (3,) + shape[1:]
        x = (rng.normal(size=shape) * 2.0 - 3.0).astype(np.float32)
        worst = max(worst, float(np.abs(tb(x) - ob(x)).max()))
    sp = stream_path(path)
    if card.layout == "valid" and hasattr(model, "stream_step") and sp.exists():
        from ..runtime.onnx_backend import OnnxStreamBackend
        ts, os_ = tb.stream(), OnnxStreamBackend(sp, weights_sha256=card.sha256)
        for m in (1, 7, 300):
            x = (rng.normal(size=(1, card.frontend.n_channels, m + ts.base_context - 1,
                                  card.frontend.n_bins)) * 2.0 - 3.0).astype(np.float32)
            c = rng.normal(size=(1, ts.cache_channels, ts.cache_len)).astype(np.float32)
            (y1, c1), (y2, c2) = ts(x, c), os_(x, c)
            worst = max(worst, float(np.abs(y1 - y2).max()),
                        float(np.abs(c1 - c2).max() / max(1.0, np.abs(c1).max())))
    tol = TOLERANCE[ob.output]
    if not worst <= tol:
        raise ModelError(f"{card.name}: ONNX Runtime differs from torch by {worst:.3g} "
                         f"(> {tol:g})")
    return worst


def export_all(*, directory=None) -> list:
    """Export every registry entry next to its weights; return the written paths."""
    from . import list_models
    return [export(n, directory=directory) for n in list_models(directory=directory)]
