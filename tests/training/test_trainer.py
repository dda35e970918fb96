import json
import os

import pytest

torch = pytest.importorskip("torch")

from audiodl.errors import ParameterError  # noqa: E402
from audiodl.training import TrainConfig, train  # noqa: E402


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).float()[:, None]
    return torch.utils.data.TensorDataset(x, y)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))


def _acc(outs, targets):
    o, t = torch.cat(outs), torch.cat(targets)
    return {"acc": float(((o > 0).float() == t).float().mean())}


def test_few_batch_training_learns_and_checkpoints(tmp_path):
    cfg = TrainConfig(epochs=8, batch_size=32, lr=0.05, optimizer="adam", seed=1,
                      monitor="acc")
    res = train(_model(), _data(), _data(128, seed=1), loss_fn=torch.nn.BCEWithLogitsLoss(),
                config=cfg, out_dir=tmp_path, metric_fn=_acc)
    assert res["best"]["acc"] > 0.85
    for f in ("config.json", "log.jsonl", "last.pt", "best.pt"):
        assert os.path.exists(tmp_path / f)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 8 and "acc" in json.loads(lines[-1])


def test_resume_continues_not_restarts(tmp_path):
    loss = torch.nn.BCEWithLogitsLoss()
    train(_model(), _data(), _data(64, 1), loss_fn=loss,
          config=TrainConfig(epochs=3, batch_size=32, seed=2), out_dir=tmp_path)
    res = train(_model(), _data(), _data(64, 1), loss_fn=loss,
                config=TrainConfig(epochs=5, batch_size=32, seed=2), out_dir=tmp_path)
    epochs = [json.loads(line)["epoch"] for line in
              (tmp_path / "log.jsonl").read_text().splitlines()]
    assert epochs == [0, 1, 2, 3, 4]
    assert len(res["history"]) == 5


def test_time_budget_stops_between_epochs(tmp_path):
    from audiodl.training.trainer import _over_budget
    hist = [{"elapsed": 10.0}, {"elapsed": 30.0}, {"elapsed": 40.0}]  # longest epoch: 20 s
    assert not _over_budget(hist, 40.0, 1.0) and _over_budget(hist, 41.0, 1.0)
    assert not _over_budget([], 1e6, 0.001)  # the first epoch always runs
    res = train(_model(), _data(), None, loss_fn=torch.nn.BCEWithLogitsLoss(),
                config=TrainConfig(epochs=50, batch_size=32, seed=2, max_minutes=1e-9),
                out_dir=tmp_path)
    assert len(res["history"]) == 1 and os.path.exists(tmp_path / "best.pt")


def test_snapshots_keep_every_nth_epoch(tmp_path):
    res = train(_model(), _data(), _data(64, 1), loss_fn=torch.nn.BCEWithLogitsLoss(),
                config=TrainConfig(epochs=5, batch_size=32, seed=2, snapshot_every=2),
                out_dir=tmp_path)
    snaps = sorted(os.listdir(tmp_path / "snapshots"))
    assert snaps == ["epoch_001.pt", "epoch_003.pt"]
    last = torch.load(tmp_path / "snapshots" / "epoch_003.pt", weights_only=True)
    assert set(last) == set(_model().state_dict())
    assert len(res["history"]) == 5
    with pytest.raises(ParameterError):
        TrainConfig(snapshot_every=0)


def test_same_seed_same_result(tmp_path):
    loss = torch.nn.BCEWithLogitsLoss()
    cfg = TrainConfig(epochs=2, batch_size=16, seed=3)
    a = train(_model(), _data(), None, loss_fn=loss, config=cfg, out_dir=tmp_path / "a")
    b = train(_model(), _data(), None, loss_fn=loss, config=cfg, out_dir=tmp_path / "b")
    assert a["history"][-1]["train_loss"] == b["history"][-1]["train_loss"]


def test_overrides_reject_unknown_keys():
    cfg = TrainConfig().with_overrides(["lr=0.5", "epochs=3", "amp=true"])
    assert cfg.lr == 0.5 and cfg.epochs == 3 and cfg.amp is True
    with pytest.raises(ParameterError):
        TrainConfig().with_overrides(["learning_rate=1"])
    with pytest.raises(ParameterError):
        TrainConfig(optimizer="rmsprop")


def test_resume_is_exact(tmp_path):
    """Stopped after 2 of 4 epochs and re-run: bit-identical to an uninterrupted run."""
    loss = torch.nn.BCEWithLogitsLoss()
    data = _data()
    train(_model(), data, _data(64, 1), loss_fn=loss,
          config=TrainConfig(epochs=4, batch_size=32, seed=4), out_dir=tmp_path / "a")
    train(_model(), data, _data(64, 1), loss_fn=loss,
          config=TrainConfig(epochs=2, batch_size=32, seed=4), out_dir=tmp_path / "b")
    import numpy as np
    np.random.seed(123)  # the resumed run must restore numpy's state, not use this one
    train(_model(), data, _data(64, 1), loss_fn=loss,
          config=TrainConfig(epochs=4, batch_size=32, seed=4), out_dir=tmp_path / "b")
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]
    assert torch.equal(a["rng_numpy"]["keys"], b["rng_numpy"]["keys"])


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("which", ["last.pt", "best.pt"])
def test_replaced_checkpoint_never_executes(tmp_path, which):
    """A last.pt swapped for a pickle that runs code gives a clear ModelError and runs nothing."""
    from audiodl.errors import ModelError
    loss = torch.nn.BCEWithLogitsLoss()
    cfg = TrainConfig(epochs=1, batch_size=32, seed=2)
    train(_model(), _data(), None, loss_fn=loss, config=cfg, out_dir=tmp_path)
    marker = tmp_path / "pwned"
    # torch.save pickles anything; best.pt is read when the finished run is re-run
    torch.save({"model": _Boom(marker)}, tmp_path / which)
    with pytest.raises(ModelError, match=which):
        train(_model(), _data(), None, loss_fn=loss, config=cfg, out_dir=tmp_path)
    assert not marker.exists()
    (tmp_path / which).write_bytes(b"garbage")
    with pytest.raises(ModelError, match=which):
        train(_model(), _data(), None, loss_fn=loss, config=cfg, out_dir=tmp_path)
