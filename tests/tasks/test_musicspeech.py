"""Music/speech task: shipped models, API, pipelines, long-input chunking."""

import os

import numpy as np
import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEECH = os.path.join(ROOT, "assets", "examples", "speech.wav")
MUSIC = os.path.join(ROOT, "assets", "examples", "music.wav")


@pytest.fixture(scope="module")
def classifier():
    from audiodl.tasks.musicspeech import MusicSpeechClassifier
    return MusicSpeechClassifier.from_pretrained()


@pytest.fixture(scope="module")
def detector():
    from audiodl.tasks.musicspeech import MusicSpeechDetector
    return MusicSpeechDetector.from_pretrained()


def test_shipped_models_are_registered_offline():
    from audiodl import pretrained
    for task in ("musicspeech-classify", "musicspeech-detect"):
        name = pretrained.default_model(task)
        card = pretrained.card(name)
        assert card.task == task and card.default is True
        assert card.labels == ("music", "speech")
        size = os.path.getsize(os.path.join(pretrained.WEIGHTS_DIR, card.weights))
        assert size < 4_000_000, "shipped weights must stay small"


def test_bundled_clips_classified(classifier):
    speech = classifier(SPEECH)
    music = classifier(MUSIC)
    assert speech.label == "speech" and speech.probability > 0.8
    assert music.label == "music" and music.probability > 0.8
    assert sum(speech.probabilities.values()) == pytest.approx(1.0)


def test_classify_function_and_array_input():
    import audiodl
    from audiodl.io.audio import load
    y, sr = load(SPEECH)
    r = audiodl.classify(y, sr)
    assert r.label == "speech"
    assert r == audiodl.classify(SPEECH)._replace(probability=r.probability,
                                                  probabilities=r.probabilities)


def test_detect_bundled_clips(detector):
    seg = detector(SPEECH)
    sp = seg.of("speech")
    covered = np.sum(sp[:, 1] - sp[:, 0])
    assert covered > 0.6 * 14.0
    assert np.sum(np.diff(seg.of("music"), axis=1)) < 2.0
    seg = detector(MUSIC)
    assert np.sum(np.diff(seg.of("music"), axis=1)) > 0.8 * 20.0
    assert np.sum(np.diff(seg.of("speech"), axis=1)) < 2.0


def test_activations_roundtrip_and_decoder_overrides(detector, tmp_path):
    from audiodl.types import Activations
    act = detector.activations(MUSIC)
    assert act.values.shape[1] == 2 and act.labels == ("music", "speech")
    assert act.duration == pytest.approx(20.0, abs=0.1)
    act.save(tmp_path / "a.npz")
    back = Activations.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(back.values, act.values)
    strict = detector.decode(back, threshold=(1.0, 1.0), method="threshold")
    assert len(strict) == 0


def test_models_shapes_and_bad_input():
    import torch

    from audiodl.models.registry import build
    for name, shape, out in (("lidy2015", (3, 80, 40), (3, 1)),
                             ("musicspeech_cnn", (3, 80, 40), (3, 1)),
                             ("musicspeech_tcn", (2, 101, 40), (2, 51, 2))):
        m = build(name, {}).eval()
        with torch.inference_mode():
            assert tuple(m(torch.zeros(shape)).shape) == out
        with pytest.raises(ValueError, match="expected"):
            m(torch.zeros(2, 80, 13))
        assert "norm.mean" in m.state_dict()  # normalisation travels with the weights


def test_short_and_bad_input(classifier):
    from audiodl.errors import AudiodlError
    r = classifier(np.zeros(2000, np.float32) + 1e-3 * np.random.default_rng(0)
                   .standard_normal(2000).astype(np.float32), 22050)
    # 0.09 s of faint noise: neither, when the default classifier has a neither gate
    gated = (classifier.default_params.min_active or 0) > 0
    assert r.label == ("neither" if gated else "music") or (not gated and r.label == "speech")
    with pytest.raises(AudiodlError):
        classifier(np.zeros(0, np.float32), 22050)


@pytest.mark.parametrize("arch", ["musicspeech_cnn", "lidy2015"])
def test_numpy_twin_matches_torch(arch, tmp_path):
    import torch

    from audiodl.models.registry import build
    from audiodl.pretrained.weights import read_state_dict
    from audiodl.runtime.numpy_nets import NumpyExcerptNet
    torch.manual_seed(0)
    m = build(arch, {}).eval()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-1, 1)
            mod.running_var.uniform_(0.5, 2)
    rng = np.random.default_rng(0)
    m.norm.set_stats(rng.random(m.norm.mean.shape), rng.random(m.norm.std.shape) + 0.5)
    torch.save(m.state_dict(), tmp_path / "w.pt")
    net = NumpyExcerptNet(arch, {}, read_state_dict(tmp_path / "w.pt"))
    x = rng.standard_normal((4, 80, 40)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), ref, atol=1e-4)


