"""ONNX export and the ONNX Runtime backend, for every registry entry.

Tolerance (stated in :data:`audiodl.pretrained.onnx.TOLERANCE`): ONNX Runtime
and torch agree within 1e-5 on probabilities (sigmoid outputs) and 1e-4 on CTC
log-probabilities, on random inputs of 37, 301 and 1000 frames (and 3
excerpts for excerpt models). Measured: <= 7e-7 and <= 7e-6 respectively.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from audiodl import pretrained
from audiodl.errors import ModelError
from audiodl.pretrained import onnx as ox
from audiodl.runtime.runner import ContextRunner

pytest.importorskip("onnxruntime")

MODELS = pretrained.list_models()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.path.join(ROOT, "assets", "examples", "speech.wav")


@pytest.mark.parametrize("name", MODELS)
def test_shipped_onnx_equals_torch(name):
    card = pretrained.card(name)
    path = ox.verified_onnx(card, pretrained.WEIGHTS_DIR)  # sha256 in onnx.sha256
    from audiodl.runtime.onnx_backend import OnnxBackend
    b = OnnxBackend(path, weights_sha256=card.sha256)  # made from the card's weights
    assert b.layout == card.layout
    err = ox.check_export(name, path)
    assert err <= ox.TOLERANCE[b.output]


@pytest.mark.parametrize("name", MODELS)
def test_shipped_onnx_matches_a_fresh_export(name, tmp_path):
    """The shipped graph is what `audiodl export` makes from the shipped weights today."""
    pytest.importorskip("onnx")
    from audiodl.runtime.onnx_backend import OnnxBackend
    card = pretrained.card(name)
    fresh = OnnxBackend(ox.export(name, tmp_path / "fresh.onnx"))
    shipped = OnnxBackend(ox.verified_onnx(card, pretrained.WEIGHTS_DIR))
    assert fresh.meta["weights_sha256"] == shipped.meta["weights_sha256"] == card.sha256
    for k in ("layout", "n_frames", "receptive_field", "time_stride", "context", "output"):
        assert fresh.meta[k] == shipped.meta[k], k
    rng = np.random.default_rng(1)
    # a valid-layout graph needs at least its context (the long-context onset model: 269)
    n = fresh.n_frames if fresh.layout == "excerpt" else max(200, int(fresh.meta["context"]) + 20)
    fe = card.frontend
    shape = {"excerpt": (2, n, fe.n_bins), "valid": (1, fe.n_channels, n, fe.n_bins)}.get(
        fresh.layout, (1, n, fe.n_bins))
    x = rng.normal(size=shape).astype(np.float32) - 2.0
    # float32 log-probabilities reach -15: allow a relative 1e-6 (onnx/ORT versions differ
    # in the last bit; the CTC models' outputs differed by 5e-7 relative on a fresh machine)
    np.testing.assert_allclose(fresh(x), shipped(x), rtol=1e-6, atol=1e-6)
    assert not (tmp_path / ox.SUMS_FILE).exists(), "-o elsewhere records no digest"


def _copy_model(name, dest):
    card = pretrained.card(name)
    for f in (f"{name}.json", card.weights, f"{name}.onnx", ox.SUMS_FILE):
        shutil.copy(pretrained.WEIGHTS_DIR / f, dest / f)
    return card


def test_auto_picks_onnx_and_falls_back_on_a_stale_or_corrupt_graph(tmp_path):
    from audiodl.runtime.backends import make_backend
    card = _copy_model("musicspeech_tcn", tmp_path)
    assert make_backend(card, tmp_path).name == "onnx"
    assert make_backend(card, tmp_path, backend="torch").name == "torch"
    # a graph whose bytes changed: auto falls back, an explicit 'onnx' says why
    p = tmp_path / "musicspeech_tcn.onnx"
    p.write_bytes(p.read_bytes() + b"\0")
    assert make_backend(card, tmp_path).name == "torch"
    with pytest.raises(ModelError, match="sha256 mismatch"):
        make_backend(card, tmp_path, backend="onnx")
    # a graph exported from other weights (the card's sha256 changed): stale
    shutil.copy(pretrained.WEIGHTS_DIR / "musicspeech_tcn.onnx", p)
    stale = card.replace(sha256="0" * 64)
    with pytest.raises(ModelError, match="other weights"):
        make_backend(stale, tmp_path, backend="onnx")
    os.remove(p)
    with pytest.raises(ModelError, match="audiodl export"):
        make_backend(card, tmp_path, backend="onnx")


def test_export_cli_for_a_card_path_then_onnx_backend(tmp_path):
    """A model that is not shipped (a card path): export next to it, then run it."""
    pytest.importorskip("onnx")
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    from audiodl.tasks.musicspeech import MusicSpeechDetector
    card = pretrained.card("musicspeech_tcn")
    for f in ("musicspeech_tcn.json", card.weights):
        shutil.copy(pretrained.WEIGHTS_DIR / f, tmp_path / f)
    cpath = str(tmp_path / "musicspeech_tcn.json")
    out = CliRunner().invoke(cli, ["export", cpath])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "musicspeech_tcn.onnx").exists()
    assert "musicspeech_tcn.onnx" in ox.read_sums(tmp_path)
    a = MusicSpeechDetector.from_pretrained(cpath, backend="onnx").activations(SPEECH)
    b = MusicSpeechDetector.from_pretrained(cpath, backend="torch").activations(SPEECH)
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)
    bad = CliRunner().invoke(cli, ["export", "no_such_model"])
    assert bad.exit_code != 0 and "unknown model" in bad.output


def test_lookahead_model_exports_its_asymmetric_context(tmp_path):
    """onset_cnn_ctx (261 past, 7 future frames): the graph records its lookahead, and
    ONNX Runtime and torch give the same activations through the runner."""
    pytest.importorskip("onnx")
    import torch

    from audiodl.features import PRESETS
    from audiodl.models.registry import build
    from audiodl.runtime.onnx_backend import OnnxBackend
    from audiodl.tasks.onsets import OnsetPipeline
    torch.manual_seed(0)
    m = build("onset_cnn_ctx", {})
    torch.nn.init.normal_(m.out.weight, std=0.3)
    card = pretrained.build_card(name="onsets_ctx_test", task="onsets", arch="onset_cnn_ctx",
                                 args={}, frontend=PRESETS["onset_cnn"], labels=["onset"],
                                 layout="valid", decoder={"offline": {"threshold": 0.5}})
    cpath = str(pretrained.save(m, card, tmp_path))
    graph = ox.export(cpath)
    b = OnnxBackend(graph)
    assert (b.context, b.future_frames) == (269, 7)
    a = OnsetPipeline.from_pretrained(cpath, backend="onnx").activations(SPEECH)
    t = OnsetPipeline.from_pretrained(cpath, backend="torch").activations(SPEECH)
    assert a.values.shape == t.values.shape
    np.testing.assert_allclose(a.values, t.values, atol=1e-5)


def test_threads_option_reaches_the_session(monkeypatch):
    from audiodl.runtime.onnx_backend import OnnxBackend, default_threads
    monkeypatch.setenv("AUDIODL_THREADS", "2")
    assert default_threads() == 2
    card = pretrained.card("musicspeech_cnn")
    b = OnnxBackend(ox.verified_onnx(card, pretrained.WEIGHTS_DIR))
    assert b.threads == 2
    monkeypatch.setenv("AUDIODL_THREADS", "zero")
    with pytest.raises(Exception, match="AUDIODL_THREADS"):
        default_threads()


# ------------------------------------------------------------ torch-free commands
TASK_COMMANDS = [["classify"], ["detect"], ["onsets"], ["segment"], ["index", "codes"],
                 ["transcribe"], ["transcribe", "--greedy"]]
if "singing" in {pretrained.card(n).task for n in MODELS}:
    TASK_COMMANDS.append(["singing", "--format", "json"])  # JSON: output even with no singing

_RUN = ("import sys\n"
        "from audiodl.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('TORCH', 'torch' in sys.modules, file=sys.stderr)\n"
        "print('NUMBA', 'numba' in sys.modules, file=sys.stderr)\n")


def _run(args):
    p = subprocess.run([sys.executable, "-c", _RUN] + args, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip(), "no output"
    return p.stderr


def _torch_imported(args):
    return "TORCH True" in _run(args)


@pytest.mark.parametrize("cmd", TASK_COMMANDS, ids=" ".join)
def test_task_command_does_not_import_torch(cmd):
    err = _run(cmd + [SPEECH])
    assert "TORCH False" in err
    if cmd[0] in ("classify", "detect", "onsets"):  # cold start: one short file, no numba
        assert "NUMBA False" in err


def test_backend_torch_does_import_torch():
    assert _torch_imported(["detect", "--backend", "torch", SPEECH])


def test_without_onnxruntime_auto_falls_back(monkeypatch):
    from audiodl.runtime import onnx_backend
    from audiodl.runtime.backends import make_backend
    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    card = pretrained.card("musicspeech_cnn")
    assert make_backend(card, pretrained.WEIGHTS_DIR).name == "numpy"
    card = pretrained.card("musicspeech_tcn")
    assert make_backend(card, pretrained.WEIGHTS_DIR).name == "torch"
    with pytest.raises(ModelError, match="onnxruntime is not installed"):
        make_backend(card, pretrained.WEIGHTS_DIR, backend="onnx")


def test_stream_graph_streams_like_the_float_graph():
    """onsets_cnn ships NAME.stream.onnx: pushed one frame at a time it gives the float
    graph's offline outputs, keeping 14 frames and 254 columns instead of 268 frames."""
    from audiodl.runtime.backends import make_backend
    from audiodl.runtime.onnx_backend import OnnxStreamBackend
    card = pretrained.card("onsets_cnn")
    assert ox.onnx_file(card, stream=True) in ox.read_sums(pretrained.WEIGHTS_DIR)
    b = make_backend(card, pretrained.WEIGHTS_DIR, backend="onnx")
    sb = b.stream()
    assert isinstance(sb, OnnxStreamBackend) and b.stream() is sb  # loaded once
    assert (sb.base_context, sb.cache_len) == (15, 254)
    feats = (np.random.default_rng(2).normal(size=(3, 400, 80)) * 2 - 3).astype(np.float32)
    whole = ContextRunner(b).run([feats])
    r = ContextRunner(b, stream=True)
    got = np.concatenate([r.push(feats[:, k:k + 1]).reshape(-1) for k in range(400)]
                         + [r.flush().reshape(-1)])
    np.testing.assert_allclose(got, whole[:, 0], atol=1e-5)
    # models without a stream graph: None, and stream=True changes nothing
    ms = make_backend(pretrained.card("musicspeech_tcn"), pretrained.WEIGHTS_DIR, backend="onnx")
    assert ms.stream() is None


def test_stale_stream_graph_is_refused(tmp_path):
    from audiodl.runtime.backends import make_backend
    card = _copy_model("onsets_cnn", tmp_path)
    shutil.copy(pretrained.WEIGHTS_DIR / "onsets_cnn.stream.onnx", tmp_path)
    b = make_backend(card, tmp_path, backend="onnx")
    with open(tmp_path / "onsets_cnn.stream.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        b.stream()
