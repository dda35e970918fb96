"""Binary codes for semantic hashing: pooling, binarising, packing, Hamming distances.

Numpy only (never torch). The similarity encoder
(:mod:`audiodl.models.similarity`) emits one probability per bit and output
frame; a track's code is the bitwise decision of the frame-averaged
probabilities (Salakhutdinov & Hinton's semantic hashing; Schlüter, ISMIR
2013, "Learning binary codes for efficient large-scale music similarity
search"):

``p = mean over frames``  -> ``embedding = 2 p - 1`` in (-1, 1)
``bit_i = p_i > threshold`` -> packed into bytes (``np.packbits``, big-endian
bit order within a byte, the layout faiss binary indexes take).

:func:`hamming_distances` is the plain-numpy reference the faiss searches in
:mod:`audiodl.index` are tested against; searching itself is faiss's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .params import ParamSet
from ..errors import ParameterError

__all__ = ["CodeParams", "pool_frames", "binarize", "pack_bits", "unpack_bits",
           "hamming_distances", "decode_codes", "window_embeddings"]


@dataclass(frozen=True)
class CodeParams(ParamSet):
    """Decoding parameters of binary codes.

    Parameters
    ----------
    threshold : float
        A bit is 1 where the frame-averaged probability exceeds it (0 < t < 1).
    """

    what = "code"

    threshold: float = 0.5

    def __post_init__(self):
        if not 0.0 < float(self.threshold) < 1.0:
            raise ParameterError(f"threshold must be in (0, 1), got {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))


def pool_frames(values) -> np.ndarray:
    """Frame-averaged bit probabilities.

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames, n_bits)]
        Per-frame probabilities in [0, 1].

    Returns
    -------
    np.ndarray [shape=(n_bits,)], float32
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 1:
        raise ParameterError(f"expected per-frame bit probabilities (n_frames >= 1, n_bits), "
                             f"got shape {v.shape}")
    return v.mean(axis=0).astype(np.float32)


def pack_bits(bits) -> np.ndarray:
    """Boolean bits ``(..., n_bits)`` -> bytes ``(..., n_bits // 8)`` (n_bits a multiple of 8)."""
    b = np.asarray(bits, dtype=bool)
    if b.shape[-1] % 8:
        raise ParameterError(f"the number of bits must be a multiple of 8, got {b.shape[-1]}")
    return np.packbits(b, axis=-1)


def unpack_bits(codes, n_bits: Optional[int] = None) -> np.ndarray:
    """Bytes ``(..., n_bytes)`` -> boolean bits ``(..., n_bits)``."""
    c = np.asarray(codes, dtype=np.uint8)
    return np.unpackbits(c, axis=-1, count=n_bits).astype(bool)


def binarize(probabilities, *, threshold: float = 0.5) -> np.ndarray:
    """Packed code of pooled probabilities ``(..., n_bits)`` -> uint8 ``(..., n_bits // 8)``."""
    return pack_bits(np.asarray(probabilities) > threshold)


def hamming_distances(query, codes) -> np.ndarray:
    """Hamming distances between packed codes (plain-numpy reference).

    Parameters
    ----------
    query : np.ndarray [shape=(n_bytes,) or (n_queries, n_bytes)], uint8
    codes : np.ndarray [shape=(n_items, n_bytes)], uint8

    Returns
    -------
    np.ndarray [shape=(n_items,) or (n_queries, n_items)], int64
    """
    q = np.asarray(query, dtype=np.uint8)
    c = np.asarray(codes, dtype=np.uint8)
    if c.ndim != 2 or q.shape[-1] != c.shape[-1]:
        raise ParameterError(f"codes of {q.shape[-1]} and {c.shape[-1]} bytes cannot be "
                             "compared")
    x = np.bitwise_xor(q[..., None, :], c)
    return np.bitwise_count(x).sum(axis=-1, dtype=np.int64)


def decode_codes(values, *, threshold: float = 0.5):
    """Per-frame probabilities -> ``(packed code, embedding)``.

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames, n_bits)]
    threshold : float

    Returns
    -------
    code : np.ndarray [shape=(n_bits // 8,)], uint8
    embedding : np.ndarray [shape=(n_bits,)], float32
        ``2 p - 1`` of the pooled probabilities ``p`` (the exact measure's input).
    """
    p = pool_frames(values)
    return binarize(p, threshold=threshold), (2.0 * p - 1.0).astype(np.float32)


def window_embeddings(values, n_win: int, hop: int) -> np.ndarray:
    """Embeddings ``2 p - 1`` of windows of the per-frame probabilities (excerpt matching).

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames, n_bits)]
    n_win : int [frames]
        Window length; a track of at most ``n_win`` frames gives one window, the whole track.
    hop : int [frames]
        Window step; the last window always ends at the last frame.

    Returns
    -------
    np.ndarray [shape=(n_windows, n_bits)], float32
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 1 or n_win < 1 or hop < 1:
        raise ParameterError(f"windows of {n_win} frames every {hop} over frames of shape "
                             f"{v.shape}")
    if len(v) <= n_win:
        return (2.0 * v.mean(0) - 1.0)[None].astype(np.float32)
    c = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v, 0)])
    starts = np.arange(0, len(v) - n_win + 1, hop)
    if starts[-1] != len(v) - n_win:
        starts = np.append(starts, len(v) - n_win)
    return (2.0 * (c[starts + n_win] - c[starts]) / n_win - 1.0).astype(np.float32)
