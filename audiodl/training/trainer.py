"""Plain PyTorch training loop: seeds, AMP, DDP (torchrun), checkpoints, resume.

Usage::

    from audiodl.training import TrainConfig, train
    result = train(model, train_ds, valid_ds, loss_fn=nn.BCEWithLogitsLoss(),
                   config=TrainConfig(epochs=20, lr=0.01, optimizer="nesterov"),
                   out_dir="runs/onsets/seed0")

Under ``torchrun --nproc_per_node N`` each process trains on its shard
(DistributedSampler) and rank 0 writes checkpoints and logs. ``batch_size``
is the global batch: each of N processes takes ``batch_size / N`` examples
of the same shuffled order a single process would use, so one and N
processes follow the same trajectory up to floating-point summation order
(and per-process dropout masks / batch-norm statistics). Re-running the
same command resumes from ``out_dir/last.pt``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import ModelError, ParameterError

__all__ = ["TrainConfig", "seed_everything", "train", "describe_environment"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Flat training settings (CLI ``--set key=value`` friendly).

    Parameters
    ----------
    epochs : int
    batch_size : int
        Global batch size (split evenly over DDP processes).
    lr : float
    optimizer : {'sgd', 'nesterov', 'adam', 'adamw'}
    momentum : float (sgd / nesterov)
    weight_decay : float
    lr_schedule : {'constant', 'cosine', 'step'}
        ``step`` multiplies the rate by ``lr_gamma`` every ``lr_step`` epochs.
    lr_step, lr_gamma : int, float
    amp : bool
        Mixed precision (bf16 on CPU, fp16 on CUDA).
    grad_clip : float or None
    patience : int or None
        Stop after this many epochs without improvement of the validation score.
    seed : int
    device : str  ('auto' picks cuda when available)
    num_workers : int
    max_steps_per_epoch : int or None
        Cap on batches per epoch (for huge or infinite datasets).
    monitor : str
        Validation key to select the best epoch on (``loss`` is minimised,
        anything else maximised).
    max_minutes : float or None
        Wall-clock budget [min]: no epoch is started that would end after it
        (judged by the longest epoch so far); the run then ends as if its
        epochs were done (best epoch kept, card written). Re-running with a
        larger budget resumes.
    snapshot_every : int or None
        Also keep the model ``state_dict`` of every N-th epoch as
        ``snapshots/epoch_NNN.pt`` (0-based epoch index), so that epochs can be
        chosen afterwards by a score the per-epoch validation does not compute
        (a tuned decoder's error, say).
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    lr_step: int = 10
    lr_gamma: float = 0.1
    amp: bool = False
    grad_clip: Optional[float] = None
    patience: Optional[int] = None
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    max_steps_per_epoch: Optional[int] = None
    monitor: str = "loss"
    max_minutes: Optional[float] = None
    snapshot_every: Optional[int] = None

    def __post_init__(self):
        if self.optimizer not in ("sgd", "nesterov", "adam", "adamw"):
            raise ParameterError(f"unknown optimizer {self.optimizer!r}")
        if self.lr_schedule not in ("constant", "cosine", "step"):
            raise ParameterError(f"unknown lr_schedule {self.lr_schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ParameterError("epochs, batch_size and lr must be positive")
        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise ParameterError("snapshot_every must be a positive number of epochs")

    def with_overrides(self, items) -> "TrainConfig":
        """Apply ``key=value`` strings (typed by the field); unknown keys are an error."""
        from .config import apply_overrides
        return apply_overrides(self, items)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def describe_environment() -> dict:
    """Versions and machine facts recorded with every run."""
    import numba
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "numba": numba.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch_threads": torch.get_num_threads()}


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


def _resolve_device(config: TrainConfig, local_rank: int) -> torch.device:
    if config.device == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def _make_optimizer(model, config: TrainConfig):
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer in ("sgd", "nesterov"):
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.optimizer == "nesterov",
                               weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _lr_at(config: TrainConfig, epoch: int) -> float:
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))
    if config.lr_schedule == "step":
        return config.lr * config.lr_gamma ** (epoch // config.lr_step)
    return config.lr


def _loader(data, config, *, shuffle, collate_fn, world, rank, seed, epoch):
    """DataLoader of one epoch; under DDP each rank takes every ``world``-th example.

    The order is ``randperm(n)`` seeded with ``seed + epoch`` (a
    DistributedSampler, also for one process) and each rank's batch is
    ``batch_size / world`` long, so the union of the ranks' batches is the
    single-process batch.
    """
    if isinstance(data, DataLoader) or data is None:
        return data, None
    if not isinstance(data, Dataset):
        raise ParameterError(f"expected a torch Dataset or DataLoader, got {type(data)}")
    batch = config.batch_size
    if batch % world:
        raise ParameterError(f"batch_size {batch} is not divisible by the {world} DDP processes")
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=shuffle,
                                 seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    return DataLoader(data, batch_size=batch // world, sampler=sampler,
                      num_workers=config.num_workers, collate_fn=collate_fn,
                      drop_last=False), sampler


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def _progress(iterable, total, desc, enabled):
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False,
                disable=not (enabled and sys.stderr.isatty()))


def _cpu_state(model) -> dict:
    """The model's ``state_dict`` as detached CPU tensors (best.pt, snapshots)."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _save_atomic(obj, path: str) -> None:
    """``torch.save`` to a temporary file renamed over ``path`` (a kill leaves the old file)."""
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _write_log(out_dir, history) -> None:
    """``log.jsonl`` from the checkpointed history: one line per finished epoch, never two."""
    _write_atomic(os.path.join(out_dir, "log.jsonl"),
                  "".join(json.dumps(h) + "\n" for h in history))


