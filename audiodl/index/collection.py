"""A searchable collection of tracks: binary codes in a faiss index, re-ranked exactly.

An index is a folder::

    INDEX/index.json        format, version, kind, model name + card + front end, counts
    INDEX/codes.faiss       the faiss binary index (faiss.write_index_binary)
    INDEX/codes.npy         packed codes (n, n_bits / 8) uint8, the canonical copy
    INDEX/embeddings.npy    float16 (n, n_bits): the exact measure's input
    INDEX/items.jsonl       one {"path", "duration"} per row, in id order
    INDEX/windows.npy       (only with ``windows``) float16 (m, n_bits): embeddings of
                            sliding windows of every item, for excerpt search
    INDEX/window_items.npy  (only with ``windows``) int32 (m,): the item of each window

Everything is read with ``json``, ``np.load(allow_pickle=False)`` and
``faiss.read_index_binary``: loading never executes code. Files are replaced
atomically and ``index.json`` (holding the item count) is written last, so an
interrupted save leaves the previous state readable (rows past the count are
ignored). Rows are only ever appended, so ids are stable.

Search (Schlüter 2013): the query's code -> the faiss index's ``candidates``
nearest codes in Hamming distance -> re-ranked by the exact measure
(:func:`audiodl.tasks.similarity.exact_similarity`) -> top ``k``.

Excerpt search (``query(..., excerpt=True)``, an index built with
``windows``): the query's embedding against the embeddings of ``windows``-second
windows of every item (the encoder's per-frame outputs pooled every
``window_hop`` seconds), each item scored by its best window. It is a full
scan of the windows (no faiss), made for finding edited excerpts of a track;
on real recordings it finds the original of 10-20 s edited excerpts far more
often than the whole-track measure (recipes/similarity/README.md).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..io.audio import AUDIO_EXTENSIONS, find_audio_files
from ..errors import AudiodlError, ModelError, ParameterError
from . import engine as eng
from .storage import FORMAT, VERSION  # re-exported

__all__ = ["Index", "Hit", "AddReport", "FORMAT", "VERSION", "AUDIO_EXTENSIONS"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes
    ----------
    rank : int
        1-based.
    path : str
    score : float
        Exact-measure similarity (cosine, 1 = identical) when re-ranked (in an
        excerpt search: that of the item's best window), else ``1 - hamming / n_bits``.
    hamming : int [bits]
        Hamming distance of the query's code to the item's (whole-track) code.
    id : int
        Row of the item in the index.
    """

    rank: int
    path: str
    score: float
    hamming: int
    id: int

    def to_dict(self) -> dict:
        return {"rank": self.rank, "path": self.path, "score": round(self.score, 6),
                "hamming": self.hamming, "id": self.id}


@dataclass
class AddReport:
    """What :meth:`Index.add` did: ``added`` paths, ``skipped`` (already in), ``failed`` (path, reason)."""

    added: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)


def expand_paths(paths: Sequence) -> list:
    """Files as given; directories expand (recursively, sorted) to the audio files inside."""
    return find_audio_files(paths)


