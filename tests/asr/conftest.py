"""Fixtures of the ASR tests: a tiny random-weight model card and a tiny TTS corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

TINY_ARGS = {"n_bins": 80, "conv_channels": [4, 4], "conv_kernels": [[5, 11], [5, 11]],
             "rnn_hidden": 16, "rnn_layers": 1, "time_stride": 3}


@pytest.fixture(scope="session")
def tiny_card(tmp_path_factory):
    """Card path of a randomly initialised ``ds2`` model (seeded), saved like a trained one."""
    import torch

    from audiodl import pretrained
    from audiodl.features.config import preset
    from audiodl.models.asr import DEFAULT_TOKENS
    from audiodl.models.registry import build
    from audiodl.pretrained.card import build_card

    torch.manual_seed(0)
    model = build("ds2", TINY_ARGS).eval()
    card = build_card(name="asr_tiny_test", task="asr", arch="ds2", args=TINY_ARGS,
                      frontend=preset("ds2_mel"), labels=list(DEFAULT_TOKENS), layout="window",
                      decoder={"offline": {"method": "greedy"}, "online": None,
                               "tuned_on": "nothing (test fixture)"},
                      training={"data": "none", "command": "test fixture", "seed": 0,
                                "seconds": 0.0, "smoke": True})
    d = tmp_path_factory.mktemp("asr_card")
    return pretrained.save(model, card, d)


def speech_corpus(root, *, hours=0.01, seed=1):
    """``root/ci/speech`` generated with the TTS voices (skips when none is installed)."""
    from audiodl.data.synth.engines import EngineUnavailable
    from audiodl.data.synth.runner import generate_corpus, task_module
    out = root / "ci" / "speech"
    if not (out / "manifest.jsonl").exists():
        try:
            task_module("speech").check()
        except EngineUnavailable as exc:
            pytest.skip(f"no TTS voice: {exc}")
        generate_corpus("speech", out, hours=hours, seed=seed, jobs=1)
    return out / "manifest.jsonl"


@pytest.fixture(scope="session")
def speech_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("asr_data")
    speech_corpus(root)
    return root


def read_jsonl(path):
    return [json.loads(line) for line in open(path)]


def peaked_emission(text, tokens, *, frames_per_token=3, gap=2, peak=0.98):
    """Log-probabilities with one sharp peak per token of ``text`` (blanks between)."""
    from audiodl.decoders.ctc import text_to_ids
    path = [0] * gap
    for i in text_to_ids(text, tokens):
        path += [i] * frames_per_token + [0] * gap
    lp = np.full((len(path), len(tokens)), np.log((1 - peak) / (len(tokens) - 1)), np.float32)
    lp[np.arange(len(path)), path] = np.log(peak)
    return lp, np.asarray(path)