def test_classify_auto_backend_does_not_import_torch():
    """The excerpt CNN runs on ONNX Runtime by default, without torch."""
    import subprocess
    import sys
    code = ("import sys; from audiodl.tasks.musicspeech import MusicSpeechClassifier as C; "
            "p = C.from_pretrained('musicspeech_cnn', backend='auto'); r = p(%r); "
            "print(r.label, type(p.backend).__name__, 'torch' in sys.modules)" % SPEECH)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "speech"
    assert out[1] == "OnnxBackend" and out[2] == "False"


def test_long_file_streaming_path_equals_in_memory(detector, monkeypatch):
    """Files over STREAM_SECONDS are streamed block-wise (bounded memory)."""
    from audiodl.io.audio import load
    from audiodl.runtime import source as T
    y, sr = load(MUSIC)  # already at the model rate: no resampling difference
    whole = detector.activations(y, sr)
    monkeypatch.setattr(T, "STREAM_SECONDS", 1.0)
    monkeypatch.setattr(T, "CHUNK_SECONDS", 3.0)
    streamed = detector.activations(MUSIC, progress=True)
    np.testing.assert_allclose(streamed.values, whole.values, atol=1e-5)


# ------------------------------------------------------------------ neither
def test_covered_fraction_merges_overlaps():
    from audiodl.tasks.musicspeech import covered_fraction
    from audiodl.types import Segments
    seg = Segments(intervals=np.array([[0.0, 2.0], [1.0, 3.0], [5.0, 12.0]]),
                   labels=("music", "speech", "speech"))
    assert covered_fraction(seg, 10.0) == pytest.approx(0.8)  # [0, 3] and [5, 10]
    assert covered_fraction(Segments(intervals=np.zeros((0, 2)), labels=()), 10.0) == 0.0


def test_frame_model_classifier_answers_neither_below_min_active():
    from audiodl.tasks.musicspeech import NEITHER, MusicSpeechClassifier
    from audiodl.types import Activations
    pipe = MusicSpeechClassifier.from_pretrained("musicspeech_tcn")
    fps = pipe.fps / 2
    v = np.zeros((430, 2), np.float32)
    v[:100, 1] = 0.99  # 23 % of the file is speech
    act = Activations(values=v, fps=fps, labels=("music", "speech"))
    low = pipe.decode(act, min_active=0.1)
    assert low.label == "speech"
    high = pipe.decode(act, min_active=0.5)
    assert high.label == NEITHER and high.probability == pytest.approx(
        high.probabilities[NEITHER])
    assert sum(high.probabilities.values()) == pytest.approx(1.0)
    silent = pipe.decode(Activations(values=np.zeros((50, 2)), fps=fps,
                                     labels=("music", "speech")), min_active=0.05)
    assert silent.label == NEITHER and silent.probabilities[NEITHER] == pytest.approx(1.0)


def test_min_active_is_validated_and_ignored_by_detect():
    from audiodl.errors import ParameterError
    from audiodl.tasks.musicspeech import MusicSpeechParams
    with pytest.raises(ParameterError, match="min_active"):
        MusicSpeechParams(min_active=1.5)
    p = MusicSpeechParams(threshold=(0.5, 0.6), min_active=0.3)
    assert "min_active" not in p.segment_params() and p.segment_params()["threshold"] == (0.5, 0.6)


def test_tune_min_active_separates_neither_files():
    from audiodl.training.specs.musicspeech import tune_min_active
    from audiodl.types import Activations, Segments
    acts, refs, durs = [], [], []
    for cover, has_ref in [(0.0, False), (0.05, False), (0.9, True), (0.4, True), (1.0, True)]:
        v = np.zeros((100, 2))
        v[:int(cover * 100), 0] = 1.0
        acts.append(Activations(values=v, fps=10.0, labels=("music", "speech")))
        refs.append(Segments(intervals=np.array([[0.0, 10.0]]) if has_ref else np.zeros((0, 2)),
                             labels=("music",) if has_ref else ()))
        durs.append(10.0)
    g, scores = tune_min_active(acts, refs, durs, {"threshold": 0.5})
    assert 0.05 < g <= 0.4
    assert scores["neither_valid_accuracy"] == 1.0 and scores["active_valid_accuracy"] == 1.0


def test_gate_decoder_decides_neither_and_is_validated():
    from audiodl.errors import ParameterError
    from audiodl.tasks.musicspeech import NEITHER, MusicSpeechClassifier, MusicSpeechParams
    from audiodl.types import Activations
    with pytest.raises(ParameterError, match="gate"):
        MusicSpeechParams(gate=0.5)
    with pytest.raises(ParameterError, match="unknown"):
        MusicSpeechParams(gate={"thresh": 0.5})
    p = MusicSpeechParams(threshold=0.3, min_active=0.2, gate={"threshold": 0.8})
    assert p.gate_params()["threshold"] == 0.8
    assert "gate" not in p.segment_params() and p.segment_params()["threshold"] == 0.3
    assert MusicSpeechParams(threshold=0.3).gate_params() == MusicSpeechParams(
        threshold=0.3).segment_params()
    pipe = MusicSpeechClassifier.from_pretrained("musicspeech_tcn")
    v = np.zeros((430, 2), np.float32)
    v[:, 0] = 0.6  # music at 0.6 everywhere: above the frame threshold, below the gate's
    act = Activations(values=v, fps=pipe.fps / 2, labels=("music", "speech"))
    # (the shipped card carries a gate of its own: a gate at the frame threshold acts as none)
    assert pipe.decode(act, threshold=0.3, min_active=0.2,
                       gate={"threshold": 0.3}).label == "music"
    assert pipe.decode(act, threshold=0.3, min_active=0.2,
                       gate={"threshold": 0.8}).label == NEITHER


