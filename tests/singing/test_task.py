"""Singing pipeline, decoder parameters (seconds), formats, chunking and the CLI.

These run on a tiny randomly initialised model (``tiny_card``): they check
the mechanics, not the accuracy (see ``test_shipped.py``).
"""

import os

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.testing import noise, tone
from audiodl.types import Activations


@pytest.fixture(scope="module")
def pipe(tiny_card):
    from audiodl.tasks.singing import SingingDetector
    return SingingDetector.from_pretrained(str(tiny_card), backend="torch")


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    from audiodl.io.audio import save
    y = 0.3 * tone(330.0, sr=22050, duration=6.0) + noise(sr=22050, duration=6.0,
                                                          amplitude=0.02, seed=1)
    path = tmp_path_factory.mktemp("svd_wav") / "clip.wav"
    save(path, y, 22050)
    return str(path)


def test_params_are_seconds_and_validated():
    from audiodl.tasks.singing import SingingParams
    p = SingingParams()
    assert (p.method, p.threshold, p.median) == ("threshold", 0.5, 0.8)
    assert p.replace(median=1.2, threshold=None).median == 1.2  # None keeps a value
    assert SingingParams.from_dict(p.to_dict()) == p
    for bad in ({"median": -0.1}, {"threshold": 1.5}, {"min_gap": "x"}):
        with pytest.raises(ParameterError):
            p.replace(**bad)
    with pytest.raises(ParameterError, match="unknown"):
        SingingParams.from_dict({"median_frames": 56})


def test_decode_median_filter_and_threshold_in_seconds(pipe):
    fps = 70.0
    v = np.zeros(700, np.float32)
    v[140:420] = 0.9          # 2 s .. 6 s sung
    v[560:567] = 0.95         # a 0.1 s blip: removed by the 0.8 s median filter
    act = Activations(values=v[:, None], fps=fps, labels=("singing",), audio_duration=10.0)
    seg = pipe.decode(act)
    assert seg.labels == ("singing",)
    np.testing.assert_allclose(seg.intervals, [[2.0 - 0.5 / fps, 6.0 - 0.5 / fps]], atol=0.02)
    assert len(pipe.decode(act, median=0.0)) == 2  # no median filter: the blip stays
    assert len(pipe.decode(act, threshold=0.95)) == 0
    assert len(pipe.decode(act, median=0.0, min_duration=0.5)) == 1


def test_activations_rate_shape_and_chunked_equals_whole(pipe, wav, monkeypatch):
    act = pipe.activations(wav)
    assert act.fps == pytest.approx(70.0) and act.labels == ("singing",)
    assert act.values.shape == (pipe.config.n_frames(6 * 22050), 1)
    assert np.all((act.values >= 0) & (act.values <= 1))
    monkeypatch.setattr(type(pipe), "chunk_frames", 50)  # many chunks, context carried over
    np.testing.assert_allclose(pipe.activations(wav).values, act.values, atol=1e-5)


def test_array_input_and_api_function(tiny_card, wav):
    import audiodl
    from audiodl.io.audio import load
    y, sr = load(wav)
    a = audiodl.singing(wav, model=str(tiny_card), threshold=0.0)
    b = audiodl.singing(y, sr, model=str(tiny_card), threshold=0.0)
    np.testing.assert_allclose(a.intervals, b.intervals)
    assert a.labels == ("singing",) and a.intervals.max() <= 6.0 + 1e-9


@pytest.mark.parametrize("fmt", ["mirex", "audacity", "csv", "json", "jams"])
def test_formats_parse_back(pipe, fmt):
    from audiodl.io.annotations import parse_segments
    from audiodl.types import Segments
    seg = Segments(intervals=np.array([[0.5, 2.25], [3.0, 5.5]]), labels=("singing",) * 2)
    text = pipe.write(seg, fmt, source="x.wav", duration=6.0)
    back = parse_segments(text, fmt)
    np.testing.assert_allclose(back.intervals, seg.intervals, atol=1e-3)
    assert back.labels == seg.labels


def test_wrong_model_is_refused():
    from audiodl.errors import ModelError
    from audiodl.tasks.singing import SingingDetector
    with pytest.raises(ModelError, match="singing"):
        SingingDetector.from_pretrained("musicspeech_cnn")


def test_cli_formats_batch_activations_and_stdin(tiny_card, wav, tmp_path):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    from audiodl.io.annotations import parse_segments
    run = CliRunner()
    r = run.invoke(cli, ["singing", "-m", str(tiny_card), "--threshold", "0", wav])
    assert r.exit_code == 0, r.output
    assert r.output.strip().split("\t") == ["0.000", "6.000", "singing"]
    r = run.invoke(cli, ["singing", "-m", str(tiny_card), "--median", "-1", wav])
    assert r.exit_code != 0 and "median" in r.output
    out = tmp_path / "out"
    r = run.invoke(cli, ["singing", "-m", str(tiny_card), "--format", "csv", "-j", "2",
                         "-o", str(out), "--save-activations", str(tmp_path / "act"),
                         wav, wav.replace("clip.wav", "missing.wav")])
    assert r.exit_code == 1  # the missing file fails, the other completes
    seg = parse_segments((out / "clip.singing.csv").read_text(), "csv")
    assert set(seg.labels) <= {"singing"}
    act = tmp_path / "act" / "clip.npz"
    assert act.exists()
    r = run.invoke(cli, ["singing", "-m", str(tiny_card), "--load-activations",
                         "--threshold", "0", str(act)])
    assert r.exit_code == 0 and r.output.startswith("0.000\t6.000\tsinging")
    with open(wav, "rb") as f:
        r = run.invoke(cli, ["singing", "-m", str(tiny_card), "--threshold", "0", "-"],
                       input=f.read())
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith("singing")
    assert os.path.getsize(wav) > 0


def test_cli_plot(tiny_card, wav, tmp_path):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    png = tmp_path / "clip.png"
    r = CliRunner().invoke(cli, ["singing", "-m", str(tiny_card), "--plot", str(png), wav])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
