"""The similarity task: codes, decoding, formats, chunked == whole, scores."""

import json

import numpy as np
import pytest

from audiodl.decoders.hamming import (CodeParams, binarize, decode_codes, hamming_distances,
                                      pack_bits, unpack_bits)
from audiodl.errors import ParameterError


def test_pack_unpack_and_hamming_reference():
    rng = np.random.default_rng(1)
    bits = rng.random((4, 64)) > 0.5
    packed = pack_bits(bits)
    assert packed.shape == (4, 8) and packed.dtype == np.uint8
    np.testing.assert_array_equal(unpack_bits(packed, 64), bits)
    d = hamming_distances(packed, packed)
    want = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    np.testing.assert_array_equal(d, want)
    with pytest.raises(ParameterError, match="multiple of 8"):
        pack_bits(np.zeros(12, bool))


def test_decode_pools_frames_then_thresholds():
    v = np.array([[0.9, 0.2, 0.6, 0.4, 0, 0, 0, 1], [0.7, 0.4, 0.3, 0.4, 0, 0, 1, 1]])
    code, emb = decode_codes(v)
    np.testing.assert_allclose(emb, 2 * v.mean(0) - 1, atol=1e-6)
    np.testing.assert_array_equal(unpack_bits(code, 8),
                                  [True, False, False, False, False, False, False, True])
    np.testing.assert_array_equal(binarize(v.mean(0), threshold=0.35),
                                  pack_bits(v.mean(0) > 0.35))
    with pytest.raises(ParameterError, match="threshold"):
        CodeParams(threshold=1.0)
    assert CodeParams.from_dict({"threshold": 0.4}).replace(threshold=None).threshold == 0.4
    with pytest.raises(ParameterError, match="unknown"):
        CodeParams.from_dict({"thresh": 0.4})


@pytest.fixture(scope="module")
def pipe(tiny_card):
    from audiodl.tasks.similarity import SimilarityPipeline
    return SimilarityPipeline.from_pretrained(tiny_card)


def test_pipeline_codes_and_public_face(pipe, tiny_card, audio_dir):
    import audiodl
    f = str(audio_dir / "t0.wav")
    c = pipe(f)
    assert c.n_bits == 64 and c.bits.shape == (8,) and c.embedding.shape == (64,)
    assert c.source == f and c.duration == pytest.approx(8.0, abs=1e-3)
    np.testing.assert_array_equal(unpack_bits(c.bits, 64), c.embedding > 0)
    same = audiodl.codes(f, model=tiny_card)
    assert same.hex() == c.hex() and same.hamming(c) == 0
    assert type(audiodl.Pipeline.from_pretrained(tiny_card)).__name__ == "SimilarityPipeline"


def test_chunked_equals_whole(pipe, audio_dir):
    from tests.similarity.conftest import SR, make_track
    y = np.concatenate([make_track(7, duration=20.0)] * 2)
    whole = pipe.activations(y, SR)
    pipe_small = type(pipe)(pipe.card, pipe.backend)
    pipe_small.chunk_frames = 64  # many backend calls with context
    chunked = pipe_small.activations(y, SR)
    np.testing.assert_allclose(chunked.values, whole.values, atol=1e-5)
    assert whole.fps == pytest.approx(pipe.config.fps / 4)


def test_formats_parse_back(pipe, audio_dir):
    f = str(audio_dir / "t1.wav")
    c = pipe(f)
    path, code = pipe.write(c, "text").rstrip("\n").split("\t")
    assert path == f and bytes.fromhex(code) == c.bits.tobytes()
    doc = json.loads(pipe.write(c, "json"))
    assert doc[0]["code"] == c.hex() and doc[0]["n_bits"] == 64
    np.testing.assert_allclose(doc[0]["embedding"], c.embedding, atol=1e-5)
    with pytest.raises(ParameterError):
        pipe.write(c, "csv")


def test_evaluate_and_retrieval_scores(pipe):
    from audiodl.evaluation.similarity import knn_recall, retrieval_scores
    from audiodl.tasks.similarity import Codes
    # two groups; item 0's ranking: 1 (same), 2 (other), 3 (other) -> AP 1
    s = np.array([[0, .9, .5, .1], [.9, 0, .2, .3], [.5, .2, 0, .8], [.1, .3, .8, 0]])
    r = retrieval_scores(s, ["a", "a", "b", "b"], k=1)
    assert r["map"] == 1.0 and r["top1"] == 1.0 and r["n_queries"] == 4
    r = retrieval_scores(-s, ["a", "a", "b", "b"], k=1)  # worst order: AP 1/3 each
    assert r["map"] == pytest.approx(1 / 3) and r["top1"] == 0.0
    assert knn_recall([[1, 2], [3, 4]], [[2, 9], [4, 3]]) == 0.75
    rng = np.random.default_rng(0)
    e = rng.standard_normal((4, 64)).astype(np.float32)
    e[1], e[3] = e[0] + 0.1, e[2] + 0.1
    codes = [Codes(pack_bits(x > 0), np.tanh(x), 64) for x in e]
    for measure in ("exact", "hamming"):
        assert pipe.evaluate(["x", "x", "y", "y"], codes, measure=measure)["map"] == 1.0


def test_plot_shows_frame_agreement(pipe, audio_dir, tmp_path):
    f = str(audio_dir / "t0.wav")
    act = pipe.activations(f)
    dest = pipe.plot(f, None, pipe.decode(act), act, str(tmp_path / "p.png"), title="t0")
    assert (tmp_path / "p.png").stat().st_size > 1000 and dest.endswith("p.png")
