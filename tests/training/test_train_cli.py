"""``audiodl train`` on the CI configs (tiny generated corpora), DDP and ``audiodl ship``.

Measured on the shared 2-core machine (one torch thread per process): each CI
training run takes about 5-15 s after its corpus is generated (2-3 s each).
"""

import json

import pytest

from .conftest import CONF, run_cli

torch = pytest.importorskip("torch")


def _check_run(out, name, layout):
    from audiodl import pretrained
    for f in ("run.json", "config.json", "log.jsonl", "metrics.json", "best.pt", "last.pt",
              "train.log", f"{name}.json", f"{name}.safetensors"):
        assert (out / f).exists(), f
    model, card = pretrained.load(str(out / f"{name}.json"))
    assert card.layout == layout and card.training.extra["smoke"] is True
    assert card.training.command.startswith("audiodl train ")
    assert "--data-root" not in card.training.command and "--out" not in card.training.command
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["smoke"] is True and "torch" in run["versions"]
    return model, card


def test_train_onsets_ci_and_resume(onsets_root, tmp_path):
    out = tmp_path / "run"
    args = ["train", "onsets", "--config", CONF["onsets"], "--out", str(out)]
    proc, seconds = run_cli(args, onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"audiodl train onsets (ci): {seconds:.1f} s")
    _, card = _check_run(out, "onsets_cnn_ci", "valid")
    assert card.task == "onsets" and card.labels == ("onset",)
    assert card.decoder.offline["threshold"] > 0 and card.decoder.online["post_max"] == 0
    assert "valid_tuned" in card.metrics
    # re-run with one more epoch: resumes from last.pt, does not restart
    proc, _ = run_cli([*args, "--set", "epochs=3"], onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    epochs = [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert epochs == [0, 1, 2]
    # another config in the same folder is refused
    proc, _ = run_cli([*args, "--set", "lr=0.5"], onsets_root)
    assert proc.returncode != 0 and "another config" in proc.stderr


def test_train_musicspeech_detect_ci(musicspeech_root, tmp_path):
    out = tmp_path / "run"
    proc, seconds = run_cli(["train", "musicspeech-detect", "--config",
                             CONF["musicspeech-detect"], "--out", str(out)], musicspeech_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"audiodl train musicspeech-detect (ci): {seconds:.1f} s")
    model, card = _check_run(out, "musicspeech_tcn_ci", "same")
    assert card.task == "musicspeech-detect" and card.labels == ("music", "speech")
    assert card.decoder.offline["method"] == "hysteresis"
    assert card.normalization == "per-band"
    assert float(model.norm.std.min()) > 0 and float(model.norm.mean.abs().max()) > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["best_epoch"] in (0, 1) and "f_mean" in metrics["valid"]


def test_torchrun_two_processes_match_one(onsets_root, tmp_path):
    """2 DDP processes (gloo) follow the 1-process loss trajectory.

    No dropout and no batch norm (``onset_cnn_sb2014`` with ``dropout=0``), so
    the only difference is the summation order of the gradient all-reduce:
    losses agree to a relative 1e-4 (measured: about 1e-7).
    """
    sets = ["--set", "arch=onset_cnn_sb2014", "--set", 'arch_args={"dropout": 0.0}',
            "--set", "epochs=3", "--set", "tune=false"]
    logs = {}
    for n in (1, 2):
        out = tmp_path / f"np{n}"
        proc, seconds = run_cli(["train", "onsets", "--config", CONF["onsets"], "--out", str(out),
                                 *sets], onsets_root, torchrun=n if n > 1 else 0)
        assert proc.returncode == 0, proc.stderr[-3000:]
        print(f"{n} process(es): {seconds:.1f} s")
        logs[n] = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        assert json.loads((out / "run.json").read_text())["world_size"] == n
    assert len(logs[1]) == len(logs[2]) == 3
    for a, b in zip(logs[1], logs[2]):
        for key in ("train_loss", "loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), (key, a, b)
    diff = max(abs(a[k] - b[k]) / abs(a[k]) for a, b in zip(logs[1], logs[2])
               for k in ("train_loss", "loss"))
    print(f"max relative loss difference 1 vs 2 processes: {diff:.2e}")


def test_ship_refuses_smoke_and_overwrite(onsets_root, tmp_path):
    from audiodl import pretrained
    out = tmp_path / "run"
    proc, _ = run_cli(["train", "onsets", "--config", CONF["onsets"], "--out", str(out),
                       "--set", "epochs=1", "--set", "tune=false"], onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    smoke = out / "onsets_cnn_ci.json"
    ship_dir = tmp_path / "shipped"
    ship_dir.mkdir()
    proc, _ = run_cli(["ship", str(smoke), "--name", "onsets_test", "--to", str(ship_dir)],
                      onsets_root)
    assert proc.returncode != 0 and "smoke" in proc.stderr
    assert not list(ship_dir.iterdir())
    # the same weights under a non-smoke card
    model, card = pretrained.load(str(smoke))
    extra = {k: v for k, v in card.training.extra.items() if k != "smoke"}
    real = card.replace(name="onsets_test", training=card.training.__class__(
        data=card.training.data, command=card.training.command, seed=card.training.seed,
        seconds=card.training.seconds, extra=extra))
    path = pretrained.save(model, real, tmp_path / "trained")
    proc, _ = run_cli(["ship", str(path), "--to", str(ship_dir)], onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (ship_dir / "onsets_test.json").exists()
    proc, _ = run_cli(["ship", str(path), "--to", str(ship_dir)], onsets_root)
    assert proc.returncode != 0 and "--replace" in proc.stderr
    proc, _ = run_cli(["ship", str(path), "--to", str(ship_dir), "--replace", "--default"],
                      onsets_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert pretrained.card("onsets_test", directory=ship_dir).default
    # the installed package's shipped model is never overwritten without --replace
    before = (pretrained.WEIGHTS_DIR / "onsets_cnn.json").read_bytes()
    proc, _ = run_cli(["ship", str(path), "--name", "onsets_cnn"], onsets_root)
    assert proc.returncode != 0 and "exists" in proc.stderr
    assert (pretrained.WEIGHTS_DIR / "onsets_cnn.json").read_bytes() == before


def test_train_musicspeech_classify_ci(musicspeech_root, tmp_path):
    out = tmp_path / "run"
    proc, seconds = run_cli(["train", "musicspeech-classify", "--config",
                             CONF["musicspeech-classify"], "--out", str(out)], musicspeech_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"audiodl train musicspeech-classify (ci): {seconds:.1f} s")
    _, card = _check_run(out, "musicspeech_cnn_ci", "excerpt")
    assert card.task == "musicspeech-classify" and "accuracy" in card.metrics["valid"]
