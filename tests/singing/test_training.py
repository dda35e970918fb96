"""``audiodl train singing`` with the CI config on a tiny generated corpus."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = os.path.join(ROOT, "recipes", "singing", "conf", "ci.toml")


@pytest.fixture(scope="module")
def ci_root(tmp_path_factory):
    from audiodl.data.synth import singing
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import generate_corpus
    try:
        singing.check()
    except EngineUnavailable as exc:
        pytest.skip(f"singing synthesis engines missing: {exc}")
    root = tmp_path_factory.mktemp("svd_data")
    generate_corpus("singing", root / "ci" / "singing", hours=0.015, seed=4, jobs=1)
    return root


def test_config_rejects_bad_values():
    from audiodl.errors import ParameterError
    from audiodl.training.config import load_config
    from audiodl.training.specs.singing import SingingConfig
    with pytest.raises(ParameterError):
        load_config(SingingConfig, CI, ["pitch_shift=1.5"])
    with pytest.raises(ParameterError, match="bad override"):
        load_config(SingingConfig, CI, ["median_frames=56"])


def test_item_targets_join_gap(tmp_path):
    from audiodl.training.specs.singing import SingingConfig, item_targets
    lab = tmp_path / "a.lab"
    lab.write_text("0.0\t1.0\tsing\n1.0\t1.4\tnosing\n1.4\t2.0\tsing\n2.0\t3.0\tnosing\n")
    item = {"annotations": {"vocals": str(lab)}}
    fine = item_targets(item, 300, 100.0)[:, 0]
    joined = item_targets(item, 300, 100.0, join_gap=0.5)[:, 0]
    assert fine[120] == 0 and joined[120] == 1  # inside the 0.4 s gap
    assert fine[:100].all() and joined[:200].all() and not joined[210:].any()
    assert (item_targets(item, 300, 100.0, join_gap=0.3)[:, 0] == fine).all()
    from audiodl.errors import ParameterError
    with pytest.raises(ParameterError):
        SingingConfig(join_gap=-0.1)


def test_stretch_shift_windows_follow_the_targets():
    """Time stretch moves targets with the frames; pitch shift moves energy across bands."""
    from audiodl.features.config import preset
    from audiodl.training.specs.singing import StretchShiftWindows, band_centres
    n = 2000
    feats = np.zeros((n, 80), np.float16)
    feats[:, 40] = 5.0                      # one loud band
    t = np.zeros((n, 1), np.float32)
    t[1000:] = 1.0
    feats[1000:] += 3.0                     # every band marks the sung part
    class Data:
        def __len__(self):
            return 1
    data = Data()
    data.feats, data.targets = [feats], [t]
    ds = StretchShiftWindows(data, window=64, context=115, centres=band_centres(
        preset("svd_schlueter")), n_per_epoch=40, pitch_shift=0.3, time_stretch=0.3, seed=0)
    moved = 0
    for k in range(len(ds)):
        x, y = ds[k]
        assert x.shape == (64 + 114, 80) and y.shape == (64, 1)
        # the target of output j is 1 exactly where its centre frame is "sung"
        np.testing.assert_array_equal(y[:, 0] > 0.5, x[57:57 + 64].min(axis=1) > 1.5)
        moved += int(np.argmax(x[0]) != 40)
    assert moved > 10  # the loud band moves with the pitch factor


def test_kind_weights_steer_which_items_are_drawn():
    """Windows come from items in proportion to length x weight; weight 0 never draws."""
    from audiodl.errors import ParameterError
    from audiodl.features.config import preset
    from audiodl.training.config import load_config
    from audiodl.training.specs.singing import SingingConfig, StretchShiftWindows, band_centres

    class Data:
        def __len__(self):
            return 2
    data = Data()
    data.feats = [np.zeros((400, 80), np.float16), np.ones((400, 80), np.float16)]
    data.targets = [np.zeros((400, 1), np.float32), np.ones((400, 1), np.float32)]
    ds = StretchShiftWindows(data, window=16, context=115, centres=band_centres(
        preset("svd_schlueter")), n_per_epoch=30, seed=0, weights=[0.0, 1.0])
    assert all(ds[k][1].min() == 1.0 for k in range(len(ds)))
    cfg = load_config(SingingConfig, CI, ['kind_weights={"speech": 3}'])
    assert cfg.kind_weight_map() == {"speech": 3.0}
    with pytest.raises(ParameterError, match="kind_weights"):
        load_config(SingingConfig, CI, ['kind_weights={"speech": -1}'])


def test_ci_training_writes_a_loadable_card_that_is_never_shipped(ci_root, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", AUDIODL_CACHE=str(ci_root / "cache"))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "audiodl.cli.main", "train", "singing",
                           "--config", CI, "--data-root", str(ci_root), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    card_path = out / "singing_cnn_ci.json"
    card = json.loads(card_path.read_text())
    assert card["task"] == "singing" and card["layout"] == "same"
    assert card["training"]["smoke"] is True
    dec = card["decoder"]["offline"]
    assert dec["median"] == 0.8 and 0 < dec["threshold"] < 1
    assert "error" in card["metrics"]["valid_decoded"]

    from audiodl import pretrained
    from audiodl.errors import ModelError
    from audiodl.tasks.singing import SingingDetector
    with pytest.raises(ModelError, match="never shipped"):
        pretrained.ship(card_path, directory=tmp_path / "shipped")
    pipe = SingingDetector.from_pretrained(str(card_path))
    audio = sorted((ci_root / "ci" / "singing" / "audio").glob("*.flac"))[0]
    seg = pipe(str(audio))
    assert set(seg.labels) <= {"singing"}


def test_tune_decoder_per_file_negative_limit():
    """A short lead called singing throughout hides in the pooled FP rate, not per file."""
    from audiodl.training.specs.singing import tune_decoder
    from audiodl.types import Activations, Segments
    fps = 70.0
    sung = np.full(1400, 0.05, np.float32)
    sung[200:700], sung[700:1200] = 0.9, 0.4      # half of the sung part is unsure
    short_neg = np.full(100, 0.6, np.float32)     # a lead the model likes
    long_neg = np.full(3000, 0.1, np.float32)
    acts = [Activations(x[:, None], fps, ("singing",)) for x in (sung, short_neg, long_neg)]
    refs = [Segments(np.array([[200 / fps, 1200 / fps]]), ("singing",)),
            Segments(np.zeros((0, 2)), ()), Segments(np.zeros((0, 2)), ())]
    durs = [len(x) / fps for x in (sung, short_neg, long_neg)]
    kw = dict(medians=[0.2], negatives=[False, True, True], max_negative_fp=0.05)
    pooled, _ = tune_decoder(acts, refs, durs, **kw)
    per_file, s = tune_decoder(acts, refs, durs, max_file_fp=0.05, **kw)
    assert pooled["threshold"] < 0.4 < 0.6 < per_file["threshold"]
    assert s["negative_max_file_false_positive_rate"] == 0.0


def test_tune_decoder_hysteresis_keeps_the_unsure_half_of_a_sung_phrase():
    """The same files: one threshold must stay above the liked lead (0.6) and so loses the
    unsure half of the phrase (0.4); hysteresis keeps it, joined to the sure half."""
    from audiodl.errors import ParameterError
    from audiodl.training.specs.singing import tune_decoder
    from audiodl.types import Activations, Segments
    fps = 70.0
    sung = np.full(1400, 0.05, np.float32)
    sung[200:700], sung[700:1200] = 0.9, 0.4
    short_neg = np.full(100, 0.6, np.float32)
    long_neg = np.full(3000, 0.1, np.float32)
    acts = [Activations(x[:, None], fps, ("singing",)) for x in (sung, short_neg, long_neg)]
    refs = [Segments(np.array([[200 / fps, 1200 / fps]]), ("singing",)),
            Segments(np.zeros((0, 2)), ()), Segments(np.zeros((0, 2)), ())]
    durs = [len(x) / fps for x in (sung, short_neg, long_neg)]
    kw = dict(medians=[0.2], negatives=[False, True, True], max_negative_fp=0.05,
              max_file_fp=0.05)
    thr, s_thr = tune_decoder(acts, refs, durs, **kw)
    hyst, s_hyst = tune_decoder(acts, refs, durs, methods=("threshold", "hysteresis"), **kw)
    assert thr["method"] == "threshold" and "low" not in thr
    assert hyst["method"] == "hysteresis" and 0.6 < hyst["threshold"] and hyst["low"] < 0.4
    assert hyst["low"] > 0.05                    # the frames outside the phrase (0.05) stay out
    assert s_hyst["error"] < s_thr["error"] and s_hyst["recall"] == 1.0
    assert s_hyst["negative_max_file_false_positive_rate"] == 0.0
    with pytest.raises(ParameterError, match="methods"):
        tune_decoder(acts, refs, durs, methods=("viterbi",), **kw)
