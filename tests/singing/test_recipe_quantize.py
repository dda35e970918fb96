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
    first = mod.single_channel_convs(f32)
    assert len(first) == 1  # the first convolution (one input channel) stays float
    g = onnx.load(q8).graph
    dq_out = {o for n in g.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = {n.name: n for n in g.node if n.op_type == "Conv"}
    assert convs[first[0]].input[1] not in dq_out  # its weights are not dequantised int8
    assert any(n.input[1] in dq_out for k, n in convs.items() if k != first[0])
