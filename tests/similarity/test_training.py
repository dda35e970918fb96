"""``audiodl train similarity`` with the CI config on a tiny generated corpus."""

import json
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _corpus(root):
    """Three 'compositions', two versions each (transposed, slower, other noise colour)."""
    import soundfile as sf

    from audiodl.testing import piano_like
    from tests.similarity.conftest import SR
    d = root / "ci" / "similarity"
    (d / "audio").mkdir(parents=True)
    items = []
    for g in range(3):
        rng = np.random.default_rng(g)
        onsets, pitches = np.sort(rng.uniform(0, 5, 15)), rng.integers(40, 80, 15)
        for v, (shift, speed) in enumerate([(0, 1.0), (2, 1.1)]):
            y = piano_like(onsets * speed, pitches + shift, sr=SR, length=6.5)
            rel = f"audio/w{g}-v{v}.wav"
            sf.write(d / rel, y, SR)
            items.append({"id": f"w{g}-v{v}", "audio": rel, "duration": 6.5, "sr": SR,
                          "split": "train", "task": "similarity", "source": "synth",
                          "group": f"work:{g}", "labels": ["music"]})
    (d / "manifest.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))


def test_ci_config_trains_and_its_card_indexes(tmp_path):
    from audiodl.index import Index
    from audiodl.pretrained import ModelCard
    from audiodl.training.run import run_training
    _corpus(tmp_path)
    card_path = run_training("similarity",
                             config_path=os.path.join(ROOT, "recipes/similarity/conf/ci.toml"),
                             overrides=[f"feature_cache={tmp_path / 'cache'}"],
                             data_root=tmp_path, out_dir=tmp_path / "run", command="test")
    card = ModelCard.read(card_path)
    assert card.task == "similarity" and card.layout == "same" and card.args["n_bits"] == 64
    assert card.training.extra.get("smoke") is True
    assert set(card.metrics["valid_tracks"]) == {"exact", "hamming"}
    assert 0.0 < card.metrics["valid_tracks"]["exact"]["map"] <= 1.0
    files = sorted(str(p) for p in (tmp_path / "ci/similarity/audio").glob("*.wav"))
    ix = Index.build(files, model=str(card_path))
    assert ix.query(files[2], k=1)[0].path == files[2]
    from audiodl.pretrained import ship
    from audiodl.errors import ModelError
    with pytest.raises(ModelError, match="smoke"):
        ship(card_path, directory=tmp_path / "shipped")
