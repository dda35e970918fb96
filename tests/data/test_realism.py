"""Realism checks score through audiodl.evaluation (no scoring code of their own)."""

import numpy as np
import pytest

from audiodl.data.manifest import write_manifest, write_times
from audiodl.io.audio import save
from audiodl.testing import piano_like

SR = 22050


def _onset_manifest(tmp_path):
    items = []
    truth = {"a": [0.3, 0.9, 1.5], "b": [0.5, 1.0], "silent": []}
    for name, times in truth.items():
        y = piano_like(times, sr=SR, length=2.0) if times else np.zeros(2 * SR, np.float32)
        save(tmp_path / f"{name}.wav", y * 0.5, SR)
        write_times(tmp_path / f"{name}.onsets", times)
        items.append({"id": name, "audio": str(tmp_path / f"{name}.wav"), "duration": 2.0,
                      "sr": SR, "split": "test",
                      "annotations": {"onsets": str(tmp_path / f"{name}.onsets")}})
    return write_manifest(tmp_path / "m.jsonl", items), truth


def test_onset_scores_use_evaluation_onsets(tmp_path):
    librosa = pytest.importorskip("librosa")
    from audiodl.data.realism import onset_scores
    from audiodl.evaluation.onsets import evaluate, summarize
    from audiodl.io.audio import load

    manifest, truth = _onset_manifest(tmp_path)
    res = onset_scores(manifest)
    per = []
    for name, ref in truth.items():
        y, _ = load(tmp_path / f"{name}.wav")
        est = librosa.onset.onset_detect(y=y, sr=SR, units="time")
        per.append(evaluate(ref, est, window=0.05, combine=0.0))
    s = summarize(per)
    assert res["n_files"] == 3 and res["n_ref"] == 5
    assert res["f_sum"] == pytest.approx(s["sum"]["f_measure"])
    assert res["f_mean"] == pytest.approx(s["mean"]["f_measure"])
    # the silent file (no onsets annotated) scores 0 under the mir_eval convention
    assert per[2]["f_measure"] == 0.0 and res["f_mean"] < 1.0


def test_asr_wer_uses_evaluation_asr(tmp_path, monkeypatch):
    from audiodl.data import realism

    texts = {"u1": "The cat sat.", "u2": "Hello, world"}
    hyps = {"u1": "the cat sat down", "u2": "hello"}
    items = []
    for i, (name, text) in enumerate(texts.items()):
        save(tmp_path / f"{name}.wav", np.full(1600, 0.01 * (i + 1), np.float32), 16000)
        items.append({"id": name, "audio": str(tmp_path / f"{name}.wav"), "duration": 0.1,
                      "sr": 16000, "split": "test", "text": text})
    manifest = write_manifest(tmp_path / "m.jsonl", items)

    class FakeRecogniser:  # keyed by the constant level written above
        def __call__(self, y, sr):
            return hyps["u1"] if abs(float(y[0]) - 0.01) < 1e-3 else hyps["u2"]

    monkeypatch.setattr(realism, "_Recogniser", FakeRecogniser)
    res = realism.asr_wer(manifest)
    # 1 insertion + 1 deletion over 5 normalised reference words
    assert res["wer"] == pytest.approx(2 / 5)
    assert (res["insertions"], res["deletions"], res["substitutions"]) == (1, 1, 0)
    assert res["n_items"] == 2 and res["n_words"] == 5
