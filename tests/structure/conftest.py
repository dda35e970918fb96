"""Synthetic songs with known sections (numpy only, no synthesis engine needed)."""

from __future__ import annotations

import numpy as np
import pytest

SR = 22050


def _note(f0, dur, sr, *, bright):
    t = np.arange(int(dur * sr)) / sr
    env = np.exp(-t * (6.0 if bright else 2.5))
    y = sum((0.6 if bright else 0.9) ** (k - 1) * np.sin(2 * np.pi * f0 * k * t)
            for k in range(1, 9 if bright else 4))
    return env * y


def section(kind: str, seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A section of a repeated note pattern: ``'A'`` low and mellow, ``'B'`` high and bright
    with a noise hi-hat, ``'C'`` a sustained mid chord."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n)
    if kind == "C":
        t = np.arange(n) / sr
        for f in (261.6, 329.6, 392.0):
            y += 0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.2 * np.sin(2 * np.pi * 5 * t))
        return y.astype(np.float32)
    pitches = [110.0, 130.8, 164.8, 130.8] if kind == "A" else [659.3, 784.0, 987.8, 880.0]
    step = 0.25 if kind == "A" else 0.125
    k = 0
    for s in np.arange(0, seconds, step):
        i = int(s * sr)
        note = _note(pitches[k % 4], step * 2, sr, bright=kind == "B")
        m = min(len(note), n - i)
        y[i:i + m] += note[:m]
        if kind == "B":
            y[i:i + 300] += 0.3 * rng.standard_normal(min(300, n - i))
        k += 1
    return (0.3 * y / (np.abs(y).max() + 1e-9)).astype(np.float32)


def song(form, seconds, sr: int = SR) -> tuple:
    """``(y, boundaries [s])`` of sections ``form`` (e.g. "ABA") of ``seconds`` each."""
    parts = [section(k, s, sr, seed=i) for i, (k, s) in enumerate(zip(form, seconds))]
    return np.concatenate(parts), np.cumsum(seconds)[:-1]


@pytest.fixture(scope="session")
def aba(tmp_path_factory):
    """A 60 s A/B/A WAV file with boundaries at 20 and 40 s."""
    import soundfile as sf
    y, bounds = song("ABA", [20.0, 20.0, 20.0])
    path = tmp_path_factory.mktemp("structure") / "aba.wav"
    sf.write(path, y, SR)
    return str(path), bounds


@pytest.fixture(scope="session", params=["sslm", "sslm_conv"])
def tiny_card(request, tmp_path_factory):
    """A randomly initialised boundary CNN saved as a card (not shipped); with and without
    the lag-stripe convolution."""
    import torch

    from audiodl.features.config import preset
    from audiodl.models.structure import BoundaryCNN
    from audiodl.pretrained import build_card, save
    torch.manual_seed(0)
    args = {"channels": 4, "hidden": 8, "dilations": [1, 2, 4, 8, 16, 32, 64],
            "sslm_lags": 20}
    if request.param == "sslm_conv":
        args.update(sslm_conv=3, sslm_kernel=5, sslm_lag_pool=2)
    model = BoundaryCNN(**args).eval()
    card = build_card(name="structure_test", task="structure", arch="boundary_cnn", args=args,
                      frontend=preset("boundaries"), labels=["boundary"], layout="same",
                      decoder={"offline": {"threshold": 0.01, "pre_max": 4.0,
                                           "post_max": 4.0}})
    return str(save(model, card, tmp_path_factory.mktemp("card")))