def _rng_state() -> tuple:
    """torch, numpy and Python generator states in types ``weights_only`` loads."""
    return torch.get_rng_state(), _numpy_rng_state(), list(random.getstate())


def _set_rng_state(ck: dict, rank: int, world: int) -> None:
    """This rank's generators from a checkpoint (every rank's are saved under DDP)."""
    ranks = ck.get("rng_ranks")
    if ranks is not None and len(ranks) == world:
        t, n, p = ranks[rank]
    else:
        t, n, p = ck["rng_torch"], ck["rng_numpy"], ck["rng_python"]
    torch.set_rng_state(t.cpu() if hasattr(t, "cpu") else t)  # map_location may have moved it
    np.random.set_state(_numpy_rng_from(n))
    random.setstate(_python_rng_from(p))


def _over_budget(history, elapsed: float, max_minutes: float) -> bool:
    """Would one more epoch (as long as the longest so far) end after the budget?

    The first epoch always runs (a run never ends with nothing)."""
    if not history:
        return False
    times = [h["elapsed"] for h in history]
    longest = max((b - a for a, b in zip([0.0] + times, times)), default=0.0)
    return elapsed + longest > 60.0 * max_minutes


def _forward_loss(model, batch, loss_fn):
    """Batches are ``(inputs, targets)`` or ``(inputs, targets, weights)``."""
    x, y = batch[0], batch[1]
    out = model(x)
    if len(batch) > 2:
        return loss_fn(out, y, batch[2]), out
    return loss_fn(out, y), out


