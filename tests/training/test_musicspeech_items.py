"""Manifest items the music/speech trainers read."""

import json
from types import SimpleNamespace


def test_read_items_skips_files_the_reader_refuses(tmp_path):
    from audiodl.io.audio import MIN_ANALYSIS
    from audiodl.training.specs.musicspeech import read_items
    rows = [{"id": "click", "audio": "a/click.flac", "duration": MIN_ANALYSIS / 2, "sr": 22050, "split": "train",
             "source": "sound-effects", "labels": []},
            {"id": "engine", "audio": "a/engine.flac", "duration": 2.5, "sr": 22050, "split": "train",
             "source": "sound-effects", "labels": []},
            {"id": "song", "audio": "a/song.flac", "duration": 30.0, "sr": 22050, "split": "valid",
             "source": "game-music", "labels": ["music"]}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = SimpleNamespace(manifests=[str(tmp_path / "m.jsonl")], kinds=["real", "synth"])
    assert [it["id"] for it in read_items(cfg, "train", data_root=tmp_path)] == ["engine"]
    assert [it["id"] for it in read_items(cfg, "valid", data_root=tmp_path)] == ["song"]
