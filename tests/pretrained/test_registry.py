import json

import pytest

torch = pytest.importorskip("torch")

from audiodl import pretrained  # noqa: E402
from audiodl.errors import ModelError  # noqa: E402
from audiodl.features import preset  # noqa: E402
from audiodl.models.registry import build, register  # noqa: E402


@register("_test_tiny")
class Tiny(torch.nn.Module):
    def __init__(self, n_in: int = 4, n_out: int = 1):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, n_out)
        self.register_buffer("mean", torch.zeros(n_in))

    def forward(self, x):
        return self.lin(x - self.mean)


def _card():
    return pretrained.build_card(name="tiny", task="_test", arch="_test_tiny",
                                 args={"n_in": 4, "n_out": 1}, frontend=preset("lidy2015"),
                                 labels=["yes"], layout="same", default=True, licence="MIT")


def test_save_load_roundtrip(tmp_path):
    m = build("_test_tiny", {"n_in": 4})
    with torch.no_grad():
        m.mean.fill_(0.5)
    path = pretrained.save(m, _card(), tmp_path)
    card = json.loads(path.read_text())
    assert card["arch"] == "_test_tiny" and len(card["sha256"]) == 64
    m2, c2 = pretrained.load("tiny", directory=tmp_path)
    x = torch.randn(3, 4)
    assert torch.equal(m(x), m2(x)) and not m2.training
    assert pretrained.list_models("_test", directory=tmp_path) == ["tiny"]
    assert pretrained.default_model("_test", directory=tmp_path) == "tiny"
    m3, _ = pretrained.load(str(path))
    assert torch.equal(m3(x), m(x))


def test_corrupt_weights_are_refused(tmp_path):
    pretrained.save(build("_test_tiny"), _card(), tmp_path)
    with open(tmp_path / "tiny.safetensors", "ab") as f:
        f.write(b"garbage")
    with pytest.raises(ModelError, match="sha256"):
        pretrained.load("tiny", directory=tmp_path)


def test_unknown_names_and_args(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        pretrained.card("nope", directory=tmp_path)
    with pytest.raises(ModelError, match="unknown arguments"):
        build("_test_tiny", {"n_inputs": 3})
    with pytest.raises(ModelError, match="unknown architecture"):
        build("no_such_arch")


def test_shipped_cards_are_complete_and_verified():
    for name in pretrained.list_models():
        card = pretrained.card(name)
        assert card.licence and card.recipe and card.metrics, name
        assert card.training.command and card.training.seed is not None, name
        assert pretrained.sha256_of(pretrained.WEIGHTS_DIR / card.weights) == card.sha256
        assert (pretrained.WEIGHTS_DIR / card.weights).stat().st_size < 8 * 2 ** 20
        # the JSON on disk is in the current schema and round-trips exactly
        on_disk = json.loads((pretrained.WEIGHTS_DIR / f"{name}.json").read_text())
        assert on_disk == card.to_dict()


def test_card_validation_and_schema_upgrade(tmp_path):
    from audiodl.pretrained.card import ModelCard
    good = _card().to_dict()
    assert ModelCard.from_dict(good).to_dict() == good
    with pytest.raises(ModelError, match="unknown keys"):
        ModelCard.from_dict(dict(good, thresholds=0.5))
    with pytest.raises(ModelError, match="lacks"):
        ModelCard.from_dict({k: v for k, v in good.items() if k != "frontend"})
    with pytest.raises(ModelError, match="layout"):
        ModelCard.from_dict(dict(good, layout="sideways"))
    with pytest.raises(ModelError, match="newer"):
        ModelCard.from_dict(dict(good, schema_version=99))
    old = {k: v for k, v in good.items() if k not in ("schema_version", "layout")}
    old.update(kind="excerpt", decoder={"method": "hysteresis", "threshold": [0.5, 0.6]})
    up = ModelCard.from_dict(old)
    assert up.layout == "excerpt" and up.decoder.offline["threshold"] == [0.5, 0.6]


def test_ship_refuses_smoke_models_and_silent_overwrites(tmp_path):
    m = build("_test_tiny", {"n_in": 4})
    src = tmp_path / "run"
    smoke = _card().replace(name="tiny_smoke")
    pretrained.save(m, smoke, src)
    with pytest.raises(ModelError, match="smoke"):
        pretrained.ship(src / "tiny_smoke.json", directory=tmp_path / "ship")
    pretrained.save(m, _card(), src)
    dest = tmp_path / "ship"
    dest.mkdir()
    pretrained.ship(src / "tiny.json", directory=dest)
    with pytest.raises(ModelError, match="exists"):
        pretrained.ship(src / "tiny.json", directory=dest)
    pretrained.ship(src / "tiny.json", directory=dest, replace=True)
    assert pretrained.card("tiny", directory=dest).sha256 == pretrained.card(
        "tiny", directory=src).sha256