def train(model, train_data, valid_data, *, loss_fn: Callable, config: TrainConfig,
          out_dir, metric_fn: Optional[Callable] = None, collate_fn=None,
          forward_fn: Optional[Callable] = None) -> dict:
    """Train ``model`` and keep the best epoch by the validation score.

    Parameters
    ----------
    model : torch.nn.Module
    train_data, valid_data : Dataset or DataLoader (valid may be None)
        Batches are ``(inputs, targets[, weights])``.
    loss_fn : callable ``(outputs, targets[, weights]) -> scalar tensor``
    config : TrainConfig
    out_dir : path
        Receives ``config.json``, ``log.jsonl``, ``last.pt`` (full state, for
        resuming) and ``best.pt`` (model ``state_dict`` of the best epoch).
    metric_fn : callable ``(list of outputs, list of targets) -> dict``, optional
        Extra validation scores (computed on rank 0 over its shard).
    forward_fn : callable ``(model, batch, loss_fn) -> (loss, outputs)``, optional
        Override for models with unusual batches.

    Returns
    -------
    dict with ``best_epoch``, ``best`` (validation scores), ``history``,
    ``seconds`` and ``best_path``.
    """
    world, rank, local_rank = _dist_info()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = _resolve_device(config, local_rank)
    seed_everything(config.seed + rank)  # dropout masks differ per process
    os.makedirs(out_dir, exist_ok=True)
    is_main = rank == 0
    forward = forward_fn or _forward_loss

    model.to(device)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None)
    opt = _make_optimizer(model, config)
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")

    start_epoch, history, best, best_epoch, bad_epochs = 0, [], None, -1, 0
    last_path = os.path.join(out_dir, "last.pt")
    best_path = os.path.join(out_dir, "best.pt")
    minimise = config.monitor == "loss"
    if os.path.exists(last_path):
        ck = load_checkpoint(last_path, device="cpu")  # RNG states must stay on the CPU
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            start_epoch, history = int(ck["epoch"]) + 1, list(ck["history"])
            best, best_epoch, bad_epochs = ck["best"], int(ck["best_epoch"]), int(ck["bad_epochs"])
            _set_rng_state(ck, rank, world)
            if ck.get("scaler"):
                scaler.load_state_dict(ck["scaler"])
        except ModelError:
            raise
        except Exception as exc:  # KeyError, shape mismatch, wrong types ...
            raise ModelError(f"{last_path}: cannot resume from this checkpoint "
                             f"({type(exc).__name__}: {str(exc)[:200]}); move it away to "
                             "start afresh") from None
        log.info("resuming %s at epoch %d", out_dir, start_epoch)
    if is_main:
        _write_atomic(os.path.join(out_dir, "config.json"), json.dumps(
            {"train": dataclasses.asdict(config), "world_size": world,
             "environment": describe_environment()}, indent=2))
        _write_log(out_dir, history)  # a kill between checkpoint and log loses no line

    t_start = time.time() - (history[-1]["elapsed"] if history else 0.0)
    for epoch in range(start_epoch, config.epochs):
        if config.patience is not None and bad_epochs >= config.patience:
            break
        if config.max_minutes is not None and _over_budget(history, time.time() - t_start,
                                                           config.max_minutes):
            log.info("stopping before epoch %d: time budget of %g min", epoch,
                     config.max_minutes)
            break
        for group in opt.param_groups:
            group["lr"] = _lr_at(config, epoch)
        if hasattr(train_data, "set_epoch"):
            train_data.set_epoch(epoch)  # new random excerpts every epoch (seeded)
        loader, _ = _loader(train_data, config, shuffle=True, collate_fn=collate_fn,
                            world=world, rank=rank, seed=config.seed * 1000, epoch=epoch)
        net.train()
        total, count = 0.0, 0
        n_batches = len(loader) if hasattr(loader, "__len__") else None
        if config.max_steps_per_epoch:
            n_batches = min(n_batches or config.max_steps_per_epoch, config.max_steps_per_epoch)
        for step, batch in enumerate(_progress(loader, n_batches, f"epoch {epoch}", is_main)):
            if config.max_steps_per_epoch and step >= config.max_steps_per_epoch:
                break
            batch = _to_device(batch, device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=config.amp):
                loss, _ = forward(net, batch, loss_fn)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(opt)
            scaler.update()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss at epoch {epoch} step {step}")
            total += float(loss.detach()) * len(batch[1])
            count += len(batch[1])
        if world > 1:  # the mean over all processes' examples
            t = torch.tensor([total, float(count)], dtype=torch.float64)
            dist.all_reduce(t)
            total, count = float(t[0]), int(t[1])
        scores = {"train_loss": total / max(count, 1)}
        if valid_data is not None:
            scores.update(evaluate(net, valid_data, loss_fn=loss_fn, config=config,
                                   device=device, metric_fn=metric_fn, collate_fn=collate_fn,
                                   forward_fn=forward))
        key = "loss" if config.monitor == "loss" else config.monitor
        current = scores.get(key, scores["train_loss"] if key == "loss" else None)
        if current is None:
            raise ParameterError(f"monitor {config.monitor!r} not among scores {sorted(scores)}")
        improved = best is None or (current < best[key] if minimise else current > best[key])
        if improved:
            best, best_epoch, bad_epochs = dict(scores, **{key: current}), epoch, 0
            if is_main:
                _save_atomic(_cpu_state(model), best_path)
        else:
            bad_epochs += 1
        scores.update(epoch=epoch, lr=opt.param_groups[0]["lr"],
                      elapsed=time.time() - t_start)
        history.append(scores)
        if is_main and config.snapshot_every and (epoch + 1) % config.snapshot_every == 0:
            os.makedirs(os.path.join(out_dir, "snapshots"), exist_ok=True)
            _save_atomic(_cpu_state(model),
                         os.path.join(out_dir, "snapshots", f"epoch_{epoch:03d}.pt"))
        rng_ranks = None
        if world > 1:  # each rank's generators, so a resumed DDP run is exact too
            rng_ranks = [None] * world
            dist.all_gather_object(rng_ranks, _rng_state())
        if is_main:
            t_rng, n_rng, p_rng = _rng_state()
            _save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "epoch": epoch, "history": _plain(history), "best": _plain(best),
                          "best_epoch": best_epoch, "bad_epochs": bad_epochs,
                          "rng_torch": t_rng, "rng_numpy": n_rng, "rng_python": p_rng,
                          "rng_ranks": rng_ranks, "scaler": scaler.state_dict()}, last_path)
            _write_log(out_dir, history)
            log.info("epoch %d: %s", epoch, {k: round(v, 5) if isinstance(v, float) else v
                                            for k, v in scores.items()})
    if world > 1:
        dist.barrier()  # rank 0 has written the final best.pt before anyone reads it
    if os.path.exists(best_path):
        best_state = load_checkpoint(best_path, device=device)
        try:
            model.load_state_dict(best_state)
        except Exception as exc:
            raise ModelError(f"{best_path}: does not fit the model ({str(exc)[:200]})") from None
    result = {"best_epoch": best_epoch, "best": best, "history": history,
              "seconds": history[-1]["elapsed"] if history else 0.0, "best_path": best_path}
    return result


