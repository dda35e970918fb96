"""Fixtures of the similarity tests: a tiny random-initialised encoder saved as a
card in a tmp folder, and short generated recordings (no corpus, no network)."""

import os

import numpy as np
import pytest

SR = 22050


def make_track(seed: int, *, duration: float = 8.0) -> np.ndarray:
    """A distinct 'song': plucked notes of a seeded melody over a seeded noise colour."""
    from audiodl.testing import piano_like
    rng = np.random.default_rng(seed)
    n = int(duration * 3)
    y = piano_like(np.sort(rng.uniform(0, duration - 1, n)), rng.integers(36, 84, n), sr=SR,
                   length=duration)
    tilt = np.cumsum(rng.standard_normal(len(y))).astype(np.float32)
    tilt /= np.abs(tilt).max() + 1e-9
    return (y + 0.02 * rng.uniform(0.2, 1.0) * tilt).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_card(tmp_path_factory):
    """Card path of a small random-initialised ``similarity_cnn`` (64 bits)."""
    import torch

    from audiodl.models.similarity import SimilarityEncoder
    from audiodl.pretrained import build_card, save
    from audiodl.tasks.similarity import FRONTEND
    torch.manual_seed(0)
    args = {"n_bits": 64, "channels": [4, 8, 8], "width": 32, "dilations": [1, 2]}
    model = SimilarityEncoder(**args).eval()
    card = build_card(name="similarity_tiny_test", task="similarity", arch="similarity_cnn",
                      args=args, frontend=FRONTEND, labels=[], layout="same",
                      decoder={"offline": {"threshold": 0.5}})
    return str(save(model, card, tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory):
    """Six distinct 8 s tracks, two of them in a sub-folder."""
    import soundfile as sf
    d = tmp_path_factory.mktemp("audio")
    os.makedirs(d / "sub")
    for i in range(6):
        sf.write(d / ("sub" if i % 3 == 2 else "") / f"t{i}.wav", make_track(i), SR)
    return d
