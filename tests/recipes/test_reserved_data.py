"""No code, config or script reads audio from the packages ../shared/DATA.md reserves.

Those packages are kept for evaluation the project does not run itself, so shipped models are
judged on audio they could not have been fitted to. This test looks for the files they install
(paths and file names) in everything that runs, and for their apt names on the non-comment
lines of shell scripts and configs (prose that names a package as reserved is fine).
"""

from __future__ import annotations

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: reserved package -> (what code would have to name to read its files, its apt name(s))
RESERVED = {
    "asterisk-core-sounds-fr/it/ru": (r"asterisk/sounds/(fr|it|ru)\b",
                                      r"asterisk-core-sounds-(fr|it|ru)"),
    "pocketsphinx-testdata": (r"pocketsphinx/test", r"pocketsphinx-testdata"),
    "alsa-utils sounds": (r"/usr/share/sounds/alsa", None),
    "pico2wave / rhvoice": (r"pico2wave|\brhvoice", r"libttspico|rhvoice"),
    "festvox voices (rablpc16k, kdlpc16k, us-slt-hts)": (r"rablpc|kdlpc|us_slt_arctic_hts",
                                                         r"festvox-(rablpc16k|kdlpc16k|us-slt-hts)"),
    "musescore-general-soundfont": (r"MuseScore_General(_HQ)?\.sf[23]",
                                    r"musescore-general-soundfont(?!-small)"),
    "hydrogen-drumkits": (r"drumkits/(?!GMRockKit|TR808EmulationKit)\w", r"hydrogen-drumkits"),
    "avldrums.lv2-soundfont": (r"avldrums[\w.-]*\.sf2|/avldrums", r"avldrums"),
    "game music (warzone2100, ufoai, singularity, colobot, neverball, frozen-bubble, "
    "lincity-ng, pingus, fretsonfire-songs-sectoid)":
        (r"/usr/share/games/(warzone2100|ufoai|singularity|colobot|neverball|frozen-bubble|"
         r"lincity-ng|pingus)|songs/sectoid",
         r"warzone2100-music|ufoai-music|singularity-music|colobot-common-sounds|neverball-|"
         r"frozen-bubble-data|lincity-ng-data|pingus-data|fretsonfire-songs-sectoid"),
    "Sinsy voices": (r"\bsinsy\b", r"pysinsy"),
}

#: known exceptions, each with the README that explains it
KNOWN = {
    # the reduced build of the reserved MuseScore General; recipes/singing/README.md,
    # "A reserved-package caveat": to be replaced in the next singing round
    ("recipes/singing", "musescore-general-soundfont-small"),
}


def _code_files():
    for pattern in ("audiodl/**/*.py", "recipes/**/*.py", "recipes/**/*.sh",
                    "recipes/**/*.toml", "scripts/**/*", "bench/**/*.py", "tests/**/*.py",
                    ".ci/*"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.path.isfile(path) and os.path.abspath(path) != os.path.abspath(__file__):
                yield path


def test_reserved_patterns_match_the_package_files():
    # the patterns catch the paths a loader would use, and leave the allowed kits alone
    paths = {"/usr/share/hydrogen/data/drumkits/DeathMetal/x.flac": "hydrogen-drumkits",
             "/usr/share/sounds/sf3/MuseScore_General.sf3": "musescore-general-soundfont",
             "/usr/share/sounds/alsa/Noise.wav": "alsa-utils sounds",
             "/usr/share/asterisk/sounds/fr/hello.gsm": "asterisk-core-sounds-fr/it/ru"}
    for text, name in paths.items():
        assert [n for n, (p, _) in RESERVED.items() if re.search(p, text)] == [name], text
    assert re.search(RESERVED["musescore-general-soundfont"][1], "apt-get install musescore-general-soundfont")
    assert not re.search(RESERVED["musescore-general-soundfont"][1], "musescore-general-soundfont-small")
    for allowed in ("/usr/share/hydrogen/data/drumkits/GMRockKit",
                    "/usr/share/hydrogen/data/drumkits/TR808EmulationKit",
                    "/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/asterisk/sounds/en/x.gsm"):
        assert not any(re.search(p, allowed) for p, _ in RESERVED.values()), allowed


def test_no_code_reads_reserved_packages():
    found = []
    for path in _code_files():
        rel = os.path.relpath(path, ROOT)
        try:
            text = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        shell = path.endswith((".sh", ".toml")) or "/.ci/" in path or "/scripts/" in path
        for k, line in enumerate(text.splitlines(), 1):
            if shell and line.lstrip().startswith("#"):
                continue  # a comment saying what is not installed
            for name, (path_pat, apt_pat) in RESERVED.items():
                m = re.search(path_pat, line) or (shell and apt_pat and re.search(apt_pat, line))
                if m:
                    found.append(f"{rel}:{k}: {name} ({m.group(0)!r})")
    assert not found, "reserved packages named in code:\n" + "\n".join(found)


def test_known_exceptions_are_still_there():
    # an exception that no longer exists must be removed from KNOWN
    for folder, name in KNOWN:
        texts = [open(p, encoding="utf-8", errors="replace").read()
                 for p in glob.glob(os.path.join(ROOT, folder, "**", "*"), recursive=True)
                 if os.path.isfile(p)]
        assert any(name in t for t in texts), (folder, name)