def test_tune_gated_keeps_a_strict_gate_and_a_lenient_frame_decoder():
    from audiodl.training.specs.musicspeech import tune_gated
    from audiodl.types import Activations, Segments
    acts, refs, durs = [], [], []
    # music files at 0.45 (music under speech) and hard negatives at 0.65 (engines)
    for level, has_ref in [(0.45, True)] * 4 + [(0.65, False)] * 16 + [(0.95, True)] * 2:
        v = np.zeros((100, 2))
        v[:, 0] = level
        acts.append(Activations(values=v, fps=10.0, labels=("music", "speech")))
        refs.append(Segments(intervals=np.array([[0.0, 10.0]]) if has_ref else np.zeros((0, 2)),
                             labels=("music",) if has_ref else ()))
        durs.append(10.0)
    one, _, _ = tune_gated(acts, refs, durs)
    assert "gate" not in one and one["min_active"] > 0
    two, scores, tuned_on = tune_gated(acts, refs, durs, separate_gate=True)
    assert two["threshold"][0] < 0.45 and two["gate"]["threshold"][0] > 0.45
    assert two["min_active"] == one["min_active"] and "gate decoder" in tuned_on
    assert scores["music_f"] == pytest.approx(1.0)


def test_tune_gate_files_searches_the_gate_decoder_for_file_accuracy():
    from audiodl.training.specs.musicspeech import tune_gate_files, tune_gated, tune_min_active
    from audiodl.types import Activations, Segments
    acts, refs, durs = [], [], []
    # music files: confident music (0.85) on half of the file; hard negatives: 0.6 throughout
    for level, has_ref in [(0.85, True)] * 6 + [(0.6, False)] * 6:
        v = np.zeros((100, 2))
        v[:50 if has_ref else 100, 0] = level
        acts.append(Activations(values=v, fps=10.0, labels=("music", "speech")))
        refs.append(Segments(intervals=np.array([[0.0, 5.0]]) if has_ref else np.zeros((0, 2)),
                             labels=("music",) if has_ref else ()))
        durs.append(10.0)
    lenient = {"method": "hysteresis", "median": 0.0, "threshold": [0.5, 0.5],
               "min_duration": [0.0, 0.0], "min_gap": [0.0, 0.0]}
    _, sc = tune_min_active(acts, refs, durs, lenient)
    assert sc["neither_valid_accuracy"] + sc["active_valid_accuracy"] < 2  # cannot separate
    gate, g, scores = tune_gate_files(acts, refs, durs, lenient)
    assert 0.6 < gate["threshold"][0] <= 0.85 and 0.2 < g <= 0.5  # the middle of 0.02-0.5
    assert scores["neither_valid_accuracy"] == scores["active_valid_accuracy"] == 1.0
    assert gate["median"] == lenient["median"] and gate["min_gap"] == lenient["min_gap"]
    dec, _, tuned_on = tune_gated(acts, refs, durs, separate_gate=True, gate_tuning="files")
    assert dec["gate"]["threshold"][0] > 0.6 and "file accuracy" in tuned_on


def test_neither_has_a_fixed_plot_colour():
    from audiodl.plotting import LABEL_COLOURS, label_colour
    assert label_colour("neither") == LABEL_COLOURS["neither"]
    assert len({LABEL_COLOURS[k] for k in ("music", "speech", "neither")}) == 3


def test_shipped_default_answers_neither_on_silence_noise_and_tones(classifier):
    """Known failures before the neither answer: digital silence -> speech 0.89, a 50 ms
    sine -> speech 0.99. The default classifier is the shipped detector with a tuned gate."""
    from audiodl import pretrained
    from audiodl.tasks.musicspeech import NEITHER
    det = pretrained.card(pretrained.default_model("musicspeech-detect"))
    if not det.decoder.offline.get("min_active"):
        pytest.skip("the shipped detector has no neither gate yet (recipes/music_speech: "
                    "issue 16 results)")
    assert classifier.card.task == "musicspeech-detect"
    assert classifier.default_params.min_active > 0
    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(int(0.05 * sr)) / sr
    cases = {"silence": np.zeros(3 * sr, np.float32),
             "pink-ish noise": np.cumsum(rng.standard_normal(3 * sr)).astype(np.float32) * 1e-3,
             "white noise": 0.1 * rng.standard_normal(3 * sr).astype(np.float32),
             "50 ms sine": 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)}
    for name, y in cases.items():
        r = classifier(y, sr)
        assert r.label == NEITHER, (name, r)
    assert classifier(SPEECH).label == "speech" and classifier(MUSIC).label == "music"
