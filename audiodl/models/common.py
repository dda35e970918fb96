"""Building blocks shared by the task models."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Standardize", "MemberMean"]


class Standardize(nn.Module):
    """``(x - mean) / std`` with statistics kept as buffers (they travel with the weights).

    ``mean``/``std`` have shape ``shape``: ``(n_bins,)`` (per band) or
    ``(n_frames, n_bins)`` (per pixel); they start at 0/1 and are set from the
    training set with :meth:`set_stats` (std clamped to at least 1e-5).
    """

    def __init__(self, shape):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape))

    def set_stats(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape))
        std = torch.as_tensor(std, dtype=torch.float32).reshape(self.std.shape)
        self.std.copy_(torch.clamp(std, min=1e-5))

    def forward(self, x):
        return (x - self.mean) / self.std


class MemberMean(nn.Module):
    """Base of the seed ensembles: ``self.members`` (an ``nn.ModuleList`` of networks with one
    sigmoid output each) averaged in probability; the subclass builds the members and calls
    :meth:`mean_logit` in its ``forward``."""

    members: nn.ModuleList

    def _make_members(self, member_cls, members, member_args) -> nn.Module:
        """``self.members``: ``members`` networks ``member_cls(**member_args)``; the first."""
        if isinstance(members, bool) or int(members) < 1:
            raise ValueError(f"members must be >= 1, got {members}")
        args = dict(member_args or {})
        self.members = nn.ModuleList([member_cls(**args) for _ in range(int(members))])
        return self.members[0]

    @classmethod
    def from_members(cls, models, member_args: dict | None = None):
        """An ensemble holding copies of the trained ``models`` (one architecture, the same
        ``member_args``), in eval mode."""
        models = list(models)
        return cls(len(models), member_args).load_members(models)

    def load_members(self, models) -> "MemberMean":
        """Copy the weights of the trained ``models`` into the members; ``self`` in eval mode."""
        for dst, src in zip(self.members, models):
            dst.load_state_dict(src.state_dict())
        return self.eval()

    def set_normalization(self, mean, std) -> None:
        """The training features' input statistics (every member)."""
        for m in self.members:
            m.set_normalization(mean, std)

    @staticmethod
    def mean_logit(logits) -> torch.Tensor:
        """Logit of the mean of the members' probabilities ``sigmoid(logits[i])``."""
        p = torch.stack([torch.sigmoid(z) for z in logits]).mean(dim=0)
        p = p.clamp(1e-7, 1 - 1e-7)
        return torch.log(p) - torch.log1p(-p)
