"""Sound engines used by the corpus generators: FluidSynth and command-line TTS.

Every engine is looked up lazily; a missing engine raises
:class:`EngineUnavailable` whose message says what to install, so a generator
can be skipped with a clear message instead of crashing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "EngineUnavailable",
    "INSTALL_HINT",
    "SOUNDFONT_DIRS",
    "find_soundfonts",
    "FluidRenderer",
    "check_fluidsynth",
    "Voice",
    "list_voices",
    "tts",
    "festival_text",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = "run `sudo bash scripts/install-system-deps.sh` (Debian) to install it"
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts")
# Preferred order; names are file names inside SOUNDFONT_DIRS.
KNOWN_SOUNDFONTS = ("FluidR3_GM.sf2", "TimGM6mb.sf2")

POLYPHONY = 128
BLOCK = 64  # FluidSynth's internal block: events take effect on block boundaries


class EngineUnavailable(RuntimeError):
    """A synthesis engine (library, binary, voice or soundfont) is not installed."""


def find_soundfonts(names=None):
    """Installed General-MIDI soundfonts.

    Parameters
    ----------
    names : sequence of str or None
        File names to look for; default: FluidR3_GM and TimGM6mb.

    Returns
    -------
    fonts : dict of str to str
        Short name (file stem) -> absolute path, in preference order. The
        ``AUDIODL_SOUNDFONTS`` environment variable (``os.pathsep``-separated
        .sf2 paths) adds more.
    """
    names = KNOWN_SOUNDFONTS if names is None else tuple(names)
    out = {}
    for name in names:
        for d in SOUNDFONT_DIRS:
            p = Path(d) / name
            if p.is_file():
                out[p.stem] = os.fspath(p)
                break
    extra = os.environ.get("AUDIODL_SOUNDFONTS", "")
    for p in filter(None, extra.split(os.pathsep)):
        if Path(p).is_file():
            out[Path(p).stem] = p
    return out


def check_fluidsynth():
    """Raise :class:`EngineUnavailable` unless pyfluidsynth, libfluidsynth and a soundfont exist."""
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as exc:
        raise EngineUnavailable(
            f"FluidSynth is unavailable ({exc}); `pip install pyfluidsynth` and {INSTALL_HINT}"
        ) from None
    if not find_soundfonts():
        raise EngineUnavailable(f"no General-MIDI soundfont found in {SOUNDFONT_DIRS}; {INSTALL_HINT}")


class FluidRenderer:
    """One FluidSynth instance kept alive across renders.

    Note-ons are scheduled at sample positions quantised to FluidSynth's
    64-sample block, so the returned note-on times are exact to the sample.
    Built-in reverb and chorus are off (augmentation adds room effects), and
    the synth is reset between renders, so a render depends only on its input.

    Parameters
    ----------
    sr : int [Hz]
    soundfonts : dict of str to str or None
        Name -> .sf2 path; default: :func:`find_soundfonts`.
    gain : float
        FluidSynth master gain.
    """

    def __init__(self, sr, *, soundfonts=None, gain=0.4):
        try:
            import fluidsynth  # pyfluidsynth
        except (ImportError, OSError) as exc:  # OSError: libfluidsynth missing
            raise EngineUnavailable(
                f"FluidSynth is unavailable ({exc}); `pip install pyfluidsynth` and {INSTALL_HINT}"
            ) from None
        fonts = find_soundfonts() if soundfonts is None else dict(soundfonts)
        if not fonts:
            raise EngineUnavailable(f"no General-MIDI soundfont found in {SOUNDFONT_DIRS}; {INSTALL_HINT}")
        self.sr = int(sr)
        # settings must be given before the synth exists to take effect
        settings = {"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.polyphony": POLYPHONY}
        self._fs = fluidsynth.Synth(samplerate=float(sr), gain=gain, **settings)
        lib = getattr(fluidsynth, "_fl", None)  # pyfluidsynth's CDLL handle
        if lib is None:
            from ctypes.util import find_library

            lib = ctypes.CDLL(find_library("fluidsynth") or "libfluidsynth.so.3")
        self._write = lib.fluid_synth_write_float
        self._write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self._write.restype = ctypes.c_int
        self.sfids = {}
        for name, path in fonts.items():
            sfid = self._fs.sfload(path)
            if sfid < 0:
                logger.warning("FluidSynth could not load soundfont %s", path)
                continue
            self.sfids[name] = sfid
        if not self.sfids:
            raise EngineUnavailable(f"FluidSynth loaded none of the soundfonts {list(fonts.values())}")

    @property
    def soundfonts(self):
        """Names of the loaded soundfonts (list of str)."""
        return list(self.sfids)

    def _render_into(self, left, right, start, n):
        lp = left.ctypes.data + 4 * start
        rp = right.ctypes.data + 4 * start
        self._write(self._fs.synth, int(n), lp, 0, 1, rp, 0, 1)

    def _reset(self):
        for ch in range(16):
            self._fs.cc(ch, 120, 0)  # all sounds off (kills voices at once)
            self._fs.cc(ch, 121, 0)  # reset controllers
        self._fs.system_reset()
        # voices fade out over a few blocks: render until the output is silent
        buf = np.empty(4 * BLOCK, dtype=np.float32)
        buf2 = np.empty(4 * BLOCK, dtype=np.float32)
        for _ in range(2000):
            self._write(self._fs.synth, buf.size, buf.ctypes.data, 0, 1, buf2.ctypes.data, 0, 1)
            if not (np.any(buf) or np.any(buf2)):
                break

    def render(self, notes, duration, *, programs, soundfont=None, controls=(), bends=()):
        """Render notes to mono float32 audio.

        Parameters
        ----------
        notes : sequence of (start, end, pitch, velocity, channel)
            Times in seconds; MIDI pitch and velocity (1-127); channel 0-15
            (channel 9 is the GM drum kit).
        duration : float [seconds]
            Output length (notes beyond it are cut).
        programs : dict of int to int
            Channel -> GM program (0-127); for channel 9 the drum kit number.
        soundfont : str or None
            Name of a loaded soundfont; default the first one.
        controls : sequence of (time, channel, cc, value)
            Extra MIDI control changes (volume, pan, expression ...).
        bends : sequence of (time, channel, value)
            Pitch-bend events, value -8192..8191 (0: none; 4096 = one semitone
            with the default bend range of two semitones).

        Returns
        -------
        y : np.ndarray [shape=(n,)], float32
        onsets : np.ndarray [shape=(len(notes),)], float [seconds]
            The exact (block-quantised) note-on time of each input note, in
            input order; ``nan`` for notes that start after ``duration``.
        """
        sfid = self.sfids[soundfont] if soundfont is not None else next(iter(self.sfids.values()))
        # FluidSynth voice objects keep a little state (filter history) from
        # their last note, so the first ~30 ms of a render would depend on the
        # previous render: a fixed primer that occupies every voice first makes
        # each render depend on its own input only.
        self._reset()
        first = next(iter(self.sfids.values()))
        self._fs.program_select(0, first, 0, 0)
        for key in range(POLYPHONY // 2):  # stereo piano: two voices per note
            self._fs.noteon(0, 30 + key, 100)
        buf = np.empty(2 * BLOCK, dtype=np.float32)
        self._render_into(buf, buf.copy(), 0, buf.size)
        self._reset()
        for ch, prog in programs.items():
            bank = 128 if ch == 9 else 0
            self._fs.program_select(int(ch), sfid, bank, int(prog))
        n_total = int(np.ceil(duration * self.sr / BLOCK)) * BLOCK
        # events: (sample, order, kind, a, b, c); offs (order 0) before ons (order 2)
        events = []
        onsets = np.full(len(notes), np.nan)
        for i, (start, end, pitch, vel, ch) in enumerate(notes):
            s = int(round(start * self.sr / BLOCK)) * BLOCK
            if s >= n_total:
                continue
            e = max(s + BLOCK, int(round(end * self.sr / BLOCK)) * BLOCK)
            onsets[i] = s / self.sr
            events.append((s, 2, 0, int(ch), int(pitch), int(vel)))
            if e < n_total:
                events.append((e, 0, 1, int(ch), int(pitch), 0))
        for t, ch, cc, val in controls:
            s = int(round(t * self.sr / BLOCK)) * BLOCK
            if s < n_total:
                events.append((s, 1, 2, int(ch), int(cc), int(val)))
        for t, ch, val in bends:
            s = int(round(t * self.sr / BLOCK)) * BLOCK
            if s < n_total:
                events.append((s, 1, 3, int(ch), int(np.clip(val, -8192, 8191)), 0))
        events.sort()
        left = np.zeros(n_total, dtype=np.float32)
        right = np.zeros(n_total, dtype=np.float32)
        pos = 0
        for s, _, kind, a, b, c in events:
            if s > pos:
                self._render_into(left, right, pos, s - pos)
                pos = s
            if kind == 0:
                self._fs.noteon(a, b, max(1, min(127, c)))
            elif kind == 1:
                self._fs.noteoff(a, b)
            elif kind == 2:
                self._fs.cc(a, b, c)
            else:
                self._fs.pitch_bend(a, b)
        if n_total > pos:
            self._render_into(left, right, pos, n_total - pos)
        self._reset()
        n = int(round(duration * self.sr))
        y = 0.5 * (left[:n] + right[:n])
        return y.astype(np.float32), onsets

    def close(self):
        """Free the synth."""
        if getattr(self, "_fs", None) is not None:
            self._fs.delete()
            self._fs = None


# ---------------------------------------------------------------------------
# TTS


@dataclass(frozen=True)
class Voice:
    """A TTS voice.

    Attributes
    ----------
    engine : str
        ``"flite"``, ``"festival"``, ``"espeak-ng"`` or ``"mbrola"`` (MBROLA
        through espeak-ng).
    name : str
        Engine-specific voice name (``"slt"``, ``"kal_diphone"``,
        ``"en-us+f3"``, ``"mb-us1"``).
    quality : str
        ``"natural"`` (diphone/unit voices) or ``"formant"`` (espeak-ng; robotic,
        for variety only).
    """

    engine: str
    name: str
    quality: str = "natural"

    @property
    def key(self):
        """``engine:name`` (str)."""
        return f"{self.engine}:{self.name}"


FLITE_VOICES = ("slt", "awb", "rms", "kal16")
MBROLA_VOICES = ("us1", "us2", "us3", "en1")
ESPEAK_VOICES = ("en-us+m3", "en-us+f2", "en+m1", "en-gb-x-rp+f4", "en-us+m7", "en-029+f3")
MBROLA_DIRS = ("/usr/share/mbrola", "/usr/lib/mbrola", "/usr/local/share/mbrola")
# festival voice -> default mean F0 [Hz] of its intonation model (int_lr_params)
FESTIVAL_VOICES = {"kal_diphone": 105.0}
FESTIVAL_DIRS = ("/usr/share/festival/voices", "/usr/local/share/festival/voices")


def _flite_voices():
    exe = shutil.which("flite")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-lv"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    have = set(out.replace("Voices available:", "").split())
    return [Voice("flite", v) for v in FLITE_VOICES if v in have]


def _mbrola_voices():
    if shutil.which("espeak-ng") is None or shutil.which("mbrola") is None:
        return []
    out = []
    for v in MBROLA_VOICES:
        if any((Path(d) / v / v).is_file() or (Path(d) / v).is_file() for d in MBROLA_DIRS):
            out.append(Voice("mbrola", f"mb-{v}"))
    return out


def _festival_voices():
    if shutil.which("text2wave") is None:
        return []
    out = []
    for v in FESTIVAL_VOICES:
        if any(p.is_dir() for d in FESTIVAL_DIRS for p in Path(d).glob(f"*/{v}")):
            out.append(Voice("festival", v))
    return out


def festival_text(text):
    """Text festival reads safely: letters, digits, apostrophes and . , ? ! only.

    Festival crashes (segfaults) on some punctuation and symbols, so everything
    else becomes a space (str).
    """
    import re

    return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9'.,?! ]", " ", text)).strip()


def _espeak_voices():
    if shutil.which("espeak-ng") is None:
        return []
    return [Voice("espeak-ng", v, quality="formant") for v in ESPEAK_VOICES]


def list_voices(engines=("flite", "festival", "mbrola", "espeak-ng")):
    """Installed English TTS voices.

    Parameters
    ----------
    engines : sequence of str
        Engines to look at.

    Returns
    -------
    voices : list of Voice
        Possibly empty; callers raise :class:`EngineUnavailable` if they need one.
    """
    found = []
    for eng in engines:
        if eng == "flite":
            found += _flite_voices()
        elif eng == "festival":
            found += _festival_voices()
        elif eng == "mbrola":
            found += _mbrola_voices()
        elif eng == "espeak-ng":
            found += _espeak_voices()
        else:
            raise ValueError(f"unknown TTS engine {eng!r}")
    return found


def tts(voice, text, *, rate=1.0, pitch=1.0, timeout=60.0):
    """Speak ``text`` with ``voice``.

    Parameters
    ----------
    voice : Voice
    text : str
        Sanitized text (see :func:`audiodl.data.synth.text.sanitize`).
    rate : float
        Speaking-rate factor (1 = the voice's default; >1 faster).
    pitch : float
        Pitch factor (1 = default).
    timeout : float [seconds]

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32
    sr : int [Hz]

    Raises
    ------
    EngineUnavailable
        When the engine's binary is missing or fails.
    """
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="audiodl-tts-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        if voice.engine == "flite":
            exe = shutil.which("flite")
            if exe is None:
                raise EngineUnavailable(f"flite is not installed; {INSTALL_HINT}")
            f0 = {"slt": 160.0, "awb": 110.0, "rms": 100.0, "kal16": 105.0}.get(voice.name, 120.0)
            cmd = [exe, "-voice", voice.name, "--setf", f"duration_stretch={1.0 / rate:.3f}",
                   "--setf", f"int_f0_target_mean={f0 * pitch:.1f}", "-t", text, "-o", wav]
        elif voice.engine == "festival":
            exe = shutil.which("text2wave")
            if exe is None:
                raise EngineUnavailable(f"festival (text2wave) is not installed; {INSTALL_HINT}")
            txt = os.path.join(tmp, "in.txt")
            with open(txt, "w", encoding="ascii", errors="replace") as fh:
                fh.write(festival_text(text) + "\n")
            f0 = FESTIVAL_VOICES.get(voice.name, 105.0)
            # -eval runs after the default voice is loaded: select ours, then
            # override its speaking rate and intonation target
            cmd = [exe, txt, "-o", wav, "-eval", f"(voice_{voice.name})",
                   "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / rate:.3f})",
                   "-eval", (f"(set! int_lr_params '((target_f0_mean {f0 * pitch:.1f}) (target_f0_std 14)"
                             " (model_f0_mean 170) (model_f0_std 34)))")]
        elif voice.engine in ("espeak-ng", "mbrola"):
            exe = shutil.which("espeak-ng")
            if exe is None:
                raise EngineUnavailable(f"espeak-ng is not installed; {INSTALL_HINT}")
            wpm = int(round(160 * rate))
            pit = int(np.clip(round(50 * pitch), 0, 99))
            cmd = [exe, "-v", voice.name, "-s", str(wpm), "-p", str(pit), "-w", wav, "--", text]
        else:
            raise ValueError(f"unknown TTS engine {voice.engine!r}")
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineUnavailable(f"{voice.key} failed to run: {exc}") from None
        if proc.returncode != 0 or not os.path.exists(wav) or os.path.getsize(wav) <= 44:
            err = proc.stderr.decode(errors="replace").strip()[-300:]
            raise EngineUnavailable(f"{voice.key} produced no audio (exit {proc.returncode}): {err}")
        y, sr = sf.read(wav, dtype="float32", always_2d=False)
    if y.ndim > 1:
        y = y.mean(axis=1)
    return y.astype(np.float32), int(sr)
