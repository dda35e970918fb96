"""recipes/singing/quantize.py: an 8-bit graph of a singing model that stays close to float."""

import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quantized_graph_is_int8_and_close(tiny_card, tmp_path):
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from audiodl.pretrained.onnx import export
    from audiodl.runtime.onnx_backend import OnnxBackend
    spec = importlib.util.spec_from_file_location(
        "svd_quantize", os.path.join(ROOT, "recipes", "singing", "quantize.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = np.random.default_rng(0)
    feats = [(rng.standard_normal((1, 300, 80)) * 2 - 4).astype(np.float32) for _ in range(3)]
    f32, q8 = str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx")
    export(tiny_card, f32)
    mod.quantize(f32, q8, feats)
    ops = {n.op_type for n in onnx.load(q8).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    x = feats[0][0]
    a, b = OnnxBackend(f32), OnnxBackend(q8)
    ya, yb = a(x[None]), b(x[None])
    assert ya.shape == yb.shape
    assert np.abs(ya - yb).max() < 0.1  # probabilities of the 8-bit graph stay close
    assert not np.array_equal(ya, yb)   # and it is a different graph
    kept = mod.float_convs(f32)
    from onnx import numpy_helper
    g32 = onnx.load(f32).graph
    w = {t.name: numpy_helper.to_array(t) for t in g32.initializer}
    shapes = {n.name: w[n.input[1]].shape for n in g32.node if n.op_type == "Conv"}
    # the first convolution (one input channel) and the 1x1 ones stay float, no other
    assert sorted(kept) == sorted(k for k, s in shapes.items() if s[1] == 1 or s[2:] == (1, 1))
    assert any(shapes[k][1] == 1 for k in kept)
    g = onnx.load(q8).graph
    dq_out = {o for n in g.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = {n.name: n for n in g.node if n.op_type == "Conv"}
    assert all(convs[k].input[1] not in dq_out for k in kept)  # not dequantised int8
    assert any(n.input[1] in dq_out for k, n in convs.items() if k not in kept)


def test_shipped_int8_graph_is_preferred_and_checked(tiny_card, tmp_path):
    """A recorded NAME.int8.onnx is what `auto` runs; a corrupt one falls back to the float graph."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import shutil

    from audiodl import pretrained
    from audiodl.errors import ModelError
    from audiodl.pretrained.onnx import export, onnx_file, read_sums, record_graph
    from audiodl.runtime.backends import make_backend
    spec = importlib.util.spec_from_file_location(
        "svd_quantize", os.path.join(ROOT, "recipes", "singing", "quantize.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    card = pretrained.card(tiny_card)
    src = os.path.dirname(str(tiny_card))
    for f in (os.path.basename(str(tiny_card)), card.weights):
        shutil.copy(os.path.join(src, f), tmp_path / f)
    cpath = str(tmp_path / os.path.basename(str(tiny_card)))
    f32 = export(cpath)  # next to the card: recorded in onnx.sha256
    assert make_backend(card, tmp_path).name == "onnx"
    with pytest.raises(ModelError, match="no ONNX graph"):
        make_backend(card, tmp_path, backend="onnx-int8")
    rng = np.random.default_rng(0)
    feats = [(rng.standard_normal((1, 300, 80)) * 2 - 4).astype(np.float32) for _ in range(2)]
    q8 = tmp_path / onnx_file(card, int8=True)
    mod.quantize(str(f32), str(q8), feats)
    assert make_backend(card, tmp_path).name == "onnx"  # not recorded yet: not used
    record_graph(q8)
    assert set(read_sums(tmp_path)) == {onnx_file(card), onnx_file(card, int8=True)}
    assert make_backend(card, tmp_path).name == "onnx-int8"
    assert make_backend(card, tmp_path, backend="onnx").name == "onnx"
    assert make_backend(card, tmp_path, backend="onnx-int8").meta["weights_sha256"] == card.sha256
    q8.write_bytes(q8.read_bytes() + b"\0")
    assert make_backend(card, tmp_path).name == "onnx"  # corrupt 8-bit graph: the float one
    with pytest.raises(ModelError, match="sha256 mismatch"):
        make_backend(card, tmp_path, backend="onnx-int8")
