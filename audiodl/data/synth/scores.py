"""Real scores from the music21 corpus as a music source for the generators.

The ``music21`` wheel ships its corpus (no network): Bach chorales (MusicXML,
SATB), the Essen folk-song collection and O'Neill's 1850 Irish tunes (ABC).
A work is picked deterministically from a random generator, parsed once with
repeats expanded, and cached as JSON (``$AUDIODL_CACHE/music21`` or
``~/.cache/audiodl/music21``, one file per work and music21 version), so a
later run reads the note list without importing music21 at all. A parsed work
becomes a :class:`~audiodl.data.synth.compose.Score` (beats = quarter notes)
with random GM instrument family, tempo and transposition, rendered exactly
like a procedural piece.

Generators use scores for a fraction :data:`FRACTION` of their music items
when music21 is installed; the ``AUDIODL_SCORES`` environment variable
overrides the fraction (``0`` turns scores off, ``1`` uses them for every
music item).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from pathlib import Path

import numpy as np

from audiodl.data.synth.compose import ATTACK_CLASS, NoteB, Part, Score, Section

__all__ = [
    "FRACTION",
    "SOURCES",
    "FAMILIES",
    "available",
    "fraction",
    "catalogue",
    "cache_dir",
    "parse_work",
    "pick_work",
    "random_score",
]

logger = logging.getLogger(__name__)

FRACTION = 0.25
# source name -> (corpus folder, file pattern, weight, quarter-note tempo range [bpm])
SOURCES = {
    "bach": ("bach", r"^bwv\d+\.\d+\.mxl$", 0.4, (56.0, 100.0)),
    "essen": ("essenFolksong", r"\.abc$", 0.3, (70.0, 150.0)),
    "oneill": ("oneills1850", r"\.abc$", 0.3, (80.0, 180.0)),
}
SATB = ("Soprano", "Alto", "Tenor", "Bass")
# General-MIDI instrument families (program numbers).
FAMILIES = {
    "piano": list(range(0, 8)),
    "mallets": list(range(8, 16)),
    "organ": list(range(16, 24)),
    "guitar": list(range(24, 32)),
    "strings": list(range(40, 47)),
    "ensemble": list(range(48, 55)),
    "brass": list(range(56, 64)),
    "reed": list(range(64, 72)),
    "pipe": list(range(72, 80)),
    "lead": list(range(80, 88)),
    "ethnic": list(range(104, 112)),
}
BASS_FAMILY = list(range(32, 40))
MAX_TRIES = 20
_CATALOGUE = {}
_WARNED = []


def available():
    """Whether music21 (with its bundled corpus) is installed (bool; does not import it)."""
    try:
        spec = importlib.util.find_spec("music21")
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.submodule_search_locations is not None and \
        (Path(list(spec.submodule_search_locations)[0]) / "corpus").is_dir()


def fraction(default=FRACTION):
    """Share of music items drawn from scores: ``AUDIODL_SCORES`` or ``default``; 0 without music21."""
    value = os.environ.get("AUDIODL_SCORES")
    frac = float(value) if value not in (None, "") else float(default)
    if frac > 0 and not available():
        if not _WARNED:
            logger.info("music21 is not installed: music items are all procedural "
                        "(`pip install music21` adds corpus scores)")
            _WARNED.append(True)
        return 0.0
    return min(max(frac, 0.0), 1.0)


def _corpus_dir():
    spec = importlib.util.find_spec("music21")
    return Path(list(spec.submodule_search_locations)[0]) / "corpus"


def _version():
    from importlib.metadata import version

    return version("music21")


def cache_dir():
    """Folder of the parsed-score cache (``$AUDIODL_CACHE/music21``), created."""
    root = os.environ.get("AUDIODL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "audiodl")
    d = Path(root) / "music21" / _version()
    d.mkdir(parents=True, exist_ok=True)
    return d


def catalogue(source):
    """Work ids of a source, sorted (``folder/file`` or ``folder/file#number`` for ABC tunes)."""
    if source not in SOURCES:
        raise ValueError(f"unknown score source {source!r}; choose one of {', '.join(SOURCES)}")
    if source not in _CATALOGUE:
        folder, pattern, _, _ = SOURCES[source]
        works = []
        for p in sorted((_corpus_dir() / folder).iterdir()):
            if not re.search(pattern, p.name):
                continue
            if p.suffix == ".abc":
                text = p.read_text(encoding="utf-8", errors="replace")
                nums = sorted({int(x) for x in re.findall(r"(?m)^X:\s*(\d+)", text)})
                works.extend(f"{folder}/{p.name}#{n}" for n in nums)
            else:
                works.append(f"{folder}/{p.name}")
        _CATALOGUE[source] = works
    return _CATALOGUE[source]


def _parse(work, expand):
    import music21  # noqa: F401  (slow import, only on a cache miss)
    from music21 import corpus

    path, _, number = work.partition("#")
    full = os.fspath(_corpus_dir() / path)
    s = corpus.parse(full, number=int(number)) if number else corpus.parse(full)
    if hasattr(s, "scores"):  # an Opus: first score
        s = s.scores[0]
    n_quarters_score = float(s.highestTime)
    if expand:
        s = s.expandRepeats()
    parts = list(s.parts)
    names = [p.partName or "" for p in parts]
    if all(n in names for n in SATB):
        parts = [parts[names.index(n)] for n in SATB]
        names = list(SATB)
    ts = s.recurse().getElementsByClass("TimeSignature").first()
    notes = []
    for k, part in enumerate(parts):
        for el in part.stripTies().flatten().notes:
            dur = float(el.quarterLength)
            if dur <= 0:  # grace notes
                continue
            for pitch in el.pitches:
                notes.append([float(el.offset), dur, int(pitch.midi), k])
    notes.sort(key=lambda n: (n[0], n[3], n[2]))
    return {"work": work, "title": (s.metadata.title if s.metadata else None) or "",
            "parts": names, "bar_quarters": float(ts.barDuration.quarterLength) if ts else 4.0,
            "n_quarters": float(s.highestTime), "n_quarters_score": n_quarters_score,
            "expanded": bool(expand), "notes": notes}


def parse_work(work, *, expand=True):
    """Notes of a corpus work, parsed once and cached as JSON.

    Parameters
    ----------
    work : str
        A work id from :func:`catalogue`.
    expand : bool
        Expand repeats (and first/second endings).

    Returns
    -------
    parsed : dict
        ``work``, ``title``, ``parts`` (names), ``bar_quarters``,
        ``n_quarters`` (length), ``n_quarters_score`` (before expansion),
        ``expanded``, ``notes``: list of [start, duration, midi pitch, part]
        in quarter notes, sorted; tied notes merged. ``error`` instead when
        music21 cannot read the work (cached too).
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", work) + ("" if expand else ".unexpanded") + ".json"
    path = cache_dir() / name
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    try:
        parsed = _parse(work, expand)
    except Exception as exc:  # music21 raises many kinds on odd ABC
        parsed = {"work": work, "error": f"{type(exc).__name__}: {exc}"[:300]}
    text = json.dumps(parsed)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return json.loads(text)  # what a cached read returns, exactly


def _usable(parsed):
    return "error" not in parsed and len(parsed["notes"]) >= 8 and parsed["n_quarters"] >= 4.0 \
        and len(parsed["parts"]) <= 8


def pick_work(rng, *, source=None):
    """Draw a source (by weight) and a work, skipping unreadable ones (deterministic).

    Returns
    -------
    source : str
    parsed : dict (see :func:`parse_work`)
    """
    if source is None:
        names = list(SOURCES)
        w = np.asarray([SOURCES[n][2] for n in names])
        source = names[int(rng.choice(len(names), p=w / w.sum()))]
    works = catalogue(source)
    k = int(rng.integers(len(works)))
    for j in range(MAX_TRIES):
        parsed = parse_work(works[(k + j) % len(works)])
        if _usable(parsed):
            return source, parsed
    raise RuntimeError(f"no readable {source} score near {works[k]}")


def _family_programs(rng, fast_attack_only):
    fams = {f: [p for p in progs if not fast_attack_only or ATTACK_CLASS[p] == "fast"]
            for f, progs in FAMILIES.items()}
    fams = {f: p for f, p in fams.items() if p}
    names = sorted(fams)
    fam = names[int(rng.integers(len(names)))]
    bass = [p for p in BASS_FAMILY if not fast_attack_only or ATTACK_CLASS[p] == "fast"]
    return fam, fams[fam], bass


def random_score(rng, duration, *, fast_attack_only=False, source=None, tempo=None, transpose=None):
    """A corpus work as a :class:`Score` of about ``duration`` seconds.

    The work (expanded repeats) is excerpted from a bar start when longer than
    ``duration`` and looped when shorter; parts get programs of one random GM
    instrument family (the lowest part of a chorale may take a bass program);
    tempo and transposition are random. Transposition is applied to the
    notes (``score.key``), so ``score.to_notes()`` needs no ``transpose``.

    Parameters
    ----------
    rng : np.random.Generator
    duration : float [seconds]
    fast_attack_only : bool
        Programs with a fast attack only (onset corpora).
    source : str or None
        One of :data:`SOURCES`; default drawn by weight.
    tempo : float or None [quarter notes per minute]
    transpose : int or None [semitones]; default -5..+6.

    Returns
    -------
    score : Score
        ``meta`` has ``source``, ``work``, ``title``, ``family``,
        ``transpose``, ``start_beat``, ``expanded``.
    """
    source, parsed = pick_work(rng, source=source)
    lo, hi = SOURCES[source][3]
    tempo = float(tempo if tempo is not None else rng.uniform(lo, hi))
    transpose = int(transpose if transpose is not None else rng.integers(-5, 7))
    family, progs, bass_progs = _family_programs(rng, fast_attack_only)
    n_parts = len(parts_names := parsed["parts"])
    parts = []
    for k in range(n_parts):
        if n_parts == 1:
            role = "melody"
        else:
            role = "melody" if k == 0 else "bass" if k == n_parts - 1 else "chords"
        pool = bass_progs if (role == "bass" and rng.random() < 0.5) else progs
        parts.append(Part(channel=k if k < 9 else k + 1, program=int(pool[rng.integers(len(pool))]), role=role))
    total = parsed["n_quarters"]
    need = duration * tempo / 60.0
    bar = parsed["bar_quarters"] or 4.0
    start = 0.0
    if total > need and rng.random() < 0.5:
        start = float(np.floor(rng.uniform(0.0, total - need) / bar) * bar)
    base_vel = [int(rng.integers(60, 110)) for _ in range(n_parts)]
    notes = []
    offset = -start
    while offset < need:
        for s, d, pitch, k in parsed["notes"]:
            b = s + offset
            if b < 0 or b >= need:
                continue
            vel = int(np.clip(base_vel[k] + rng.integers(-8, 9) + (8 if s % bar == 0 else 0), 25, 127))
            notes.append(NoteB(float(b), float(d), int(np.clip(pitch + transpose, 21, 108)), vel, k))
        offset += total
    notes.sort(key=lambda n: (n.start, n.part, n.pitch))
    beats = float(np.ceil(need))
    return Score(notes=notes, parts=parts, sections=[Section(label="tune", start=0.0, beats=beats)],
                 beats_per_bar=max(1, int(round(bar))), tempo=tempo, key=transpose % 12, mode="",
                 melody_part=0,
                 meta={"source": source, "work": parsed["work"], "title": parsed["title"],
                       "parts": parts_names, "family": family, "transpose": transpose,
                       "start_beat": start, "expanded": parsed["expanded"]})
