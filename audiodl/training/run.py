"""Run a task's training spec: config -> run folder -> trained model card.

``audiodl train TASK --config FILE`` calls :func:`run_training`, in one
process or in each of the processes of ``torchrun --nproc_per_node N -m
audiodl.cli.main train ...`` (DDP; gloo on CPU). The run folder receives:

* ``run.json`` — the run record: task, resolved config, seed, command, world
  size, versions (audiodl, python, torch, numpy, numba) and hardware (CPUs,
  GPU names, processes, DDP backend);
* ``train.log`` — the log of the run (rank 0);
* ``config.json``, ``log.jsonl``, ``last.pt``, ``best.pt`` — the trainer's
  (re-running the same command resumes from ``last.pt``);
* ``metrics.json`` — best epoch, validation scores, tuned-decoder scores;
* ``<name>.json`` + ``<name>.safetensors`` — the trained model as card + weights
  (:func:`audiodl.pretrained.save`), loadable with
  :func:`audiodl.pretrained.load` and shippable with ``audiodl ship``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Optional, Sequence

from ..errors import ParameterError

__all__ = ["run_training", "RESUMABLE_KEYS"]

log = logging.getLogger(__name__)

#: config keys that may change when a finished or interrupted run is re-run (the decoder
#: tuning keys only change what is tuned on validation after training)
RESUMABLE_KEYS = ("epochs", "patience", "num_workers", "threads", "device", "max_minutes",
                  "snapshot_every",
                  "feature_jobs", "feature_cache", "tune", "tune_objective")


def _versions() -> dict:
    from .. import __version__
    from .trainer import describe_environment
    return dict(describe_environment(), audiodl=__version__)


def _hardware(world: int) -> dict:
    """CPU count, GPUs (names) and processes of the run."""
    import platform

    import torch
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] \
        if torch.cuda.is_available() else []
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "processor": platform.processor() or None, "gpus": gpus,
            "processes": world, "backend": ("nccl" if gpus else "gloo") if world > 1 else None}


def _check_same_run(path: Path, config: dict) -> None:
    try:
        old = json.loads(path.read_text())["config"]
        if not isinstance(old, dict):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return
    diff = sorted(k for k in set(old) | set(config)
                  if k not in RESUMABLE_KEYS and old.get(k) != config.get(k))
    if diff:
        raise ParameterError(f"{path.parent} holds a run with another config (differs in "
                             f"{diff}); choose another --out or remove the folder")


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def run_training(task: str, *, config_path=None, overrides: Sequence[str] = (),
                 data_root=None, out_dir=None, command: str = "") -> Optional[Path]:
    """Train ``task`` from a config and write the run folder.

    Parameters
    ----------
    task : str
        A name of :data:`audiodl.training.specs.SPECS`.
    config_path : path or None
        Flat TOML config (keys of the spec's config class).
    overrides : sequence of str
        ``key=value`` overrides (unknown keys are an error).
    data_root : path or None
        Root of relative corpus paths (default :func:`audiodl.data.paths.data_root`).
    out_dir : path or None
        Run folder (default ``DATA_ROOT/runs/<task>/<spec.run_name(config)>``).
    command : str
        The command line recorded in the card (no machine paths).

    Returns
    -------
    Path or None
        The card of the trained model (rank 0; None on other ranks).
    """
    import torch
    import torch.distributed as dist

    from .. import pretrained
    from ..data.paths import data_root as _data_root
    from ..data.paths import runs_dir
    from .config import config_dict, load_config
    from .specs import get_spec
    from .trainer import seed_everything, train

    t0 = time.time()
    spec = get_spec(task)
    config = load_config(spec.config_class, config_path, overrides)
    resolved = config_dict(config)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    torch.set_num_threads(config.threads)
    root = _data_root(data_root)
    name = spec.model_name(config)
    out = Path(out_dir) if out_dir else runs_dir(task, root) / spec.run_name(config)
    out = out.resolve()
    handler = None
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        run_json = out / "run.json"
        _check_same_run(run_json, resolved)
        _write_json(run_json, {"task": task, "name": name, "config": resolved,
                               "config_file": str(config_path) if config_path else None,
                               "overrides": list(overrides), "seed": config.seed,
                               "command": command, "world_size": world,
                               "versions": _versions(), "hardware": _hardware(world)})
        handler = logging.FileHandler(out / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        pkg = logging.getLogger("audiodl")
        pkg.addHandler(handler)
        if pkg.getEffectiveLevel() > logging.INFO:
            pkg.setLevel(logging.INFO)
    try:
        seed_everything(config.seed)  # the same initial weights in every process
        prepared = spec.prepare(config, data_root=root)
        if config.init_from:  # fine-tuning (a resumed run then loads its own last.pt)
            from .specs.base import init_weights
            prepared.data["init_from"] = init_weights(prepared.model, config.init_from)
            log.info("initialised from %s", prepared.data["init_from"])
        # numba's threading layer can raise torch's thread count while features are
        # computed in prepare(); restore it so a first run and a resumed run match exactly
        torch.set_num_threads(config.threads)
        result = train(prepared.model, prepared.train, prepared.valid,
                       loss_fn=spec.loss(config), config=config, out_dir=out,
                       metric_fn=spec.metrics(config, prepared),
                       forward_fn=spec.forward(config))
        card_path = None
        if rank == 0:
            model = prepared.model
            decoder = spec.tune(model, config, prepared)
            from .specs.base import RunInfo
            info = RunInfo(name=name, command=command, seconds=time.time() - t0,
                           result=result, world_size=world, config=resolved)
            card = spec.card(model.cpu(), config, prepared, info=info, decoder=decoder)
            card_path = pretrained.save(model, card, out, overwrite=True)
            _write_json(out / "metrics.json", {
                "task": task, "best_epoch": result["best_epoch"], "valid": result["best"],
                "decoder": decoder, "seconds": round(time.time() - t0, 1),
                "train_seconds": round(result["seconds"], 1), "card": card_path.name,
                "history": result["history"]})
            log.info("trained %s in %.0f s: best epoch %s, %s -> %s", task, time.time() - t0,
                     result["best_epoch"], result["best"], card_path)
        if world > 1 and dist.is_initialized():
            dist.barrier()
        return card_path
    finally:
        if handler is not None:
            logging.getLogger("audiodl").removeHandler(handler)
            handler.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
