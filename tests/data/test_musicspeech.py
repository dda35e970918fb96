import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from audiodl.data.manifest import read_manifest, read_segments
from audiodl.data.synth.common import activity
from audiodl.data.synth.runner import generate_corpus

from .conftest import require_engines


def _hashes(out_dir):
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted((out_dir / "audio").glob("*.flac"))}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    require_engines("musicspeech")
    out = tmp_path_factory.mktemp("ms")
    generate_corpus("musicspeech", out, hours=0.02, seed=5, jobs=1, keep_stems=True)
    return out


def test_manifest_and_labels(corpus):
    items = read_manifest(corpus / "manifest.jsonl", check_files=True)
    assert len(items) >= 3
    info = json.loads((corpus / "corpus.json").read_text())
    assert info["n_items"] == len(items) and info["task"] == "musicspeech"
    for it in items:
        y, sr = sf.read(it["audio"])
        assert sr == it["sr"] == 22050 and abs(len(y) / sr - it["duration"]) < 1e-3
        segs = read_segments(it["annotations"]["segments"])
        assert {s[2] for s in segs} <= {"music", "speech"}
        assert sorted({s[2] for s in segs}) == it["labels"]
        for start, end, _ in segs:
            assert 0 <= start < end <= it["duration"] + 1e-3


def test_labels_match_stems(corpus):
    """Outside its segments a stem is silent; inside, it is mostly active."""
    for it in read_manifest(corpus / "manifest.jsonl"):
        segs = read_segments(it["annotations"]["segments"])
        for name, path in it["stems"].items():
            y, sr = sf.read(path, dtype="float32")
            if not np.any(y):
                assert not any(s[2] == name for s in segs)
                continue
            act, hop = activity(y, sr)
            t = np.arange(len(act)) * hop / sr
            inside = np.zeros(len(act), dtype=bool)
            for a, b, lab in segs:
                if lab == name:
                    inside |= (t >= a - 0.011) & (t < b + 0.011)
            assert not np.any(act & ~inside), (it["id"], name)  # nothing active is unlabelled
            assert act[inside].mean() > 0.5, (it["id"], name)


def test_same_seed_same_corpus_parallel_and_resume(corpus, tmp_path):
    # -j 2 in another folder gives byte-identical audio (and labels)
    generate_corpus("musicspeech", tmp_path, hours=0.02, seed=5, jobs=2, keep_stems=True)
    assert _hashes(tmp_path) == _hashes(corpus)
    # resume: delete one finished item, run again: only it is redone, identically
    victim = sorted((tmp_path / ".items").glob("*.json"))[1]
    (tmp_path / "audio" / (victim.stem + ".flac")).unlink()
    victim.unlink()
    generate_corpus("musicspeech", tmp_path, hours=0.02, seed=5, jobs=1, keep_stems=True)
    assert _hashes(tmp_path) == _hashes(corpus)
    a = (corpus / "manifest.jsonl").read_text()
    b = (tmp_path / "manifest.jsonl").read_text()
    assert a == b


def test_other_seed_differs_and_wrong_folder(corpus, tmp_path):
    from audiodl.errors import ParameterError

    with pytest.raises(ParameterError, match="seed"):
        generate_corpus("musicspeech", corpus, hours=0.02, seed=6)
