"""The ASR task on the shared contract: pipeline, long inputs, formats, CLI, API."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audiodl.testing import chirp, noise


@pytest.fixture(scope="module")
def pipe(tiny_card):
    from audiodl.tasks.asr import AsrPipeline
    return AsrPipeline.from_pretrained(str(tiny_card))


def _audio(seconds, sr=16000):
    return (chirp(200, 4000, sr=sr, duration=seconds) + noise(sr=sr, duration=seconds)
            ).astype(np.float32)


def test_activations_are_ctc_log_probabilities(pipe):
    act = pipe.activations(_audio(2.0), 16000)
    assert act.fps == pytest.approx(100 / 3)
    assert act.values.shape == (67, len(pipe.labels)) and act.labels == pipe.labels
    np.testing.assert_allclose(np.exp(act.values).sum(axis=1), 1.0, atol=1e-4)


def test_one_window_equals_a_direct_model_call(pipe):
    import torch
    y = _audio(3.0)
    feats = pipe.features(pipe.load(y, 16000))
    with torch.no_grad():
        ref = torch.log_softmax(pipe.backend.model(torch.from_numpy(feats)[None]), -1)[0]
    np.testing.assert_allclose(pipe.activations(y, 16000).values, ref.numpy(), atol=1e-5)


def test_long_input_windows_cover_every_frame(tiny_card):
    """Windows with overlap: same length as one call, close to it away from the cuts."""
    from audiodl.tasks.asr import AsrPipeline
    y = _audio(9.0)
    whole = AsrPipeline.from_pretrained(str(tiny_card)).activations(y, 16000).values
    win = AsrPipeline.from_pretrained(str(tiny_card))
    win.window_seconds, win.overlap_seconds = 2.0, 1.0
    chunks = list(win.feature_chunks(y, 16000))
    feats = np.concatenate(chunks)
    # feed the features in ragged pieces: the result does not depend on the chunking
    pieces = [feats[i:i + 77] for i in range(0, len(feats), 77)]
    a = win.activation_values(iter(pieces))
    b = win.activation_values(iter([feats]))
    assert a.shape == whole.shape
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.mean(np.abs(a - whole)) < 0.05 * np.mean(np.abs(whole))


def test_decode_write_and_parse_back(pipe):
    from audiodl.types import Activations, Transcript
    from audiodl.decoders.ctc import text_to_ids
    from .conftest import peaked_emission
    lp, _ = peaked_emission("call me later", pipe.labels)
    act = Activations(values=lp, fps=100 / 3, labels=pipe.labels, audio_duration=2.0)
    for params in ({"method": "greedy"}, {"method": "beam", "beam_size": 8, "lm": ""}):
        tr = pipe.decode(act, **params)
        assert isinstance(tr, Transcript) and tr.text == "call me later"
        assert tr.words == ("call", "me", "later") and tr.word_times.shape == (3, 2)
        assert np.all(np.diff(tr.word_times[:, 0]) > 0)
    text = pipe.write(tr, "text")
    assert text == "call me later\n"
    doc = json.loads(pipe.write(tr, "json", source="x.wav"))
    assert doc["text"] == tr.text and [w["word"] for w in doc["words"]] == list(tr.words)
    assert doc["words"][0]["start"] == pytest.approx(tr.word_times[0, 0], abs=1e-3)
    assert text_to_ids(doc["text"], pipe.labels)
    assert pipe.evaluate(["call me later"], [tr])["wer"] == 0.0


def test_params_validate():
    from audiodl.errors import ParameterError
    from audiodl.tasks.asr import CTCParams
    p = CTCParams.from_dict({"method": "beam", "beam_size": 5})
    assert p.replace(beam_size=None).beam_size == 5
    assert CTCParams.from_dict(p.to_dict()) == p
    with pytest.raises(ParameterError):
        CTCParams(method="viterbi")
    with pytest.raises(ParameterError):
        CTCParams.from_dict({"beam": 3})


def test_cli_transcribe_one_line_per_file(tiny_card, tmp_path):
    import soundfile as sf
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    files = []
    for k, sec in enumerate((1.0, 1.5)):
        f = tmp_path / f"a{k}.wav"
        sf.write(f, _audio(sec), 16000)
        files.append(str(f))
    run = CliRunner().invoke
    base = ["transcribe", "-m", str(tiny_card)]
    out = run(cli, base + files[:1])
    assert out.exit_code == 0, out.output
    assert len(out.stdout.splitlines()) == 1
    out = run(cli, base + ["--format", "json", "--beam", "4", "--lm", "none", files[0]])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert set(doc) == {"source", "text", "words"}
    odir = tmp_path / "out"
    out = run(cli, base + ["-o", str(odir), "--greedy", *files])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in odir.iterdir()) == ["a0.txt", "a1.txt"]
    assert run(cli, base + ["--greedy", "--beam", "3", files[0]]).exit_code != 0
    missing = run(cli, base + ["--lm", str(tmp_path / "nope.arpa"), files[0]])
    assert missing.exit_code != 0 and "nope.arpa" in missing.output


def test_python_api(tiny_card):
    import audiodl
    tr = audiodl.transcribe(_audio(1.0), 16000, model=str(tiny_card), method="greedy")
    assert isinstance(tr, audiodl.Transcript) and isinstance(tr.text, str)


def test_long_inputs_get_text_without_word_timings(pipe, monkeypatch, caplog):
    """Timings come from the decoded path (linear); the forced-alignment fallback's
    trellis is frames x characters: past the cap, it gives no timings."""
    import audiodl.decoders.ctc as ctc
    import audiodl.tasks.asr as asr
    from audiodl.types import Activations
    from .conftest import peaked_emission
    lp, _ = peaked_emission("call me later", pipe.labels)
    act = Activations(values=lp, fps=100 / 3, labels=pipe.labels, audio_duration=2.0)
    monkeypatch.setattr(asr, "MAX_ALIGN_CELLS", len(lp) * 10)
    assert pipe.decode(act, method="greedy").word_times is not None  # from the path
    monkeypatch.setattr(ctc, "path_word_times", lambda *a, **k: None)  # force the fallback
    tr = pipe.decode(act, method="greedy")
    assert tr.text == "call me later" and tr.word_times is None
    assert any("too long to align" in r.getMessage() for r in caplog.records)
