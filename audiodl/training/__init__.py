"""A plain PyTorch training loop shared by every task (imports torch)."""

from .trainer import TrainConfig, seed_everything, train

__all__ = ["TrainConfig", "seed_everything", "train"]
