"""The one chunked-context runner equals whole-input processing for every layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiodl.features import PRESETS, spectrogram
from audiodl.models.registry import build
from audiodl.runtime.backends import TorchBackend
from audiodl.runtime.runner import ContextRunner
from audiodl.runtime.source import feature_chunks


def _chunks(x, sizes):
    out, s, i = [], 0, 0
    while s < x.shape[-2]:
        n = sizes[i % len(sizes)]
        out.append(x[..., s:s + n, :])
        s, i = s + n, i + 1
    return out


def test_same_layout_tcn_equals_whole():
    torch.manual_seed(0)
    m = build("musicspeech_tcn", {}).eval()
    feats = np.random.default_rng(1).standard_normal((517, 40)).astype(np.float32)
    with torch.inference_mode():
        whole = torch.sigmoid(m(torch.from_numpy(feats)[None]))[0].numpy()
    for sizes, chunk in (([50], 6000), ([333, 7, 1], 6000), ([517], 64), ([1], 6000)):
        r = ContextRunner(TorchBackend(m, "same"), chunk_frames=chunk)
        got = r.run(_chunks(feats, sizes))
        np.testing.assert_allclose(got, whole, atol=1e-5, err_msg=str(sizes))


def test_valid_layout_onset_cnn_equals_whole_and_online():
    torch.manual_seed(0)
    m = build("onset_cnn_bn", {}).eval()
    feats = np.random.default_rng(2).standard_normal((3, 260, 80)).astype(np.float32)
    with torch.inference_mode():
        whole = torch.sigmoid(m(torch.from_numpy(feats)[None], pad=True))[0].numpy()
    for sizes, chunk in (([260], 6000), ([40, 3], 6000), ([1], 6000), ([260], 17)):
        got = ContextRunner(TorchBackend(m, "valid"), chunk_frames=chunk).run(
            _chunks(feats, sizes))
        np.testing.assert_allclose(got[:, 0], whole, atol=1e-5, err_msg=str(sizes))
    short = feats[:, :3]  # shorter than the context
    with torch.inference_mode():
        ref = torch.sigmoid(m(torch.from_numpy(short)[None], pad=True))[0].numpy()
    got = ContextRunner(TorchBackend(m, "valid")).run([short])
    np.testing.assert_allclose(got[:, 0], ref, atol=1e-5)


def test_valid_layout_with_lookahead_equals_whole_and_online():
    """The long-context onset network: 261 past and 7 future frames, chunked or streamed."""
    torch.manual_seed(0)
    m = build("onset_cnn_ctx", {"levels": 7}).eval()
    torch.nn.init.normal_(m.out.weight, std=0.5)  # a head that contributes
    feats = np.random.default_rng(3).standard_normal((3, 700, 80)).astype(np.float32)
    with torch.inference_mode():
        whole = torch.sigmoid(m(torch.from_numpy(feats)[None], pad=True))[0].numpy()
    backend = TorchBackend(m, "valid")
    assert (backend.context, backend.future_frames) == (269, 7)
    for sizes, chunk in (([700], 6000), ([40, 3], 6000), ([1], 6000), ([700], 17)):
        runner = ContextRunner(backend, chunk_frames=chunk)
        got = runner.run(_chunks(feats, sizes))
        np.testing.assert_allclose(got[:, 0], whole, atol=1e-5, err_msg=str(sizes))
    runner = ContextRunner(backend)
    assert runner.latency_frames == 7
    # streaming: an output is returned as soon as its 7 future frames have arrived
    outs = [runner.push(feats[:, k:k + 1]) for k in range(20)]
    assert sum(len(o) for o in outs) == 20 - 7
    short = feats[:, :3]
    with torch.inference_mode():
        ref = torch.sigmoid(m(torch.from_numpy(short)[None], pad=True))[0].numpy()
    np.testing.assert_allclose(ContextRunner(backend).run([short])[:, 0], ref, atol=1e-5)


def test_stream_step_equals_whole_for_any_push_pattern():
    """stream=True keeps the head's past columns: same outputs, one new column per frame."""
    torch.manual_seed(1)
    m = build("onset_cnn_ctx", {"levels": 7}).eval()
    torch.nn.init.normal_(m.out.weight, std=0.5)
    feats = np.random.default_rng(4).standard_normal((3, 600, 80)).astype(np.float32)
    backend = TorchBackend(m, "valid")
    sb = backend.stream()
    assert (sb.base_context, sb.cache_len, sb.cache_channels) == (15, 254, 260)
    assert TorchBackend(build("onset_cnn_bn", {}).eval(), "valid").stream() is None
    with torch.inference_mode():
        whole = torch.sigmoid(m(torch.from_numpy(feats)[None], pad=True))[0].numpy()
    for sizes in ([1], [600], [40, 3], [7, 250, 1]):
        got = ContextRunner(backend, stream=True).run(_chunks(feats, sizes))
        np.testing.assert_allclose(got[:, 0], whole, atol=1e-5, err_msg=str(sizes))
    runner = ContextRunner(backend, stream=True)
    outs = [runner.push(feats[:, k:k + 1]) for k in range(20)]
    assert [len(o) for o in outs] == [0] * 7 + [1] * 13  # 7 future frames, as without
    # only the CNN's own context is kept as frames, the head's past as 254 columns
    assert runner._buf.shape[-2] == 14 and runner._cache.shape == (1, 260, 254)
    for n in (1, 3, 8, 20):  # inputs shorter than any context
        short = feats[:, :n]
        with torch.inference_mode():
            ref = torch.sigmoid(m(torch.from_numpy(short)[None], pad=True))[0].numpy()
        got = ContextRunner(backend, stream=True).run([short])
        np.testing.assert_allclose(got[:, 0], ref, atol=1e-5, err_msg=str(n))


