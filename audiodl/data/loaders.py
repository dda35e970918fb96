"""Loaders for research corpora already on a user's disk.

Each ``load_<corpus>(root)`` walks the corpus in its distributed layout and
returns manifest items (absolute paths; :func:`audiodl.data.manifest.write_manifest`
stores them relative); :func:`corpus_manifest` writes them. Nothing is
downloaded. Annotation files are referenced where their format is already
the one audiodl reads; otherwise they are converted next to the manifest.

============== ============================================================
corpus         layout under ``root``
============== ============================================================
gtzan-ms       ``music_wav/*.wav``, ``speech_wav/*.wav`` (GTZAN music/speech)
boeck          ``audio/*``, ``annotations/onsets/*.onsets``, ``splits/*.fold``
jamendo        ``audio/*``, ``labels/*.lab`` (start end sing/nosing),
               ``filelists/{train,valid,test}``
salami         ``audio/ID.*``, ``annotations/ID/parsed/textfile{1,2}_functions.txt``
beatles        ``audio/<album>/<track>.*``, ``seglab/<album>/<track>.lab``
               (Isophonics ``annotations/seglab`` also accepted)
rwc-popular    ``audio/RM-P###.*``, ``annotations/AIST.RWC-MDB-P-2001.CHORUS/RM-P###.CHORUS.TXT``
librispeech    ``<subset>/<speaker>/<chapter>/*.flac`` + ``*.trans.txt``
============== ============================================================
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from audiodl.data.manifest import read_segments, write_manifest, write_segments
from audiodl.errors import ManifestError, ParameterError

__all__ = [
    "CORPORA",
    "load_gtzan_musicspeech",
    "load_boeck_onsets",
    "load_jamendo",
    "load_salami",
    "load_beatles",
    "load_rwc_popular",
    "load_librispeech",
    "corpus_manifest",
]

AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif", ".m4a")


def _split_of(key, fractions=(0.8, 0.1, 0.1)):
    u = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 2 ** 32
    if u < fractions[0]:
        return "train"
    return "valid" if u < sum(fractions[:2]) else "test"


def _duration(path):
    import soundfile as sf

    try:
        info = sf.info(os.fspath(path))
        return round(info.duration, 4), int(info.samplerate)
    except RuntimeError:  # mp3/m4a soundfile cannot read: fall back to audiodl.io
        from audiodl.io.audio import info as ainfo

        d = ainfo(path)
        return round(float(d["duration"]), 4), int(d["sr"])


def _audio_files(folder):
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_EXT)


def _need(root, *parts):
    p = Path(root, *parts)
    if not p.exists():
        raise ParameterError(f"{p}: not found; is {root} the corpus root?")
    return p


def _item(item_id, audio, split, **extra):
    dur, sr = _duration(audio)
    d = {"id": item_id, "audio": os.fspath(audio), "duration": dur, "sr": sr, "split": split}
    d.update(extra)
    return d


def load_gtzan_musicspeech(root):
    """GTZAN music/speech (64 music + 64 speech 30 s clips); split by file hash."""
    items = []
    for cls in ("music", "speech"):
        for p in _audio_files(_need(root, f"{cls}_wav")):
            items.append(_item(f"gtzan-{cls}-{p.stem}", p, _split_of(p.name), task="musicspeech",
                               labels=[cls], source="gtzan-musicspeech", group=p.name))
    return items


def load_boeck_onsets(root):
    """Böck onset set: split ``fold<k>`` from ``splits/*.fold`` (else by hash); .onsets kept."""
    root = Path(root)
    ann = _need(root, "annotations", "onsets")
    folds = {}
    split_dir = root / "splits"
    if split_dir.is_dir():
        for k, f in enumerate(sorted(split_dir.glob("*.fold"))):
            for line in _text(f).split():
                folds[Path(line).stem] = f"fold{k}"
    items = []
    for p in _audio_files(_need(root, "audio")):
        on = ann / f"{p.stem}.onsets"
        if not on.is_file():
            continue
        items.append(_item(f"boeck-{p.stem}", p, folds.get(p.stem, _split_of(p.name)), task="onsets",
                           source="boeck", annotations={"onsets": os.fspath(on)}, group=p.stem))
    return items


def load_jamendo(root):
    """Jamendo singing voice: ``filelists/{train,valid,test}`` give the split; .lab sing/nosing."""
    root = Path(root)
    split_of = {}
    for split in ("train", "valid", "test"):
        f = root / "filelists" / split
        if f.is_file():
            for line in _text(f).split("\n"):
                if line.strip():
                    split_of[Path(line.strip()).stem] = split
    items = []
    for p in _audio_files(_need(root, "audio")):
        lab = root / "labels" / f"{p.stem}.lab"
        if not lab.is_file():
            continue
        segs = read_segments(lab)
        bad = {s[2] for s in segs} - {"sing", "nosing"}
        if bad:
            raise ManifestError(f"{lab}: unexpected labels {sorted(bad)} (expected sing/nosing)")
        items.append(_item(f"jamendo-{p.stem}", p, split_of.get(p.stem, _split_of(p.name)), task="singing",
                           source="jamendo", annotations={"vocals": os.fspath(lab)}, group=p.stem,
                           labels=["music"] + (["singing"] if any(s[2] == "sing" for s in segs) else [])))
    return items


def _text(path) -> str:
    """A corpus text file (UTF-8), or ManifestError naming it."""
    from audiodl.io.textfiles import read_text
    return read_text(path, error=ManifestError, what="corpus text file")


def _parse_salami(path):
    """SALAMI parsed ``*_functions.txt``: ``time<TAB>label`` rows -> segments."""
    rows = []
    for lineno, line in enumerate(_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split("\t") if "\t" in line else line.split(None, 1)
        try:
            rows.append((float(parts[0]), parts[1].strip() if len(parts) > 1 else ""))
        except ValueError:
            raise ManifestError(f"{path}:{lineno}: expected 'time<TAB>label', got {line!r}") from None
    segs = []
    for (t0, lab), (t1, _) in zip(rows, rows[1:]):
        if t1 > t0 and lab.lower() not in ("end", "silence", ""):
            segs.append((t0, t1, lab))
    return segs


def load_salami(root, *, out_dir, annotator=1):
    """SALAMI: sections from ``textfile<annotator>_functions.txt`` converted to ``.sections``."""
    root = Path(root)
    ann = _need(root, "annotations")
    audio = {p.stem: p for p in _audio_files(_need(root, "audio"))}
    items = []
    for d in sorted(x for x in ann.iterdir() if x.is_dir()):
        f = d / "parsed" / f"textfile{annotator}_functions.txt"
        if not f.is_file() or d.name not in audio:
            continue
        out = Path(out_dir, "labels", f"salami-{d.name}.sections")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_segments(out, _parse_salami(f))
        items.append(_item(f"salami-{d.name}", audio[d.name], _split_of(d.name), task="structure",
                           source="salami", annotations={"sections": os.fspath(out)}, group=d.name))
    return items


def load_beatles(root):
    """Beatles (Isophonics) segment .lab files (``start end label``), split by album hash."""
    root = Path(root)
    seg_root = root / "seglab" if (root / "seglab").is_dir() else _need(root, "annotations", "seglab")
    items = []
    for lab in sorted(seg_root.rglob("*.lab")):
        rel = lab.relative_to(seg_root).with_suffix("")
        cands = [Path(root, "audio", rel).with_suffix(e) for e in AUDIO_EXT]
        audio = next((c for c in cands if c.is_file()), None)
        if audio is None:
            continue
        read_segments(lab)  # validate
        items.append(_item("beatles-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", str(rel)), audio,
                           _split_of(rel.parts[0]), task="structure", source="beatles",
                           annotations={"sections": os.fspath(lab)}, group=rel.parts[0]))
    return items


def _parse_rwc(path):
    """RWC CHORUS.TXT: ``begin end label`` with times in 10 ms units (as mirdata reads it)."""
    segs = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if len(parts) < 3:
                continue
            try:
                a, b = float(parts[0]) / 100.0, float(parts[1]) / 100.0
            except ValueError:
                raise ManifestError(f"{path}:{lineno}: expected 'begin end label', got {line.strip()!r}") from None
            segs.append((a, b, parts[2]))
    return segs


def load_rwc_popular(root, *, out_dir):
    """RWC Popular: chorus/section annotations converted to ``.sections`` (seconds)."""
    root = Path(root)
    ann = _need(root, "annotations", "AIST.RWC-MDB-P-2001.CHORUS")
    audio = {p.stem: p for p in _audio_files(_need(root, "audio"))}
    items = []
    for f in sorted(ann.glob("*.CHORUS.TXT")):
        key = f.name.split(".")[0]
        if key not in audio:
            continue
        out = Path(out_dir, "labels", f"rwc-{key}.sections")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_segments(out, _parse_rwc(f))
        items.append(_item(f"rwc-{key}", audio[key], _split_of(key), task="structure", source="rwc-popular",
                           annotations={"sections": os.fspath(out)}, group=key))
    return items


def load_librispeech(root):
    """LibriSpeech: every ``*.trans.txt`` line ``UTT-ID TEXT``; split from the subset name."""
    items = []
    for trans in sorted(Path(root).rglob("*.trans.txt")):
        subset = trans.parents[2].name
        split = "train" if subset.startswith("train") else "valid" if subset.startswith("dev") else \
            "test" if subset.startswith("test") else subset
        for lineno, line in enumerate(_text(trans).splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise ManifestError(f"{trans}:{lineno}: expected 'UTTERANCE-ID TEXT', got {line!r}")
            flac = trans.parent / f"{parts[0]}.flac"
            if not flac.is_file():
                raise ManifestError(f"{trans}:{lineno}: audio {flac.name} is missing")
            items.append(_item(f"libri-{parts[0]}", flac, split, task="speech", source="librispeech",
                               text=parts[1].lower(), labels=["speech"],
                               group=f"speaker:{parts[0].split('-')[0]}", meta={"subset": subset}))
    return items


CORPORA = {
    "gtzan-ms": load_gtzan_musicspeech,
    "boeck": load_boeck_onsets,
    "jamendo": load_jamendo,
    "salami": load_salami,
    "beatles": load_beatles,
    "rwc-popular": load_rwc_popular,
    "librispeech": load_librispeech,
}


def corpus_manifest(corpus, root, manifest):
    """Load ``corpus`` from ``root`` and write ``manifest`` (returns its path).

    Raises
    ------
    ParameterError
        Unknown corpus, wrong root, or no items found.
    """
    if corpus not in CORPORA:
        raise ParameterError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    fn = CORPORA[corpus]
    if corpus in ("salami", "rwc-popular"):
        items = fn(root, out_dir=Path(manifest).parent)
    else:
        items = fn(root)
    if not items:
        raise ParameterError(f"{root}: no {corpus} items found (audio + annotations in the expected layout)")
    return write_manifest(manifest, items)
