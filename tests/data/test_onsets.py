import numpy as np

from audiodl.data.manifest import read_manifest, read_times
from audiodl.data.synth.onsets import merge_onsets
from audiodl.data.synth.runner import generate_corpus

from .conftest import require_engines


def test_merge_onsets():
    t = [0.0, 0.01, 0.029, 0.031, 0.5, 0.52, 0.56, np.nan]
    assert np.allclose(merge_onsets(t), [0.0, 0.031, 0.5, 0.56])


def test_render_onsets_are_exact():
    """Note-on times returned by the renderer match where the sound starts."""
    require_engines("onsets")
    from audiodl.data.synth.engines import FluidRenderer

    sr = 44100
    r = FluidRenderer(sr)
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.1, 4.8, size=12))
    times = merge_onsets(times, window=0.3)
    for channel, program, pitch in ((9, 0, 37), (0, 0, 72), (0, 33, 40)):  # rim, piano, bass
        notes = [(t, t + 0.1, pitch, 110, channel) for t in times]
        y, onsets = r.render(notes, 5.0, programs={channel: program})
        assert np.all(np.abs(onsets - times) <= 32.5 / sr)  # block quantisation
        env = np.abs(y)
        for t in onsets:
            k = int(round(t * sr))
            before = env[k - 300:k].max()  # release tail of the previous note
            assert env[k:k + 353].max() > 3 * before + 1e-4, program  # loud within 8 ms
    r.close()


def test_corpus(tmp_path):
    require_engines("onsets")
    generate_corpus("onsets", tmp_path, hours=0.01, seed=2, jobs=1)
    items = read_manifest(tmp_path / "manifest.jsonl", check_files=True)
    assert items and all(it["sr"] == 44100 for it in items)
    for it in items:
        on = np.asarray(read_times(it["annotations"]["onsets"]))
        assert len(on) == it["meta"]["n_onsets"] > 0
        assert np.all(np.diff(on) >= 0.03 - 1e-9) and on[-1] < it["duration"]
        assert "slow" not in it["meta"]["attack_classes"]
