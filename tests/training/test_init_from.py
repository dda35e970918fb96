"""Fine-tuning: ``init_from`` loads a shipped model's checked weights into a fresh model."""

import pytest

torch = pytest.importorskip("torch")

from audiodl import pretrained  # noqa: E402
from audiodl.errors import ModelError  # noqa: E402
from audiodl.models.registry import build  # noqa: E402
from audiodl.training.specs.base import init_weights  # noqa: E402


def test_init_from_loads_the_shipped_weights():
    shipped, card = pretrained.load("onsets_cnn")
    torch.manual_seed(123)
    fresh = build(card.arch, card.args)
    key = next(k for k, v in fresh.state_dict().items() if v.dtype.is_floating_point and v.numel() > 1)
    assert not torch.equal(fresh.state_dict()[key], shipped.state_dict()[key])
    info = init_weights(fresh, "onsets_cnn")
    assert info == {"model": "onsets_cnn", "sha256": card.sha256}
    for k, v in shipped.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k


def test_init_from_refuses_another_architecture():
    card = pretrained.card("singing_cnn")
    with pytest.raises(ModelError):
        init_weights(build(card.arch, card.args), "onsets_cnn")