def load_checkpoint(path, *, device="cpu"):
    """A trainer checkpoint (``last.pt``/``best.pt``) read with ``torch.load(weights_only=True)``.

    Only tensors and plain containers/numbers/strings are unpickled: a
    replaced file carrying code is refused, never run.

    Raises
    ------
    ModelError
        Naming the file, for anything that is not such a checkpoint.
    """
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, BadZipFile ...
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelError(f"{path}: not a loadable training checkpoint ({type(exc).__name__}: "
                         f"{first}); it is never unpickled beyond plain tensors and "
                         "numbers") from None


def _plain(obj):
    """Scores with numpy scalars turned into Python numbers (``weights_only``-loadable)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def _numpy_rng_state() -> dict:
    """numpy's global RNG state in types ``weights_only`` accepts (tensors and numbers)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": str(name), "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _numpy_rng_from(st) -> tuple:
    if isinstance(st, dict):
        keys = np.asarray(st["keys"].numpy() if hasattr(st["keys"], "numpy") else st["keys"])
        return (st["name"], keys.astype(np.uint32), int(st["pos"]), int(st["has_gauss"]),
                float(st["cached_gaussian"]))
    return st  # pragma: no cover - older checkpoints (only readable without weights_only)


def _python_rng_from(st) -> tuple:
    version, internal, gauss = st
    return (int(version), tuple(int(x) for x in internal), gauss)


@torch.no_grad()
def evaluate(model, data, *, loss_fn, config: TrainConfig, device, metric_fn=None,
             collate_fn=None, forward_fn=None) -> dict:
    """Mean loss (and ``metric_fn`` scores) over ``data`` in eval mode."""
    forward = forward_fn or _forward_loss
    loader, _ = _loader(data, config, shuffle=False, collate_fn=collate_fn, world=1, rank=0,
                        seed=0, epoch=0)
    model.eval()
    total, count, outs, targets = 0.0, 0, [], []
    for batch in loader:
        batch = _to_device(batch, device)
        loss, out = forward(model, batch, loss_fn)
        total += float(loss) * len(batch[1])
        count += len(batch[1])
        if metric_fn is not None:
            outs.append(out.float().cpu())
            targets.append(batch[1].float().cpu())
    scores = {"loss": total / max(count, 1)}
    if metric_fn is not None:
        scores.update(metric_fn(outs, targets))
    return scores
