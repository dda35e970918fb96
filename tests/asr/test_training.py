"""``audiodl train asr``: CTC loss decreases, SortaGrad, CI config, exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = os.path.join(ROOT, "recipes", "asr", "conf", "ci.toml")


def test_ctc_loss_decreases_on_a_few_batches():
    """The spec's forward + loss drive the CTC loss down on a fixed batch."""
    import torch

    from audiodl.models.asr import DEFAULT_TOKENS
    from audiodl.models.registry import build
    from audiodl.training.specs.asr import AsrConfig, AsrSpec, UtteranceDataset, encode_text

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    texts = ["one two", "three", "four five six", "seven"]
    feats = [rng.standard_normal((40 + 25 * len(t), 80)).astype(np.float32) for t in texts]
    ds = UtteranceDataset(feats, [encode_text(t, DEFAULT_TOKENS) for t in texts])
    x, y = (torch.from_numpy(np.stack(a)) for a in zip(*(ds[k] for k in range(len(ds)))))
    spec, config = AsrSpec(), AsrConfig()
    model = build("ds2", {"n_bins": 80, "conv_channels": [4, 4],
                          "conv_kernels": [[5, 11], [5, 11]], "rnn_hidden": 32,
                          "rnn_layers": 2, "time_stride": 3})
    fwd, loss_fn = spec.forward(config), spec.loss(config)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss, lp = fwd(model, (x, y), loss_fn)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert lp.shape[0] == 4 and lp.shape[2] == len(DEFAULT_TOKENS)
    assert losses[-1] < 0.7 * losses[0], losses


def test_sortagrad_first_epoch_shortest_first():
    """Epoch 0 batches go from the shortest utterance up, through the trainer's sampler."""
    import torch
    from torch.utils.data import DistributedSampler

    from audiodl.training.specs.asr import UtteranceDataset
    rng = np.random.default_rng(1)
    lengths = rng.integers(10, 200, size=23)
    ds = UtteranceDataset([np.zeros((n, 4), np.float32) for n in lengths], [[3]] * 23,
                          sampler_seed=7000, bucket=4)
    for world in (1, 2):
        seen = []
        for rank in range(world):
            s = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=7000)
            s.set_epoch(0)
            seen.append([int(ds[k][1][0]) for k in s])
        order = [n for k in range(max(map(len, seen))) for r in seen if k < len(r)
                 for n in [r[k]]]
        assert order[:22] == sorted(lengths)[:22]  # DDP pads with a repeat at the end
    ds.set_epoch(1)  # later epochs: buckets of 4 similar lengths, in random order
    s = DistributedSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=7000)
    s.set_epoch(1)
    order = [int(ds[k][1][0]) for k in s]
    assert order != sorted(lengths) and sorted(order) == sorted(lengths)
    spread = np.mean([np.ptp(order[i:i + 4]) for i in range(0, 20, 4)])
    assert spread < 0.5 * np.ptp(lengths)
    assert torch.is_tensor(torch.as_tensor(ds[0][0]))


def _train(root, out, *sets):
    # NUMBA_NUM_THREADS=1: numba's OpenMP layer (first feature computation) otherwise
    # raises torch's intra-op threads to the core count, which changes float sums
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               AUDIODL_CACHE=str(root / "cache"), AUDIODL_DATA=str(root))
    cmd = [sys.executable, "-m", "audiodl.cli.main", "train", "asr", "--config", CI,
           "--out", str(out), *[a for s in sets for a in ("--set", s)]]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_ci_config_trains(speech_root, tmp_path):
    from audiodl import pretrained
    out = tmp_path / "ci"
    _train(speech_root, out)
    card = pretrained.card(str(out / "asr_ds2_ci.json"))
    assert card.task == "asr" and card.training.extra.get("smoke") is True
    assert card.labels[0] == "-" and "|" in card.labels
    model = pretrained.build_model(card, out)
    assert model.n_tokens == len(card.labels)
    log = [json.loads(line) for line in open(out / "log.jsonl")]
    assert [r["epoch"] for r in log] == [0, 1] and all("cer" in r for r in log)


@pytest.mark.slow
def test_resume_after_interruption_is_exact(speech_root, tmp_path):
    """A run stopped after epoch 0 and re-run ends bit-identical to an uninterrupted one."""
    import torch
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    _train(speech_root, straight)
    _train(speech_root, cut, "epochs=1")  # the process ends after epoch 0's checkpoint
    proc = _train(speech_root, cut)  # the same command again
    assert "resuming" in proc.stderr
    log = [json.loads(line) for line in open(cut / "log.jsonl")]
    assert [r["epoch"] for r in log] == [0, 1]
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(cut / "last.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 1
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    ref = [json.loads(line) for line in open(straight / "log.jsonl")]
    assert [r["train_loss"] for r in ref] == [r["train_loss"] for r in log]
