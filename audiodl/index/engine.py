"""faiss binary indexes behind one small interface (the Hamming search engine).

Kinds
-----
``flat``
    :class:`faiss.IndexBinaryFlat`: exhaustive Hamming scan (exact in Hamming
    distance).
``mih``
    :class:`faiss.IndexBinaryMultiHash`: multi-index hashing (Norouzi et al.):
    the code is cut into ``nhash`` substrings, each looked up in its own hash
    table with up to ``nflip`` flipped bits; only the items found there are
    compared. Faster than a scan, may return fewer than ``k`` candidates.
``ivf``
    :class:`faiss.IndexBinaryIVF` over a flat Hamming quantizer: ``nlist``
    cells (trained on the first codes added, at least ``39 * nlist`` of them),
    ``nprobe`` cells scanned per query. Until it is trained it is searched by
    a flat scan.

faiss is imported on first use; indexes are written with
``faiss.write_index_binary`` and read with ``faiss.read_index_binary`` (a
plain binary format: no code is executed when loading).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["KINDS", "make_engine", "search", "read_engine", "write_engine"]

KINDS = ("flat", "mih", "ivf")


def _faiss():
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a dependency
        raise ParameterError("the similarity index needs faiss: pip install faiss-cpu") from None
    return faiss


def make_engine(kind: str, n_bits: int, *, nhash: int = 0, nlist: int = 0):
    """An empty faiss binary index.

    Parameters
    ----------
    kind : {'flat', 'mih', 'ivf'}
    n_bits : int
        Code length (multiple of 8).
    nhash : int
        ``mih``: number of substrings (``n_bits / nhash`` bits each, <= 64);
        0 picks ``n_bits // 16``.
    nlist : int
        ``ivf``: number of cells; 0 picks 256.
    """
    faiss = _faiss()
    if n_bits % 8 or n_bits < 8:
        raise ParameterError(f"n_bits must be a positive multiple of 8, got {n_bits}")
    if kind == "flat":
        return faiss.IndexBinaryFlat(n_bits)
    if kind == "mih":
        nhash = nhash or max(1, n_bits // 16)
        if n_bits % nhash or n_bits // nhash > 64:
            raise ParameterError(f"mih: {n_bits} bits do not split into {nhash} substrings "
                                 "of at most 64 bits")
        return faiss.IndexBinaryMultiHash(n_bits, nhash, n_bits // nhash)
    if kind == "ivf":
        quantizer = faiss.IndexBinaryFlat(n_bits)
        ivf = faiss.IndexBinaryIVF(quantizer, n_bits, nlist or 256)
        ivf.own_fields = True
        quantizer.this.disown()
        return ivf
    raise ParameterError(f"index kind must be one of {KINDS}, got {kind!r}")


def kind_of(engine) -> str:
    """The kind name of a faiss binary index."""
    faiss = _faiss()
    if isinstance(engine, faiss.IndexBinaryMultiHash):
        return "mih"
    if isinstance(engine, faiss.IndexBinaryIVF):
        return "ivf"
    return "flat"


def add(engine, codes: np.ndarray, *, all_codes: np.ndarray = None) -> object:
    """Append packed codes ``(n, n_bytes)`` uint8; returns the (possibly rebuilt) engine.

    An untrained ``ivf`` engine is trained (on ``all_codes``, every code so far)
    once there are ``39 * nlist`` of them, then filled with all of them.
    """
    faiss = _faiss()
    c = np.ascontiguousarray(codes, dtype=np.uint8)
    if isinstance(engine, faiss.IndexBinaryIVF) and not engine.is_trained:
        pool = np.ascontiguousarray(all_codes if all_codes is not None else c, dtype=np.uint8)
        if len(pool) >= 39 * engine.nlist:
            engine.train(pool)
            engine.add(pool)
        return engine
    if len(c):
        engine.add(c)
    return engine


def search(engine, queries: np.ndarray, k: int, *, all_codes: np.ndarray = None,
           nflip: int = 2, nprobe: int = 8):
    """The ``k`` nearest codes in Hamming distance.

    Parameters
    ----------
    engine : faiss binary index
    queries : np.ndarray [shape=(n_queries, n_bytes)], uint8
    k : int
    all_codes : np.ndarray or None
        Every stored code (searched by a flat scan while an ``ivf`` engine is untrained).
    nflip : int
        ``mih``: bits flipped per substring lookup (the Hamming radius per substring).
    nprobe : int
        ``ivf``: cells scanned per query.

    Returns
    -------
    distances : np.ndarray [shape=(n_queries, k)], int32 [bits]
    ids : np.ndarray [shape=(n_queries, k)], int64 (``-1`` where fewer were found)
    """
    faiss = _faiss()
    q = np.ascontiguousarray(queries, dtype=np.uint8)
    if isinstance(engine, faiss.IndexBinaryIVF) and not engine.is_trained:
        flat = faiss.IndexBinaryFlat(engine.d)
        if all_codes is not None and len(all_codes):
            flat.add(np.ascontiguousarray(all_codes, dtype=np.uint8))
        engine = flat
    if isinstance(engine, faiss.IndexBinaryMultiHash):
        engine.nflip = int(nflip)
    if isinstance(engine, faiss.IndexBinaryIVF):
        engine.nprobe = int(nprobe)
    k = max(1, int(k))
    if engine.ntotal == 0:
        return (np.full((len(q), k), np.iinfo(np.int32).max, np.int32),
                np.full((len(q), k), -1, np.int64))
    dist, ids = engine.search(q, k)
    return dist, ids


def write_engine(engine, path) -> None:
    """``faiss.write_index_binary`` to ``path``."""
    _faiss().write_index_binary(engine, str(path))


def read_engine(path):
    """``faiss.read_index_binary`` of ``path``."""
    return _faiss().read_index_binary(str(path))
