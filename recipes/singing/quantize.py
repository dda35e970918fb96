"""8-bit ONNX graph of a singing model (ONNX Runtime static quantisation) and what it costs.

Usage::

    python recipes/singing/quantize.py --model singing_cnn \\
        --calibration "$AUDIODL_DATA/singing/train2/manifest.jsonl" \\
        --manifest "$AUDIODL_DATA/singing/valid2/manifest.jsonl" --out singing_cnn.int8.onnx

The network is four fifths of the time of ``audiodl singing`` on one core
(``speed.py``), so a faster graph is the one lever for the 500x goal.
This exports the model's float graph (``audiodl export``), quantises its
convolutions with :func:`onnxruntime.quantization.quantize_static` (QDQ,
int8 weights per channel, uint8 activations, calibrated on the first
``--frames`` frames of ``--n-calibration`` files of ``--calibration``: use
training files, never test files), then runs both graphs on the files of
``--manifest`` through the same chunked runner and decoder (the card's) and
reports, per graph, the network's seconds (one thread), the frame error and
F1 (labels joined as in the card's ``training.data.label_join_gap``, else as
written) and the largest difference of the probabilities.

``--ship`` writes the 8-bit graph next to the model's card as
``NAME.int8.onnx`` and records its sha256 in ``onnx.sha256`` there: for a
shipped model that is the package's weights folder, and ``audiodl singing``
(``--backend auto``) then runs it on CPU (``--backend onnx`` runs the float
graph). Its metadata keeps the float export's ``weights_sha256``, so after a
weight change the stale 8-bit graph is refused and the float graph is used.
Ship it only when it keeps the test score (``evaluate.py --backend onnx-int8``).

Before quantising, ``--equalize activations`` (the default, and the shipped graph's since the
eleventh session) rescales the first two convolutions so that the first one's output maps span
equal ranges (:func:`equalize`; the float function is unchanged); ``--equalize none`` gives the
graphs shipped before it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def float_convs(path, also=()) -> list:
    """Names of the graph's Conv nodes that stay float: one input channel, or a 1x1 kernel,
    or a name containing one of the strings ``also``.

    A convolution of one input channel (the first layer) is slower in 8 bits
    than in float in ONNX Runtime. The 1x1 convolutions (the dense layers
    after the first, near the output) cost little, and their 8-bit rounding
    moved the probabilities most: valid2 error 0.133 with them in 8 bits,
    0.126 with them float, 0.116 for the float graph (round 19, tenth
    session; recipes/singing/README.md).
    """
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type != "Conv" or len(n.input) < 2 or n.input[1] not in weights:
            continue
        w = weights[n.input[1]]
        if (w.ndim == 4 and (w.shape[1] == 1 or w.shape[2:] == (1, 1))) or \
                any(k in n.name for k in also):
            out.append(n.name)
    return out


#: ``--calibrate-method`` -> ONNX Runtime's calibration method (how each activation's range is
#: chosen from the calibration data: its extremes, a percentile of it, or the KL-optimal cut)
CALIBRATE_METHODS = ("minmax", "percentile", "entropy")


#: ``--equalize`` choices (cross-layer equalisation of the first two convolutions)
EQUALIZE = ("none", "weights", "activations")


def equalize(float_onnx, out, features=None, *, how: str = "weights") -> dict:
    """Cross-layer equalisation of the float graph's first two convolutions into ``out``.

    The first convolution (one input channel, left float by :func:`quantize`) feeds a
    leaky ReLU and then the second convolution. A leaky ReLU is positively homogeneous, so
    dividing output map ``i`` of the first convolution (weights and bias) by ``s_i > 0`` and
    multiplying input channel ``i`` of the second by ``s_i`` gives the same float function
    (Nagel et al., ICCV 2019) while equalising the ranges that the 8-bit graph quantises.

    Parameters
    ----------
    float_onnx, out : str
    features : list of np.ndarray or None
        Calibration inputs (``how="activations"``).
    how : {'weights', 'activations'}
        ``weights``: ``s_i = sqrt(r1_i / r2_i)``, the largest weight magnitudes of map ``i``
        in the first and of channel ``i`` in the second convolution (the paper's choice).
        ``activations``: ``s_i`` = map ``i``'s largest leaky-ReLU output on ``features``
        over the geometric mean of those maxima.

    Returns
    -------
    dict
        ``scales`` (min, max) and the node names.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    m = onnx.load(float_onnx)
    inits = {t.name: t for t in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    first = convs[0]
    act = next(n for n in m.graph.node if n.input and n.input[0] == first.output[0])
    second = next(n for n in m.graph.node if n.op_type == "Conv" and n.input[0] == act.output[0])
    if act.op_type not in ("LeakyRelu", "Relu"):
        raise ValueError(f"expected a (leaky) ReLU after {first.name}, got {act.op_type}")
    w1 = numpy_helper.to_array(inits[first.input[1]]).astype(np.float64)
    w2 = numpy_helper.to_array(inits[second.input[1]]).astype(np.float64)
    if how == "weights":
        r1 = np.abs(w1).reshape(len(w1), -1).max(axis=1)
        r2 = np.abs(w2).transpose(1, 0, 2, 3).reshape(w2.shape[1], -1).max(axis=1)
        s = np.sqrt(np.maximum(r1, 1e-12) / np.maximum(r2, 1e-12))
    elif how == "activations":
        import onnxruntime as ort
        probe = onnx.ModelProto()
        probe.CopyFrom(m)  # the graph before rescaling, its activation exposed as an output
        probe.graph.output.append(onnx.helper.make_tensor_value_info(act.output[0],
                                                                     onnx.TensorProto.FLOAT,
                                                                     None))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(probe.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        amax = np.zeros(w1.shape[0])
        for x in features:
            a = sess.run([act.output[0]], {"x": x})[0]  # (1, maps, time, bands)
            amax = np.maximum(amax, np.abs(a).max(axis=(0, 2, 3)))
        amax = np.maximum(amax, 1e-6)
        s = amax / np.exp(np.mean(np.log(amax)))
    else:
        raise ValueError(f"how must be 'weights' or 'activations', got {how!r}")

    def put(name, arr):
        inits[name].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))

    put(first.input[1], w1 / s[:, None, None, None])
    if len(first.input) > 2:
        put(first.input[2], numpy_helper.to_array(inits[first.input[2]]).astype(np.float64) / s)
    put(second.input[1], w2 * s[None, :, None, None])
    onnx.save(m, out)
    return {"how": how, "first": first.name.lstrip("/"), "second": second.name.lstrip("/"),
            "scale_min": round(float(s.min()), 4), "scale_max": round(float(s.max()), 4)}


def quantize(float_onnx, out, features, *, calibrate_method: str = "minmax",
             also_float=()) -> None:
    """Quantise ``float_onnx`` to ``out`` (QDQ, int8 convolutions) calibrated on ``features``.

    Convolutions with one input channel or a 1x1 kernel stay float (:func:`float_convs`).

    Parameters
    ----------
    float_onnx, out : str
    features : list of np.ndarray [shape=(1, n_frames, n_bins)], float32
        Calibration inputs of the graph's ``x``.
    calibrate_method : {'minmax', 'percentile', 'entropy'}
        ONNX Runtime's ``CalibrationMethod`` (``MinMax``: the shipped graphs up to the
        eleventh session; ``Percentile``: the 99.999th percentile of each activation's
        magnitudes; ``Entropy``: the range that minimises the KL divergence of its histogram).
    also_float : sequence of str
        More Conv nodes to leave float: those whose name contains one of these strings
        (e.g. ``"features.3/"`` for the second convolution).
    """
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[calibrate_method]
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(features)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"x": x}

    with tempfile.TemporaryDirectory(prefix="svd-quant-") as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(float_onnx, pre)
        quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, op_types_to_quantize=["Conv"],
                        nodes_to_exclude=float_convs(pre, also_float), calibrate_method=method)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="shipped model name or card .json")
    ap.add_argument("--calibration", required=True, help="manifest of calibration (training) files")
    ap.add_argument("--n-calibration", type=int, default=8)
    ap.add_argument("--frames", type=int, default=1500, help="frames per calibration file")
    ap.add_argument("--equalize", default="activations", choices=EQUALIZE,
                    help="cross-layer equalisation of the first two convolutions before "
                         "quantising (see equalize(); the shipped graph since the eleventh "
                         "session: activations; before it: none)")
    ap.add_argument("--also-float", default="",
                    help="comma-separated parts of Conv node names to leave float as well "
                         "(e.g. features.3/,features.7/)")
    ap.add_argument("--skip-short", action="store_true",
                    help="calibrate on the first --n-calibration files with at least --frames "
                         "frames (equal shapes: the percentile and entropy calibrators need them)")
    ap.add_argument("--calibrate-method", default="minmax", choices=CALIBRATE_METHODS,
                    help="how activation ranges are calibrated (ONNX Runtime's CalibrationMethod)")
    ap.add_argument("--manifest", default=None, action="append",
                    help="files to compare the graphs on (repeatable)")
    ap.add_argument("--out", default=None, help="the 8-bit .onnx file")
    ap.add_argument("--ship", action="store_true",
                    help="write NAME.int8.onnx next to the card and record its sha256")
    ap.add_argument("--json", default=None, help="write the comparison here")
    args = ap.parse_args(argv)
    if (args.out is None) == (not args.ship):
        ap.error("give --out FILE or --ship")
    os.environ["AUDIODL_THREADS"] = "1"

    import numpy as np
    import onnxruntime as ort

    from audiodl import pretrained
    from audiodl.data.manifest import read_manifest, read_segments
    from audiodl.evaluation.singing import aggregate, evaluate
    from audiodl.pretrained.onnx import export
    from audiodl.runtime.onnx_backend import OnnxBackend
    from audiodl.tasks.singing import SingingDetector
    from audiodl.types import Activations

    pipe = SingingDetector.from_pretrained(args.model, backend="torch")
    if args.ship:
        from audiodl.pretrained import resolve
        from audiodl.pretrained.onnx import onnx_file
        _, wdir = resolve(args.model or pretrained.default_model("singing"))
        args.out = os.path.join(str(wdir), onnx_file(pipe.card, int8=True))
    feats = []
    for it in read_manifest(args.calibration):
        if len(feats) == args.n_calibration:
            break
        f = np.concatenate(list(pipe.feature_chunks(it["audio"])))[:args.frames]
        if args.skip_short and len(f) < args.frames:
            continue
        feats.append(f[None].astype(np.float32))
    with tempfile.TemporaryDirectory(prefix="svd-quant-") as tmp:
        float_onnx = os.path.join(tmp, "float.onnx")
        export(args.model or pretrained.default_model("singing"), float_onnx)
        also = [k for k in args.also_float.split(",") if k]
        source, eq = float_onnx, None
        if args.equalize != "none":
            source = os.path.join(tmp, "equalized.onnx")
            eq = equalize(float_onnx, source, feats, how=args.equalize)
            a, b = OnnxBackend(float_onnx), OnnxBackend(source)  # the same float function
            pipe.backend = a
            va = pipe.activation_values(iter([feats[0][0]]))
            pipe.backend = b
            eq["float_max_abs_difference"] = float(
                np.abs(va - pipe.activation_values(iter([feats[0][0]]))).max())
        quantize(source, args.out, feats, calibrate_method=args.calibrate_method,
                 also_float=also)
        if args.ship:
            from audiodl.pretrained.onnx import record_graph
            record_graph(args.out)
        out = {"model": pipe.card.name, "calibration_files": len(feats),
               "calibration_frames": args.frames, "calibrate_method": args.calibrate_method,
               "skip_short": args.skip_short, "also_float": args.also_float,
               "equalize": eq,
               "graph": args.out}
        if args.manifest:
            card = pipe.card
            data = card.training.data if isinstance(card.training.data, dict) else {}
            join = float(data.get("label_join_gap") or 0.0)
            held = set(data.get("held_out_voices", []))
            items = [it for m in args.manifest for it in read_manifest(m)
                     if not {(it.get("meta") or {}).get("voice"),
                             (it.get("meta") or {}).get("engine")} & held]
            graphs = {"float32": OnnxBackend(float_onnx), "int8": OnnxBackend(args.out)}
            res = {k: [] for k in graphs}
            secs = dict.fromkeys(graphs, 0.0)
            diff = 0.0
            for it in items:
                chunks = list(pipe.feature_chunks(it["audio"]))
                vals = {}
                for name, backend in graphs.items():
                    pipe.backend = backend
                    t0 = time.perf_counter()
                    vals[name] = pipe.activation_values(iter(chunks))
                    secs[name] += time.perf_counter() - t0
                    act = Activations(values=vals[name], fps=pipe.fps, labels=pipe.labels,
                                      audio_duration=float(it["duration"]))
                    res[name].append(evaluate(read_segments(it["annotations"]["vocals"]),
                                              pipe.decode(act), duration=act.duration,
                                              join_gap=join))
                diff = max(diff, float(np.abs(vals["float32"] - vals["int8"]).max()))
            audio = sum(float(it["duration"]) for it in items)
            out.update({"manifest": args.manifest, "n_files": len(items), "label_join_gap": join,
                        "max_abs_probability_difference": round(diff, 4),
                        "ort": ort.__version__})
            for name in graphs:
                a = aggregate(res[name])
                out[name] = {"network_seconds": round(secs[name], 2),
                             "network_x_real_time": round(audio / secs[name], 1),
                             "error": round(a["error"], 4), "f1": round(a["f1"], 4)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
