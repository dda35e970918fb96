"""recipes/singing/musicnn_peer.py: the score side (no TensorFlow, fake taggrams)."""

import importlib.util
import json
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location(
        "svd_musicnn_peer", os.path.join(ROOT, "recipes", "singing", "musicnn_peer.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TAGS = ["guitar", "vocal", "vocals", "voice", "male vocal", "female vocal", "no vocals",
        "no vocal", "no voice"]


def _corpus(root, name, mod, *, flip=False):
    """Two 20 s files: one sung 5-15 s, one instrumental; taggrams that follow (or invert) it."""
    folder = root / name
    (folder / "tags").mkdir(parents=True)
    lines = []
    for uid, kind, sung in (("a", "vocal", (5.0, 15.0)), ("b", "instrumental", None)):
        lab = folder / f"{uid}.lab"
        lab.write_text(f"0.0\t{sung[0]}\tnosing\n{sung[0]}\t{sung[1]}\tsing\n{sung[1]}\t20.0\tnosing\n"
                       if sung else "0.0\t20.0\tnosing\n")
        lines.append(json.dumps({"id": uid, "audio": f"{uid}.flac", "duration": 20.0,
                                 "annotations": {"vocals": f"{uid}.lab"},
                                 "meta": {"kind": kind, "engine": "mbrola" if sung else None}}))
        times = np.arange(1.5, 18.6, 0.5)
        voiced = np.array([bool(sung) and sung[0] <= t < sung[1] for t in times])
        if flip:
            voiced = ~voiced
        tg = np.zeros((len(times), len(TAGS)), np.float32)
        tg[voiced, TAGS.index("female vocal")] = 0.9
        tg[~voiced, TAGS.index("no vocals")] = 0.8
        np.savez(folder / "tags" / f"{uid}.npz", taggram=tg, times=times, tags=np.array(TAGS),
                 seconds=1.0, duration=20.0, first_in_process=uid == "a")
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return str(folder / "manifest.jsonl"), str(folder / "tags")


def test_voice_score_on_the_frame_grid(tmp_path):
    mod = _module()
    _, tags = _corpus(tmp_path, "v", mod)
    act, sec = mod._activations(os.path.join(tags, "a.npz"), 20.0)
    assert act.values.shape == (round(20.0 * mod.FPS), 1)
    t = np.arange(len(act.values)) / mod.FPS
    v = act.values[:, 0]
    # voice patches score (0.9 - 0 + 1) / 2, no-voice patches (0 - 0.8 + 1) / 2
    assert v[(t > 7) & (t < 13)] == pytest.approx(0.95)
    assert v[(t > 1) & (t < 4)] == pytest.approx(0.1)
    assert sec == 1.0


@pytest.mark.parametrize("flip", [False, True])
def test_score_tunes_on_valid_and_scores_test(tmp_path, flip):
    mod = _module()
    vm, vt = _corpus(tmp_path, "valid", mod)
    tm, tt = _corpus(tmp_path, "test", mod, flip=flip)
    out = tmp_path / "o.json"
    assert mod.main(["score", "--valid-manifest", vm, "--valid", vt, "--test-manifest", tm,
                     "--test", tt, "--join-gap", "0", "--medians", "0.4",
                     "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    err = res["groups"]["all"]["error"]
    if flip:  # taggram inverted on test: most frames wrong
        assert err > 0.5
        assert res["frame_auc"] < 0.2
    else:
        assert res["frame_auc"] > 0.95     # interpolation smears ~0.5 s at each of the two edges
        assert err < 0.05
        assert res["groups"]["instrumental"]["false_positive_rate"] == 0.0
    assert res["valid"]["error"] < 0.05
    assert res["x_real_time"] == pytest.approx(20.0)  # file "a" (warm-up) left out
