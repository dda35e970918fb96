"""Index folders on disk: writing and reading an :class:`~audiodl.index.Index`.

The file layout is described in :mod:`audiodl.index.collection`. Everything is
read with ``json``, ``np.load(allow_pickle=False)`` and
``faiss.read_index_binary``; files are replaced atomically, ``index.json``
last.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import AudiodlError, ModelError
from . import engine as eng

__all__ = ["FORMAT", "VERSION", "save_index", "load_index", "resolve_model"]

log = logging.getLogger(__name__)

FORMAT = "audiodl-index"
VERSION = 1


def _save_npy(path, array) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array))


#: the files of an index folder (each replaced atomically; index.json last)
_FILES = ("codes.npy", "embeddings.npy", "items.jsonl", "codes.faiss", "windows.npy",
          "window_items.npy", "index.json")


def _atomic_save(path: Path, write: Callable) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)



def save_index(self, path) -> Path:
    """Write the index folder ``path`` of ``self`` (an :class:`~audiodl.index.Index`).

    See the module notes of :mod:`audiodl.index.collection` for the files."""
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    for stale in d.glob("*.tmp[0-9]*"):  # left by a save that was killed
        if stale.name.split(".tmp")[0] in _FILES:
            stale.unlink(missing_ok=True)
    n = len(self)
    _atomic_save(d / "codes.npy", lambda t: _save_npy(t, self.codes[:n]))
    _atomic_save(d / "embeddings.npy", lambda t: _save_npy(t, self.embeddings[:n]))
    _atomic_save(d / "items.jsonl", lambda t: Path(t).write_text(
        "".join(json.dumps(it) + "\n" for it in self.items[:n]), encoding="utf-8"))
    _atomic_save(d / "codes.faiss", lambda t: eng.write_engine(self.engine, t))
    m = int(np.searchsorted(self.window_items, n)) if self.windows is not None else 0
    if self.windows is not None:
        _atomic_save(d / "windows.npy", lambda t: _save_npy(t, self.window_embeddings[:m]))
        _atomic_save(d / "window_items.npy", lambda t: _save_npy(t, self.window_items[:m]))
    meta = {"format": FORMAT, "version": VERSION, "count": n, "kind": self.kind,
            "n_bits": self.n_bits, "nhash": self.nhash, "nlist": self.nlist,
            "candidates": self.candidates, "measure": "cosine of embeddings",
            "windows": None if self.windows is None else
            {"length": self.windows, "hop": self.window_hop, "count": m},
            "model": self.card.name, "model_ref": self.model_ref,
            "frontend": self.card.frontend.to_dict(), "card": self.card.to_dict(),
            "created": self.created,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "failed": [list(f) for f in self.failed]}
    from .. import __version__
    meta["audiodl"] = __version__
    _atomic_save(d / "index.json", lambda t: Path(t).write_text(
        json.dumps(meta, indent=1) + "\n", encoding="utf-8"))
    self.path = d
    return d



def load_index(cls, path, *, backend: str = "auto"):
    """An instance of ``cls`` (:class:`~audiodl.index.Index`) read from folder ``path``."""
    from ..pretrained.card import ModelCard
    from ..runtime.backends import make_backend
    from ..tasks.similarity import SimilarityPipeline
    d = Path(path)
    from ..io.textfiles import loads_json, read_text
    meta = loads_json(read_text(d / "index.json", error=AudiodlError, what="index file"),
                      d / "index.json", error=AudiodlError)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AudiodlError(f"{d}: not an audiodl index (no index.json of format {FORMAT!r})")
    if int(meta.get("version", 0)) > VERSION:
        raise AudiodlError(f"{d}: index version {meta['version']} is newer than this "
                           f"audiodl reads ({VERSION}); upgrade audiodl")
    stored = ModelCard.from_dict(meta["card"], source=str(d / "index.json"))
    card, wdir = resolve_model(meta, stored, d)
    pipe = SimilarityPipeline(card, make_backend(card, wdir, backend=backend))
    wmeta = meta.get("windows")
    index = cls(pipe, kind=meta["kind"], nhash=meta.get("nhash", 0),
                nlist=meta.get("nlist", 0), candidates=meta.get("candidates", 100),
                windows=wmeta["length"] if wmeta else None,
                window_hop=wmeta["hop"] if wmeta else None,
                _model_ref=meta.get("model_ref"))
    n = int(meta["count"])
    try:
        codes = np.load(d / "codes.npy", allow_pickle=False)[:n]
        emb = np.load(d / "embeddings.npy", allow_pickle=False)[:n]
        items = [json.loads(line) for line in
                 (d / "items.jsonl").read_text(encoding="utf-8").splitlines()[:n]]
    except (OSError, ValueError) as exc:
        raise AudiodlError(f"{d}: damaged index ({exc})") from None
    try:
        engine = eng.read_engine(d / "codes.faiss")
    except RuntimeError as exc:  # rebuilt below from the canonical codes.npy
        log.warning("%s: unreadable codes.faiss, rebuilt from codes.npy (%s)", d, exc)
        engine = None
    if not len(codes) == len(emb) == len(items) == n:
        raise AudiodlError(f"{d}: damaged index ({len(codes)} codes, {len(emb)} "
                           f"embeddings, {len(items)} items for a count of {n})")
    if wmeta:
        m = int(wmeta["count"])
        try:
            wemb = np.load(d / "windows.npy", allow_pickle=False)[:m]
            witem = np.load(d / "window_items.npy", allow_pickle=False)[:m]
        except (OSError, ValueError) as exc:
            raise AudiodlError(f"{d}: damaged index ({exc})") from None
        if len(wemb) != m or len(witem) != m or wemb.ndim != 2 \
                or wemb.shape[1] != index.n_bits or (m and (np.any(np.diff(witem) < 0)
                                                           or witem[-1] != n - 1)):
            raise AudiodlError(f"{d}: damaged index (window embeddings do not match "
                               f"the {n} items)")
        index.window_embeddings = wemb.astype(np.float16)
        index.window_items = witem.astype(np.int32)
    index.codes, index.embeddings, index.items = codes, emb.astype(np.float16), items
    index._ids = {it["path"]: i for i, it in enumerate(items)}
    if engine is None or eng.kind_of(engine) != index.kind or (engine.ntotal != n and engine.ntotal != 0) \
            or (engine.ntotal == 0 and n and index.kind != "ivf"):
        engine = eng.make_engine(index.kind, index.n_bits, nhash=index.nhash,
                                 nlist=index.nlist)  # interrupted save: rebuild
        engine = eng.add(engine, codes, all_codes=codes)
    index.engine = engine
    index.failed = [tuple(f) for f in meta.get("failed", [])]
    index.created = meta.get("created", index.created)
    index.path = d
    return index

def resolve_model(meta: dict, stored, where: Path):
    """The shipped or given model an index was built with, checked against its stored card."""
    from .. import pretrained
    tried = []
    for ref in (meta.get("model_ref"), stored.name):
        if not ref or ref in tried:
            continue
        tried.append(ref)
        try:
            card, wdir = pretrained.resolve(ref)
        except (ModelError, OSError):
            continue
        if card.sha256 == stored.sha256:
            return card, wdir
    raise ModelError(f"{where}: built with model {stored.name!r} (weights sha256 "
                     f"{stored.sha256[:12]}…), which is not available here (tried "
                     f"{', '.join(tried)})")
