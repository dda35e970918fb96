"""Searchable collections of tracks for similarity search (faiss binary indexes).

:class:`Index` holds one binary code and one embedding per audio file
(:mod:`audiodl.tasks.similarity`), searches codes by Hamming distance with a
faiss binary index (:mod:`audiodl.index.engine`: flat scan, multi-index
hashing or IVF) and re-ranks the candidates with the exact measure.

>>> import audiodl
>>> ix = audiodl.Index.build(["music/"], output="music.index")   # doctest: +SKIP
>>> ix.query("song.flac", k=10)                                  # doctest: +SKIP
>>> ix = audiodl.Index.load("music.index")                       # doctest: +SKIP
"""

from .collection import FORMAT, VERSION, AddReport, Hit, Index

__all__ = ["Index", "Hit", "AddReport", "FORMAT", "VERSION"]