def test_excerpt_layout_equals_manual_excerpts():
    torch.manual_seed(0)
    m = build("musicspeech_cnn", {}).eval()
    feats = np.random.default_rng(3).standard_normal((437, 40)).astype(np.float32)
    starts = range(0, 437 - 80 + 1, 40)
    ex = np.stack([feats[s:s + 80] for s in starts])
    with torch.inference_mode():
        ref = torch.sigmoid(m(torch.from_numpy(ex))).numpy()
    for sizes in ([437], [13, 100], [1]):
        got = ContextRunner(TorchBackend(m, "excerpt"), hop=40, batch=3).run(
            _chunks(feats, sizes))
        np.testing.assert_allclose(got, ref, atol=1e-5)
    # shorter than one excerpt: padded with its floor
    got = ContextRunner(TorchBackend(m, "excerpt"), hop=40).run([feats[:30]])
    assert got.shape == (1, 1)


def test_feature_chunks_equal_offline_front_end():
    cfg = PRESETS["lidy2015"]
    y = np.random.default_rng(0).standard_normal(22050 * 7 + 77).astype(np.float32) * 0.1
    ref = spectrogram(y, cfg)
    for seconds in (0.5, 2.0, 100.0):
        got = np.concatenate(list(feature_chunks(y, 22050, config=cfg, chunk_seconds=seconds)),
                             axis=-2)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4)


def test_bad_frames_are_refused():
    from audiodl.errors import ParameterError
    m = build("musicspeech_tcn", {}).eval()
    with pytest.raises(ParameterError):
        ContextRunner(TorchBackend(m, "same")).push(np.zeros(10, np.float32))


class _CumsumBackend:
    """An unbounded-context 'model' (running sum), stride 2: exposes window-layout bookkeeping."""

    layout, time_stride = "window", 2

    def __call__(self, x):
        c = np.cumsum(x[0].sum(axis=-1))[::2]
        return c[None, :, None].astype(np.float32)


def test_window_layout_whole_when_short_and_independent_of_chunking():
    feats = np.random.default_rng(4).standard_normal((301, 5)).astype(np.float32)
    be = _CumsumBackend()
    whole = be(feats[None])[0]
    got = ContextRunner(be, window=300, overlap=20).run([feats[:100], feats[100:]])
    np.testing.assert_allclose(got, whole, rtol=1e-6)  # fits one window (+ overlaps): exact
    ref = ContextRunner(be, window=60, overlap=10).run([feats])
    assert ref.shape == (151, 1)
    for sizes in ([7], [61, 3], [1]):
        got = ContextRunner(be, window=60, overlap=10).run(_chunks(feats, sizes))
        np.testing.assert_allclose(got, ref, rtol=1e-6, err_msg=str(sizes))
    # the second window (input frames 60-120) is run on frames 50-130: 10 frames of real
    # context on each side, and only its own 30 outputs are kept
    second = be(feats[None, 50:130])[0]
    np.testing.assert_allclose(ref[30:60], second[5:35], rtol=1e-5)
