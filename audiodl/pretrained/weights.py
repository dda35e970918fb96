"""Safe weight files: sha256 check, safetensors readers and writers.

Shipped and trained weights are `safetensors <https://huggingface.co/docs/safetensors>`_
files: a JSON header (name -> dtype, shape, byte range) followed by raw
little-endian data. The format holds plain dense tensors only; it cannot
express code, pickled objects, strides or views out of bounds, and the
``safetensors`` reader checks every byte range against the file before
touching memory. :func:`read_state_dict` returns numpy arrays without
importing torch (the numpy and ONNX backends); :func:`load_torch_state`
returns torch tensors.

Older ``torch.save`` zip files (``.pt``, e.g. a model trained before the
switch) are still read, with ``torch.load(weights_only=True)`` (no arbitrary
unpickling), and can be converted once with ``python -m
audiodl.pretrained.convert DIR`` (:mod:`audiodl.pretrained.convert`).

Every failure (missing, truncated or tampered file, wrong format, a header
that lies about sizes, an unsupported dtype, a wrong hash, names or shapes
that do not fit the architecture) is a :class:`~audiodl.errors.ModelError`
naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from ..errors import ModelError

__all__ = ["sha256_of", "verified_path", "read_state_dict", "load_torch_state",
           "write_state_dict", "check_state", "WEIGHT_SUFFIXES", "SAFETENSORS_SUFFIX"]

SAFETENSORS_SUFFIX = ".safetensors"
#: weight files a card may point to (``.pt``: legacy torch zip, read with weights_only)
WEIGHT_SUFFIXES = (SAFETENSORS_SUFFIX, ".pt")
#: dtypes a state_dict may hold (parameters/buffers, ``num_batches_tracked`` counters)
ALLOWED_DTYPES = ("float32", "float64", "float16", "int64", "int32")
_ZIP_MAGIC = b"PK\x03\x04"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(path) -> str:
    """Hex sha256 of a file (read in 1 MB blocks)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read weights ({exc.strerror or exc})") from None
    return h.hexdigest()


def verified_path(card, directory) -> Path:
    """Path of ``card.weights`` in ``directory`` after checking it exists and its sha256.

    ``card.weights`` must be a plain file name (no folders, no ``..``): a card
    only ever points at weights beside it.
    """
    name = card.weights
    if (not isinstance(name, str) or os.path.basename(name) != name or name in (".", "..")
            or "/" in name or "\\" in name):
        raise ModelError(f"{card.name}: weights {name!r} must be a file name beside the card")
    wpath = Path(directory) / name
    if not wpath.is_file():
        raise ModelError(f"{card.name}: weights file {wpath} is missing")
    digest = sha256_of(wpath)
    if not isinstance(card.sha256, str) or digest != card.sha256.lower():
        raise ModelError(f"{card.name}: sha256 mismatch for {wpath} "
                         f"(card {str(card.sha256)[:12]}…, file {digest[:12]}…): "
                         "corrupt copy, or a card next to weights it does not describe")
    return wpath


def _is_zip(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == _ZIP_MAGIC
    except OSError as exc:
        raise ModelError(f"{path}: cannot read weights ({exc.strerror or exc})") from None


def _torch_zip_state(path, map_location="cpu") -> dict:
    """A legacy ``torch.save`` state_dict, read with ``weights_only=True``; torch tensors."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        raise ModelError(f"{path}: a torch .pt file needs torch; convert it with "
                         "'python -m audiodl.pretrained.convert'") from None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, BadZipFile ...
        raise ModelError(f"{path}: not a loadable weights file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"{path}: expected a state_dict (names -> tensors), got "
                         f"{type(state).__name__}")
    return state


def _check_names_dtypes(state: dict, path, dtype_of) -> None:
    if not state:
        raise ModelError(f"{path}: holds no tensors")
    for k, v in state.items():
        dt = dtype_of(v)
        if dt not in ALLOWED_DTYPES:
            raise ModelError(f"{path}: tensor {k!r} has unsupported dtype {dt}")


class StateDict(dict):
    """A ``state_dict`` that remembers the file it was read from (for error messages)."""

    source: str = ""


def read_state_dict(path) -> dict:
    """Read a weights file into numpy arrays without torch (safetensors).

    A legacy torch zip (``.pt``) is read with ``torch.load(weights_only=True)``.

    Returns
    -------
    dict of str to np.ndarray

    Raises
    ------
    ModelError
        Naming ``path``: unreadable, truncated or tampered file, a header
        inconsistent with the data, an unsupported dtype.
    """
    if _is_zip(path):
        state = {k: v.numpy() for k, v in _torch_zip_state(path).items()}
    else:
        try:
            from safetensors.numpy import load_file
            state = load_file(os.fspath(path))
        except Exception as exc:  # SafetensorError, OSError, ValueError (unknown dtype) ...
            raise ModelError(f"{path}: not a valid safetensors weights file "
                             f"({type(exc).__name__}: {exc})") from None
    _check_names_dtypes(state, path, lambda v: str(v.dtype))
    out = StateDict(state)
    out.source = os.fspath(path)
    return out


def load_torch_state(path, *, device: str = "cpu") -> dict:
    """Read a weights file into torch tensors (safetensors, or a legacy ``.pt`` zip)."""
    if _is_zip(path):
        state = _torch_zip_state(path, map_location=device)
    else:
        try:
            from safetensors.torch import load_file
            state = load_file(os.fspath(path), device=device)
        except Exception as exc:
            raise ModelError(f"{path}: not a valid safetensors weights file "
                             f"({type(exc).__name__}: {exc})") from None
    _check_names_dtypes(state, path, lambda v: str(v.dtype).replace("torch.", ""))
    return state


def check_state(state: dict, expected: dict, path) -> None:
    """Check names, shapes and dtypes of ``state`` against a model's own ``state_dict``.

    Raises :class:`ModelError` naming ``path`` for a missing or unexpected
    tensor, or one whose shape or dtype differs from the architecture's.
    """
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelError(f"{path}: weights do not fit the architecture (missing "
                         f"{missing[:5]}, unexpected {extra[:5]})")
    for k, want in expected.items():
        got = state[k]
        if tuple(got.shape) != tuple(want.shape):
            raise ModelError(f"{path}: tensor {k!r} has shape {tuple(got.shape)}, the "
                             f"architecture needs {tuple(want.shape)}")
        if got.dtype != want.dtype:
            raise ModelError(f"{path}: tensor {k!r} has dtype {got.dtype}, the "
                             f"architecture needs {want.dtype}")


def write_state_dict(state: dict, path) -> Path:
    """Write a ``state_dict`` (torch tensors or numpy arrays) as safetensors, atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    arrays = {}
    for k, v in state.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().contiguous().numpy()
        arrays[str(k)] = np.array(v, copy=True, order="C")  # keeps 0-d tensors 0-d
    from safetensors.numpy import save_file
    save_file(arrays, os.fspath(tmp), metadata={"format": "pt"})
    os.chmod(tmp, 0o644)  # safetensors creates 0600 files; weights are not secret
    os.replace(tmp, path)
    return path


def valid_sha256(s) -> bool:
    """True for a 64-digit lower-case hex digest."""
    return isinstance(s, str) and bool(_HEX64.match(s))
