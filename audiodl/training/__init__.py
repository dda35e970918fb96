"""Training: the shared PyTorch loop, flat configs and one spec per task.

* :mod:`~audiodl.training.trainer` — seeds, AMP, DDP (torchrun), checkpoints,
  resume (``TrainConfig``, ``train``; imports torch);
* :mod:`~audiodl.training.config` — TOML configs with ``--set key=value``;
* :mod:`~audiodl.training.specs` — one training spec per task, by name;
* :mod:`~audiodl.training.run` — ``audiodl train TASK``: spec -> run folder -> card.

Names are imported on first use, so ``import audiodl.training.specs`` does
not import torch.
"""

from __future__ import annotations

import importlib

__all__ = ["TrainConfig", "seed_everything", "train", "run_training", "load_config"]

_LAZY = {"TrainConfig": "trainer", "seed_everything": "trainer", "train": "trainer",
         "run_training": "run", "load_config": "config"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
