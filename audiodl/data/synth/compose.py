"""Procedural music: General-MIDI scores from a random generator.

A :class:`Score` is written in beats (so a tempo change or a transposition is a
re-rendering of the same composition, as the similarity corpus needs) and is
made of sections; each section *type* has its own material (progression,
melody motif, bass and drum patterns, instrumentation, density) that is reused
whenever the section repeats, as the structure corpus needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ATTACK_CLASS",
    "attack_class",
    "Part",
    "NoteB",
    "Section",
    "Score",
    "compose",
    "FORMS",
]

# GM program -> attack class: "fast" (sound within ~10 ms: piano, plucked,
# mallets, drums), "medium" (organs, brass, reeds: 10-50 ms), "slow" (bowed
# strings, choir, pads, flutes: 100-400 ms swell).
_FAST = set(range(0, 16)) | set(range(24, 40)) | {45, 46, 47, 55} | set(range(104, 109)) | set(range(112, 120))
_SLOW = {40, 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54} | set(range(72, 80)) | set(range(88, 104)) | {109, 110}
ATTACK_CLASS = {p: ("fast" if p in _FAST else "slow" if p in _SLOW else "medium") for p in range(128)}


def attack_class(program, *, is_drum=False):
    """Attack class (``"fast"``, ``"medium"``, ``"slow"``) of a GM program (drums: fast)."""
    return "fast" if is_drum else ATTACK_CLASS[int(program)]


# Instrument pools per role (GM programs).
POOLS = {
    "melody": [0, 1, 4, 6, 8, 10, 11, 12, 13, 16, 19, 22, 24, 25, 26, 27, 40, 41, 56, 57, 60,
               64, 65, 66, 68, 71, 73, 75, 80, 81, 104, 105, 108],
    "chords": [0, 1, 2, 4, 5, 16, 17, 19, 24, 25, 26, 27, 29, 46, 48, 49, 50, 52, 61, 88, 89, 90, 91, 92],
    "bass": [32, 33, 34, 35, 36, 37, 38, 39, 43, 58, 0],
    "arp": [0, 6, 8, 11, 12, 24, 25, 46, 108],
}
FAST_POOLS = {role: [p for p in pool if ATTACK_CLASS[p] == "fast"] for role, pool in POOLS.items()}

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = [[0, 4, 5, 3], [0, 3, 4, 0], [5, 3, 0, 4], [0, 5, 3, 4], [1, 4, 0, 0], [0, 0, 3, 4],
                [0, 3, 0, 4], [5, 4, 3, 4], [0, 6, 3, 4], [0, 2, 3, 4], [3, 4, 0, 5], [0, 4, 3, 3]]
# Drum patterns in 16th-note steps for 4/4: kick, snare, hat (velocities 0 = none)
DRUMS_44 = [
    {"kick": [0, 8], "snare": [4, 12], "hat": list(range(0, 16, 2))},              # rock
    {"kick": [0, 4, 8, 12], "snare": [4, 12], "hat": [2, 6, 10, 14]},             # four on the floor
    {"kick": [0, 10], "snare": [8], "hat": list(range(0, 16, 2))},                # half time
    {"kick": [0, 3, 8, 11], "snare": [4, 12], "hat": list(range(16))},           # busy 16ths
    {"kick": [0, 6, 8], "snare": [4, 12], "hat": [0, 3, 4, 7, 8, 11, 12, 15]},   # shuffle-ish
]
DRUMS_34 = [
    {"kick": [0], "snare": [4, 8], "hat": [0, 2, 4, 6, 8, 10]},
    {"kick": [0, 6], "snare": [4, 8], "hat": [0, 4, 8]},
]
DRUM_KEYS = {"kick": [35, 36], "snare": [38, 40, 37], "hat": [42, 44, 46, 51], "crash": [49, 57]}

FORMS = [
    ["intro", "verse", "chorus", "verse", "chorus", "outro"],
    ["intro", "verse", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"],
    ["verse", "chorus", "verse", "chorus", "bridge", "chorus"],
    ["intro", "A", "A", "B", "A", "outro"],
    ["A", "A", "B", "B", "A", "A"],
    ["intro", "verse", "prechorus", "chorus", "verse", "prechorus", "chorus", "outro"],
    ["A", "B", "A", "C", "A"],
]


@dataclass(frozen=True)
class Part:
    """An instrument track: MIDI channel, GM program, role (melody/chords/bass/arp/drums)."""

    channel: int
    program: int
    role: str

    @property
    def is_drum(self):
        return self.channel == 9


@dataclass(frozen=True)
class NoteB:
    """A note in beats: start, duration, MIDI pitch, velocity, part index."""

    start: float
    dur: float
    pitch: int
    velocity: int
    part: int


@dataclass
class Section:
    """A section occurrence: label, first beat, number of beats."""

    label: str
    start: float
    beats: float


@dataclass
class Score:
    """A composition in beats.

    Attributes
    ----------
    notes : list of NoteB
    parts : list of Part
    sections : list of Section
    beats_per_bar : int
    tempo : float [beats per minute]
    key : int (0 = C)
    mode : str
    melody_part : int or None
        Index of the part carrying the main melody (a singer can take it).
    """

    notes: list
    parts: list
    sections: list
    beats_per_bar: int
    tempo: float
    key: int
    mode: str
    melody_part: int = None
    meta: dict = field(default_factory=dict)

    @property
    def n_beats(self):
        return sum(s.beats for s in self.sections)

    def duration(self, *, tempo=None):
        """Length in seconds at ``tempo`` (default: the score's)."""
        return self.n_beats * 60.0 / (tempo or self.tempo)

    def to_notes(self, *, tempo=None, transpose=0, swing=0.0, jitter=0.0, rng=None,
                 parts=None, program_map=None):
        """Notes in seconds for :meth:`FluidRenderer.render`.

        Parameters
        ----------
        tempo : float or None [bpm]
        transpose : int [semitones] (drums are not transposed)
        swing : float [beats] delay of off-beat 8ths
        jitter : float [seconds] standard deviation of human timing noise
        rng : np.random.Generator or None (needed when ``jitter > 0``)
        parts : sequence of int or None
            Only these part indices.
        program_map : dict of int to int or None
            Part index -> replacement GM program.

        Returns
        -------
        notes : list of (start, end, pitch, velocity, channel)
        programs : dict of int to int
        index : list of int
            Index into ``self.notes`` of each returned note.
        """
        spb = 60.0 / (tempo or self.tempo)
        keep = set(range(len(self.parts))) if parts is None else set(parts)
        out, index = [], []
        for i, n in enumerate(self.notes):
            if n.part not in keep:
                continue
            part = self.parts[n.part]
            b = n.start
            if swing and (b * 2) % 2 == 1:
                b += swing
            t = b * spb
            if jitter:
                t = max(0.0, t + float(rng.normal(0.0, jitter)))
            pitch = n.pitch if part.is_drum else int(np.clip(n.pitch + transpose, 21, 108))
            out.append((t, t + max(0.05, n.dur * spb), pitch, n.velocity, part.channel))
            index.append(i)
        programs = {}
        for k, p in enumerate(self.parts):
            if k in keep:
                prog = p.program if program_map is None else program_map.get(k, p.program)
                programs[p.channel] = prog
        return out, programs, index

    def section_times(self, *, tempo=None):
        """Sections as (start, end, label) in seconds."""
        spb = 60.0 / (tempo or self.tempo)
        return [(s.start * spb, (s.start + s.beats) * spb, s.label) for s in self.sections]


def _chord(scale, key, degree, octave_base):
    root = key + scale[degree % 7] + 12 * (degree // 7)
    third = key + scale[(degree + 2) % 7] + 12 * ((degree + 2) // 7)
    fifth = key + scale[(degree + 4) % 7] + 12 * ((degree + 4) // 7)
    return [octave_base + p for p in (root, third, fifth)]


def _rhythm(rng, beats_per_bar, density):
    """Onset positions (beats) and durations of one bar of a melodic line."""
    grid = 0.5 if density < 0.7 else 0.25
    steps = int(beats_per_bar / grid)
    on = rng.random(steps) < (0.25 + 0.6 * density)
    on[0] = True
    pos = [k * grid for k in range(steps) if on[k]]
    durs = [b - a for a, b in zip(pos, pos[1:] + [float(beats_per_bar)])]
    return list(zip(pos, durs))


def _make_material(rng, *, beats_per_bar, roles, pools, density):
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    if rng.random() < 0.3:
        prog = prog[:2] * 2 if rng.random() < 0.5 else list(rng.permutation(prog))
    motif = [_rhythm(rng, beats_per_bar, density) for _ in range(2)]
    contour = [list(rng.integers(-3, 4, size=len(m))) for m in motif]
    drums = (DRUMS_44 if beats_per_bar == 4 else DRUMS_34)
    return {
        "progression": [int(d) for d in prog],
        "motif": motif,
        "contour": contour,
        "bass_style": int(rng.integers(4)),
        "chord_style": int(rng.integers(4)),
        "drums": drums[rng.integers(len(drums))],
        "density": density,
        "active": [r for r in roles if r == "melody" or rng.random() < 0.85] or roles[:1],
        "velocity": int(rng.integers(60, 110)),
        "register": int(rng.integers(-1, 2)),
    }


def compose(rng, *, duration=None, form=None, tempo=None, beats_per_bar=None, roles=None,
            fast_attack_only=False, drums=None, bars_per_section=None, cues=None):
    """Compose a random piece.

    Parameters
    ----------
    rng : np.random.Generator
    duration : float or None [seconds]
        Approximate length; sections are added (cycling through the form)
        until it is reached. ``None``: the form once.
    form : list of str or None
        Section labels; default a random template from :data:`FORMS`.
    tempo : float or None [bpm]; default uniform 70-170.
    beats_per_bar : int or None; default 4 (80 %) or 3.
    roles : list of str or None
        Subset of ``["melody", "chords", "bass", "arp"]``; default random.
    fast_attack_only : bool
        Draw programs with a fast attack only (onset corpora).
    drums : bool or None
        Include a drum kit; default with probability 0.65.
    bars_per_section : int or None; default 4 or 8 per section type.
    cues : dict or None
        Section cues of real arrangements (``None``: none beyond a crash on
        half the section starts, and exact repeats; the random draws are then
        those of the plain generator). Keys, all optional:
        ``bars`` (list of int: bars per section type, drawn uniformly),
        ``crash_p`` (probability of a crash cymbal on a section start, 0.5),
        ``fill_p`` (probability of a drum fill in the last beats before a
        section start, 0), ``vary_p`` (probability that a repeat is varied:
        new melody rhythm, dynamics, one instrument in or out, another drum
        pattern; 0), ``lead_in_p`` (probability that a section starts after
        a beat of silence of every instrument but the drums, a "stop", 0).

    Returns
    -------
    score : Score
    """
    tempo = float(tempo if tempo is not None else rng.uniform(70, 170))
    bpb = int(beats_per_bar if beats_per_bar is not None else (4 if rng.random() < 0.8 else 3))
    key = int(rng.integers(12))
    mode = "major" if rng.random() < 0.6 else "minor"
    scale = MAJOR if mode == "major" else MINOR
    if roles is None:
        roles = [r for r in ("melody", "chords", "bass", "arp") if rng.random() < (0.8, 0.75, 0.8, 0.3)[
            ("melody", "chords", "bass", "arp").index(r)]] or ["melody"]
    pools = FAST_POOLS if fast_attack_only else POOLS
    parts = []
    for ch, role in enumerate(roles):
        pool = pools[role]
        parts.append(Part(channel=ch, program=int(pool[rng.integers(len(pool))]), role=role))
    use_drums = bool(rng.random() < 0.65) if drums is None else bool(drums)
    drum_part = None
    if use_drums:
        drum_part = len(parts)
        parts.append(Part(channel=9, program=int(rng.choice([0, 8, 16, 24, 25, 32, 40, 48])), role="drums"))
    melody_part = roles.index("melody") if "melody" in roles else None
    if form is None:
        form = FORMS[rng.integers(len(FORMS))]
    materials = {}
    sections = []
    notes = []
    beat = 0.0
    target_beats = None if duration is None else duration * tempo / 60.0
    k = 0
    drum_keys = {name: int(rng.choice(keys)) for name, keys in DRUM_KEYS.items()}
    cue = dict(cues or {})
    while True:
        label = form[k % len(form)]
        if label not in materials:
            nb = bars_per_section or int(rng.choice(cue.get("bars", [4, 8])))
            if label in ("intro", "outro"):
                nb = max(2, nb // 2)
            dens = float(rng.uniform(0.2, 1.0))
            materials[label] = (nb, _make_material(rng, beats_per_bar=bpb, roles=roles, pools=pools,
                                                   density=dens))
        nb, mat = materials[label]
        fill = stop = False
        if cues is not None:
            if k > 0 and label in [s.label for s in sections] and rng.random() < cue.get("vary_p", 0.0):
                mat = _vary(rng, mat, roles, bpb)
            last = (k + 1 >= len(form)) if target_beats is None else False
            fill = (not last) and rng.random() < cue.get("fill_p", 0.0)
            stop = k > 0 and rng.random() < cue.get("lead_in_p", 0.0)
        sec_notes = _render_section(rng, mat, parts, drum_part, drum_keys, scale=scale, key=key,
                                    bpb=bpb, n_bars=nb, start=beat, first=(k == 0),
                                    crash_p=cue.get("crash_p", 0.5), fill=fill)
        if stop:  # a beat of silence before the section (drums keep time)
            cut = beat - 1.0
            notes = [n if n.part == drum_part or n.start + n.dur <= cut
                     else NoteB(n.start, max(0.05, cut - n.start), n.pitch, n.velocity, n.part)
                     for n in notes if n.part == drum_part or n.start < cut]
        notes.extend(sec_notes)
        sections.append(Section(label=label, start=beat, beats=float(nb * bpb)))
        beat += nb * bpb
        k += 1
        if target_beats is None:
            if k >= len(form):
                break
        elif beat >= target_beats:
            break
    notes.sort(key=lambda n: (n.start, n.part, n.pitch))
    return Score(notes=notes, parts=parts, sections=sections, beats_per_bar=bpb, tempo=tempo,
                 key=key, mode=mode, melody_part=melody_part,
                 meta={"form": [s.label for s in sections]})


def _vary(rng, mat, roles, bpb):
    """A varied repeat of a section's material (same progression)."""
    mat = dict(mat)
    if rng.random() < 0.5:
        mat["motif"] = [_rhythm(rng, bpb, mat["density"]) for _ in range(2)]
        mat["contour"] = [list(rng.integers(-3, 4, size=len(m))) for m in mat["motif"]]
    mat["velocity"] = int(np.clip(mat["velocity"] + rng.integers(-20, 21), 45, 120))
    if rng.random() < 0.5:
        r = str(rng.choice(roles))
        act = set(mat["active"])
        act = (act - {r}) if r in act and len(act) > 1 else (act | {r})
        mat["active"] = [x for x in roles if x in act]
    if rng.random() < 0.3:
        drums = DRUMS_44 if bpb == 4 else DRUMS_34
        mat["drums"] = drums[rng.integers(len(drums))]
    return mat


def _render_section(rng, mat, parts, drum_part, drum_keys, *, scale, key, bpb, n_bars, start, first,
                    crash_p=0.5, fill=False):
    notes = []
    active = set(mat["active"])
    base_vel = mat["velocity"]
    reg = 12 * mat["register"]
    prog = mat["progression"]
    for bar in range(n_bars):
        b0 = start + bar * bpb
        degree = prog[bar % len(prog)]
        chord = _chord(scale, key, degree, 48)
        for pi, part in enumerate(parts):
            if part.is_drum or part.role not in active:
                continue
            vel = lambda acc=0: int(np.clip(base_vel + acc + rng.integers(-8, 9), 25, 127))  # noqa: E731
            if part.role == "bass":
                root = chord[0] - 12 if chord[0] - 12 >= 33 else chord[0]
                style = mat["bass_style"]
                if style == 0:
                    pos = [(0.0, float(bpb))]
                elif style == 1:
                    pos = [(float(b), 1.0) for b in range(bpb)]
                elif style == 2:
                    pos = [(0.0, 1.5), (1.5, 0.5), (2.0, float(bpb) - 2.0)]
                else:
                    pos = [(b * 0.5, 0.5) for b in range(2 * bpb)]
                for j, (p, d) in enumerate(pos):
                    pitch = root + (7 if (style == 3 and j % 4 == 2) else 0)
                    notes.append(NoteB(b0 + p, d * 0.9, int(pitch), vel(10 if p == 0 else 0), pi))
            elif part.role == "chords":
                voicing = [p + 12 + reg for p in chord]
                style = mat["chord_style"]
                if style == 0:
                    hits = [(0.0, float(bpb))]
                elif style == 1:
                    hits = [(float(b), 0.9) for b in range(bpb)]
                elif style == 2:
                    hits = [(0.0, 1.4), (1.5, float(bpb) - 1.5)]
                else:
                    hits = [(float(b) + 0.5, 0.4) for b in range(bpb)]
                for p, d in hits:
                    for q in voicing:
                        notes.append(NoteB(b0 + p, d, int(q), vel(-10), pi))
            elif part.role == "arp":
                seq = [p + 24 + reg for p in chord] + [chord[1] + 36 + reg]
                step = 0.5 if mat["density"] < 0.6 else 0.25
                for j in range(int(bpb / step)):
                    notes.append(NoteB(b0 + j * step, step * 1.5, int(seq[j % len(seq)]), vel(-15), pi))
            elif part.role == "melody":
                m = bar % 2
                motif = mat["motif"][m]
                contour = mat["contour"][m]
                # melody notes: walk around the chord's scale degree
                deg = degree + 7
                for (p, d), step in zip(motif, contour):
                    deg_n = deg + int(step)
                    pitch = key + scale[deg_n % 7] + 12 * (deg_n // 7) + 48 + reg
                    if p == 0:  # strong beat: chord tone
                        pitch = chord[int(rng.integers(3))] + 24 + reg
                    if rng.random() < 0.08:
                        continue
                    notes.append(NoteB(b0 + p, max(0.2, d * 0.95), int(np.clip(pitch, 48, 96)), vel(5), pi))
        if drum_part is not None:
            pat = mat["drums"]
            fill_from = 4 * bpb - int(rng.choice([4, 8])) if fill and bar == n_bars - 1 else 4 * bpb
            for name in ("kick", "snare", "hat"):
                for s16 in pat[name]:
                    if s16 >= fill_from:
                        continue
                    acc = 15 if name != "hat" else (-20 if s16 % 4 else -5)
                    v = int(np.clip(base_vel + acc + rng.integers(-10, 11), 20, 127))
                    notes.append(NoteB(b0 + s16 / 4.0, 0.2, drum_keys[name], v, drum_part))
            if bar == 0 and (first or rng.random() < crash_p):
                notes.append(NoteB(b0, 1.0, drum_keys["crash"], 100, drum_part))
            if fill_from < 4 * bpb:  # snare / tom fill in 16ths, crescendo
                toms = [50, 48, 47, 45, 43, 41]
                for j, s16 in enumerate(range(fill_from, 4 * bpb)):
                    pitch = drum_keys["snare"] if j < 2 or rng.random() < 0.4 else toms[
                        min(len(toms) - 1, j * len(toms) // (4 * bpb - fill_from))]
                    v = int(np.clip(70 + 40 * j / (4 * bpb - fill_from) + rng.integers(-8, 9), 20, 127))
                    notes.append(NoteB(b0 + s16 / 4.0, 0.2, int(pitch), v, drum_part))
    return notes
