"""Safe weight files: sha256 check and a torch-free ``state_dict`` reader.

Weights are ``torch.save``-d ``state_dict`` s of plain tensors. With torch they
are loaded with ``weights_only=True``; without torch (the numpy and ONNX
backends) :func:`read_state_dict` reads the same zip file, accepting from
the pickle only ``OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and
storage types (the same allow-list idea as ``weights_only``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import ModelError

__all__ = ["sha256_of", "verified_path", "read_state_dict"]


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified_path(card, directory) -> Path:
    """Path of ``card.weights`` in ``directory`` after checking it exists and its sha256."""
    wpath = Path(directory) / card.weights
    if not wpath.exists():
        raise ModelError(f"{card.name}: weights file {wpath} is missing")
    digest = sha256_of(wpath)
    if digest != card.sha256:
        raise ModelError(f"{card.name}: sha256 mismatch for {wpath} "
                         f"(card {card.sha256[:12]}…, file {digest[:12]}…): corrupt copy?")
    return wpath


_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                   "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32}


def read_state_dict(path) -> dict:
    """Read a ``torch.save``-d ``state_dict`` of plain CPU tensors without torch.

    Only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and
    storage types are accepted from the pickle (like ``weights_only=True``).

    Returns
    -------
    dict of str to np.ndarray
    """
    import collections
    import io
    import pickle
    import zipfile

    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise ModelError(f"{path}: not a torch zip checkpoint")
        prefix = pkl[0][:-len("data.pkl")]

        def rebuild(storage, offset, size, stride, *_):
            item = storage.itemsize
            return np.lib.stride_tricks.as_strided(
                storage[offset:], shape=tuple(size), strides=tuple(st * item for st in stride)
            ).copy()

        class _Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild
                if module == "torch" and name in _STORAGE_DTYPES:
                    return name
                raise ModelError(f"{path}: unexpected object {module}.{name} in weights")

            def persistent_load(self, pid):
                _, stype, key, _, numel = pid
                dtype = _STORAGE_DTYPES[stype if isinstance(stype, str) else stype.__name__]
                return np.frombuffer(zf.read(f"{prefix}data/{key}"), dtype=dtype)[:numel]

        return dict(_Unpickler(io.BytesIO(zf.read(pkl[0]))).load())