class Index:
    """Binary codes of audio files in a faiss index, with exact re-ranking.

    Build with :meth:`build` (or ``Index(pipeline)`` then :meth:`add`), read
    with :meth:`load`.

    Parameters
    ----------
    pipeline : SimilarityPipeline
        The encoder (its card is stored in the index).
    kind : {'flat', 'mih', 'ivf'}
        faiss engine (:mod:`audiodl.index.engine`).
    nhash, nlist : int
        Engine settings (0: defaults).
    candidates : int
        Default length of the Hamming candidate list re-ranked per query.
    windows : float or None [s]
        Also keep the embeddings of windows of this length of every item
        (excerpt search, ``query(..., excerpt=True)``); None: no windows.
    window_hop : float or None [s]
        Step of the windows (default: a quarter of ``windows``).
    """

    def __init__(self, pipeline, *, kind: str = "flat", nhash: int = 0, nlist: int = 0,
                 candidates: int = 100, windows: Optional[float] = None,
                 window_hop: Optional[float] = None, _model_ref: Optional[str] = None):
        if kind not in eng.KINDS:
            raise ParameterError(f"index kind must be one of {eng.KINDS}, got {kind!r}")
        if candidates < 1:
            raise ParameterError(f"candidates must be >= 1, got {candidates}")
        if windows is not None and not windows > 0:
            raise ParameterError(f"windows must be a positive number of seconds, got {windows}")
        if window_hop is not None and (windows is None or not window_hop > 0):
            raise ParameterError(f"window_hop {window_hop} needs windows and must be > 0")
        self.windows = None if windows is None else float(windows)
        self.window_hop = (None if windows is None
                           else float(window_hop) if window_hop is not None else windows / 4)
        self.pipeline = pipeline
        self.card = pipeline.card
        self.n_bits = pipeline.n_bits
        self.kind, self.nhash, self.nlist = kind, int(nhash), int(nlist)
        self.candidates = int(candidates)
        self.model_ref = _model_ref or self.card.name
        self.engine = eng.make_engine(kind, self.n_bits, nhash=nhash, nlist=nlist)
        self.codes = np.zeros((0, self.n_bits // 8), np.uint8)
        self.embeddings = np.zeros((0, self.n_bits), np.float16)
        self.window_embeddings = np.zeros((0, self.n_bits), np.float16)
        self.window_items = np.zeros(0, np.int32)
        self.items: list = []
        self._ids: dict = {}
        self.failed: list = []
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.path: Optional[Path] = None

    # -------------------------------------------------------------- basics
    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, path) -> bool:
        return os.path.abspath(os.fspath(path)) in self._ids

    def __repr__(self) -> str:
        return f"Index({len(self)} items, kind={self.kind!r}, model={self.card.name!r})"

    @property
    def paths(self) -> list:
        """Paths of the items, in id order."""
        return [it["path"] for it in self.items]

    @classmethod
    def build(cls, paths: Sequence, *, model: Optional[str] = None, kind: str = "flat",
              nhash: int = 0, nlist: int = 0, candidates: int = 100, jobs: int = 1,
              progress: bool = False, output=None, save_every: float = 30.0,
              backend: str = "auto", windows: Optional[float] = None,
              window_hop: Optional[float] = None) -> "Index":
        """Index audio files (directories are searched recursively).

        Parameters
        ----------
        paths : sequence of path
        model : str or None
            Similarity model name or card path (default: the task's default).
        kind, nhash, nlist, candidates
            See :class:`Index`.
        jobs : int
            Worker threads computing codes.
        progress : bool
            Progress bar on stderr (when it is a terminal).
        output : path or None
            Index folder. When it already holds an index (an interrupted
            build), that index is loaded and only files not yet in it are
            added; the index is saved every ``save_every`` seconds and at the end.
        save_every : float [s]
        backend : str
            Inference backend of the encoder.
        windows, window_hop : float or None [s]
            See :class:`Index` (a resumed build keeps the existing index's).

        Returns
        -------
        Index
            Unreadable files are skipped and listed in ``index.last_report.failed``.
        """
        if output is not None and (Path(output) / "index.json").exists():
            index = cls.load(output, backend=backend)
            wanted = model
            if wanted is not None and wanted not in (index.model_ref, index.card.name):
                raise ModelError(f"{output}: the existing index was built with model "
                                 f"{index.card.name!r}, not {wanted!r}")
            if windows is not None and (windows, window_hop or windows / 4) != \
                    (index.windows, index.window_hop):
                raise ParameterError(f"{output}: the existing index has windows "
                                     f"{index.windows} s (hop {index.window_hop} s), not {windows}")
            log.info("%s: resuming with %d items", output, len(index))
        else:
            from ..tasks.similarity import SimilarityPipeline
            pipe = SimilarityPipeline.from_pretrained(model, backend=backend)
            ref = os.path.abspath(model) if model and str(model).endswith(".json") else None
            index = cls(pipe, kind=kind, nhash=nhash, nlist=nlist, candidates=candidates,
                        windows=windows, window_hop=window_hop, _model_ref=ref)
        index.add(paths, jobs=jobs, progress=progress, save_to=output, save_every=save_every)
        if output is not None:
            index.save(output)
        return index

    # ---------------------------------------------------------------- adding
    def add(self, paths: Sequence, *, jobs: int = 1, progress: bool = False, save_to=None,
            save_every: float = 30.0) -> AddReport:
        """Compute codes of files not yet in the index and append them.

        Parameters
        ----------
        paths : sequence of path
            Files or directories (searched recursively for audio files).
        jobs : int
            Worker threads.
        progress : bool
            Progress bar on stderr (when it is a terminal).
        save_to : path or None
            Save the index there every ``save_every`` seconds (resumable builds).
        save_every : float [s]

        Returns
        -------
        AddReport
            Also kept as :attr:`last_report`. Unreadable files are skipped.
        """
        if jobs < 1:
            raise ParameterError(f"jobs must be >= 1, got {jobs}")
        report = AddReport()
        todo, seen = [], set()
        for p in expand_paths(paths):
            a = os.path.abspath(p)
            if a in self._ids or a in seen:
                report.skipped.append(p)
            else:
                seen.add(a)
                todo.append(p)

        def one(p):
            try:
                if self.windows is None:
                    return p, (self.pipeline(p), None), None
                return p, self._codes_and_windows(p), None
            except (AudiodlError, OSError, RuntimeError) as exc:
                return p, None, str(exc) if str(exc).startswith(p) else f"{p}: {exc}"

        bar = None
        if progress and todo:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(todo), desc="index", file=sys.stderr, leave=False,
                       disable=not sys.stderr.isatty())
        last_save = time.monotonic()
        pool = cf.ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else None
        try:
            step = 1 if jobs == 1 else 4 * jobs  # files between checkpoints
            for s in range(0, len(todo), step):
                block = todo[s:s + step]
                results = list(pool.map(one, block)) if pool else [one(p) for p in block]
                ok = [(p, c) for p, c, err in results if err is None]
                for p, _, err in results:
                    if err is not None:
                        report.failed.append((p, err))
                        log.info("skipped %s", err)
                self.add_codes([c for _, (c, _) in ok], [p for p, _ in ok],
                               windows=None if self.windows is None else [w for _, (_, w) in ok])
                report.added.extend(p for p, _ in ok)
                if bar is not None:
                    bar.update(len(block))
                if save_to is not None and time.monotonic() - last_save >= save_every:
                    self.save(save_to)
                    last_save = time.monotonic()
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            if bar is not None:
                bar.close()
        failed_now = {p for p, _ in report.failed}
        self.failed = [f for f in self.failed if f[0] not in failed_now
                       and os.path.abspath(f[0]) not in self._ids] + report.failed
        self.last_report = report
        return report

    def _codes_and_windows(self, x, sr: Optional[int] = None):
        """Codes and window embeddings (float32 (n_windows, n_bits)) of one recording."""
        from ..decoders.hamming import window_embeddings
        from ..types import Codes
        act = self.pipeline.activations(x, sr)
        c = self.pipeline.decode(act)
        src = x if isinstance(x, str) else getattr(x, "path", None)
        n_win = max(1, int(round(self.windows * act.fps)))
        hop = max(1, int(round(self.window_hop * act.fps)))
        return (Codes(c.bits, c.embedding, c.n_bits, c.duration, src),
                window_embeddings(act.values, n_win, hop))

    def add_codes(self, codes: Sequence, paths: Sequence,
                  windows: Optional[Sequence] = None) -> None:
        """Append precomputed :class:`~audiodl.types.Codes` under ``paths``.

        ``windows``: the window embeddings ``(n_windows, n_bits)`` of each item, required
        by (and only by) an index built with ``windows``.
        """
        codes, paths = list(codes), [os.fspath(p) for p in paths]
        if len(codes) != len(paths):
            raise ParameterError(f"{len(codes)} codes for {len(paths)} paths")
        if self.windows is not None and windows is None:
            raise ParameterError("this index keeps window embeddings: pass windows (one "
                                 "(n_windows, n_bits) array per item)")
        if self.windows is None and windows is not None:
            raise ParameterError("this index keeps no window embeddings (built without windows)")
        if windows is not None:
            windows = [np.asarray(w, dtype=np.float32) for w in windows]
            if len(windows) != len(codes) or any(w.ndim != 2 or not len(w)
                                                 or w.shape[1] != self.n_bits for w in windows):
                raise ParameterError(f"window embeddings must be one (n_windows >= 1, "
                                     f"{self.n_bits}) array per item")
        if not codes:
            return
        for c in codes:
            if c.n_bits != self.n_bits:
                raise ParameterError(f"codes of {c.n_bits} bits cannot join an index of "
                                     f"{self.n_bits}-bit codes")
        seen = set()
        for p in paths:  # checked before anything changes
            a = os.path.abspath(p)
            if a in self._ids or a in seen:
                raise ParameterError(f"{p}: already in the index")
            seen.add(a)
        new_codes = np.stack([c.bits for c in codes]).astype(np.uint8)
        new_emb = np.stack([c.embedding for c in codes]).astype(np.float16)
        if windows is not None:
            first = len(self.items)
            self.window_embeddings = np.concatenate(
                [self.window_embeddings] + [w.astype(np.float16) for w in windows])
            self.window_items = np.concatenate(
                [self.window_items] + [np.full(len(w), first + i, np.int32)
                                       for i, w in enumerate(windows)])
        self.codes = np.concatenate([self.codes, new_codes])
        self.embeddings = np.concatenate([self.embeddings, new_emb])
        for p, c in zip(paths, codes):
            a = os.path.abspath(p)
            self._ids[a] = len(self.items)
            self.items.append({"path": a, "duration": None if c.duration is None
                               else round(float(c.duration), 4)})
        self.engine = eng.add(self.engine, new_codes, all_codes=self.codes)

    # ------------------------------------------------------------- querying
    def query(self, x, sr: Optional[int] = None, *, k: int = 10,
              candidates: Optional[int] = None, rerank: bool = True, nflip: int = 2,
              nprobe: int = 8, excerpt: bool = False) -> list:
        """The ``k`` items most similar to audio ``x``.

        Parameters
        ----------
        x : path, Signal or np.ndarray
        sr : int or None [Hz]
            Rate of an array input.
        k : int
        candidates : int or None
            Hamming candidates re-ranked by the exact measure (default: the
            index's, at least ``k``).
        rerank : bool
            False: rank by Hamming distance only.
        nflip, nprobe : int
            ``mih`` / ``ivf`` search settings.
        excerpt : bool
            Excerpt search (an index built with ``windows``): each item scored by
            the exact measure of its best window (a full scan of the windows;
            ``candidates``, ``rerank``, ``nflip`` and ``nprobe`` do not apply).

        Returns
        -------
        list of Hit
        """
        return self.query_codes(self.pipeline(x, sr), k=k, candidates=candidates,
                                rerank=rerank, nflip=nflip, nprobe=nprobe, excerpt=excerpt)

    def query_codes(self, codes, *, k: int = 10, candidates: Optional[int] = None,
                    rerank: bool = True, nflip: int = 2, nprobe: int = 8,
                    excerpt: bool = False) -> list:
        """:meth:`query` for a precomputed :class:`~audiodl.types.Codes`."""
        from ..tasks.similarity import exact_similarity
        if k < 1:
            raise ParameterError(f"k must be >= 1, got {k}")
        if codes.n_bits != self.n_bits:
            raise ParameterError(f"a {codes.n_bits}-bit query for {self.n_bits}-bit codes")
        if excerpt and self.windows is None:
            raise ParameterError(f"{self.path or 'this index'}: excerpt search needs an index "
                                 "built with windows (audiodl index build --windows SECONDS)")
        if not len(self):
            return []
        if excerpt:
            from ..decoders.hamming import hamming_distances
            s = exact_similarity(codes.embedding, self.window_embeddings).astype(np.float64)
            best = np.full(len(self), -np.inf)
            np.maximum.at(best, self.window_items, s)
            ids = np.lexsort((np.arange(len(self)), -best))[:k]  # ties: id
            dist = hamming_distances(codes.bits, self.codes[ids])
            return [Hit(rank=r + 1, path=self.items[int(i)]["path"], score=float(best[i]),
                        hamming=int(d), id=int(i)) for r, (i, d) in enumerate(zip(ids, dist))]
        n_cand = min(len(self), max(k, candidates or self.candidates) if rerank else k)
        dist, ids = eng.search(self.engine, codes.bits[None], n_cand, all_codes=self.codes,
                               nflip=nflip, nprobe=nprobe)
        keep = ids[0] >= 0
        ids, dist = ids[0][keep], dist[0][keep]
        if rerank and len(ids):
            score = exact_similarity(codes.embedding, self.embeddings[ids])
            order = np.lexsort((ids, dist, -score))[:k]  # ties: Hamming, then id
        else:
            score = 1.0 - dist.astype(np.float64) / self.n_bits
            order = np.lexsort((ids, dist))[:k]
        return [Hit(rank=r + 1, path=self.items[int(ids[i])]["path"], score=float(score[i]),
                    hamming=int(dist[i]), id=int(ids[i])) for r, i in enumerate(order)]

    # ---------------------------------------------------------- save / load
    def info(self) -> dict:
        """Summary: count, kind, code length, model, front end, sizes [bytes].

        ``bytes_per_item`` leaves out ``index.json`` (``bytes_header``: card and settings).
        """
        out = {"format": FORMAT, "version": VERSION, "count": len(self), "kind": self.kind,
               "n_bits": self.n_bits, "model": self.card.name, "task": self.card.task,
               "frontend": self.card.frontend.to_dict(), "candidates": self.candidates,
               "created": self.created, "failed": len(self.failed)}
        if self.windows is not None:
            out.update(windows=self.windows, window_hop=self.window_hop,
                       window_count=int(len(self.window_items)))
        if self.kind == "mih":
            out["nhash"] = self.engine.nhash
        if self.kind == "ivf":
            out.update(nlist=self.engine.nlist, trained=bool(self.engine.is_trained))
        if self.path is not None and self.path.exists():
            size = sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())
            header = (self.path / "index.json").stat().st_size  # card, settings: fixed
            out.update(path=str(self.path), bytes=size, bytes_header=header,
                       bytes_per_item=round((size - header) / len(self), 1) if len(self)
                       else None)
        return out

    def save(self, path) -> Path:
        """Write the index folder ``path`` (created if needed; see the module notes)."""
        from .storage import save_index
        return save_index(self, path)

    @classmethod
    def load(cls, path, *, backend: str = "auto") -> "Index":
        """Read an index folder written by :meth:`save` (no code is executed).

        The encoder is the model named in the index (a shipped name or the
        card path it was built with); its weights must match the stored card's sha256.
        A damaged or malformed index (any file of it) is an :class:`AudiodlError`
        naming the folder.
        """
        from .storage import load_index
        try:
            return load_index(cls, path, backend=backend)
        except AudiodlError:
            raise
        except Exception as exc:  # KeyError, EOFError, SyntaxError (a .npy header) ...
            raise AudiodlError(f"{path}: damaged index ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None
