"""Stage 6: results table (mean ± spread over seeds) from the runs and peers.

    python recipes/music_speech/summarize.py > recipes/music_speech/work/results.md

Spread = half the range (max - min) / 2 over seeds; single-seed rows show no spread.
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


#: run folders under WORK/runs, in table order (the musicspeech_tcn_* issue-16 candidates are not shipped)
ARCHS = ("lidy2015", "musicspeech_cnn", "musicspeech_tcn", "musicspeech_tcn_long",
         "musicspeech_tcn_neither", "musicspeech_tcn_machinery", "musicspeech_tcn_machinery_w64",
         "musicspeech_tcn_machinery_s3d")


def _fmt(vals, pct=True, nd=2):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    k = 100.0 if pct else 1.0
    m = np.mean(vals) * k
    if len(vals) == 1:
        return f"{m:.{nd}f}"
    return f"{m:.{nd}f} ± {(max(vals) - min(vals)) / 2 * k:.{nd}f} (n={len(vals)})"


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def main():
    runs = common.WORK / "runs"
    print("### File classification (MIREX 2015 protocol), test split, accuracy %\n")
    print("| system | real: all (541 files) | asterisk-en (56) | asterisk-es (478) | "
          "game-music (7 tracks) | synthetic single-class clips | valid (real+synth) |")
    print("|---|---|---|---|---|---|---|")
    for arch in ARCHS:
        res = [common.read_json(p) for p in sorted(glob.glob(str(runs / arch / "seed*" /
                                                                  "test_classify.json")))]
        val = [common.read_json(p) for p in sorted(glob.glob(str(runs / arch / "seed*" /
                                                                  "valid_classify.json")))]
        if not res:
            continue
        cols = [_fmt([_get(r, k, "accuracy") for r in res])
                for k in ("real", "asterisk-en", "asterisk-es", "game-music", "synth")]
        vcol = _fmt([_get(v, "real", "n_correct") and
                     (_get(v, "real", "n_correct") + (_get(v, "synth", "n_correct") or 0)) /
                     (_get(v, "real", "n_files") + (_get(v, "synth", "n_files") or 0))
                     for v in val])
        print(f"| {arch} | " + " | ".join(cols) + f" | {vcol} |")
    mf = common.WORK / "peers" / "mfcc.json"
    if mf.exists():
        r = common.read_json(mf)["test"]
        cols = [_fmt([_get(r, k, "accuracy")]) for k in ("real", "asterisk-en", "asterisk-es",
                                                         "game-music", "synth")]
        print("| MFCC stats + logistic regression (peer) | " + " | ".join(cols) + " | – |")
    pa = common.WORK / "peers" / "paa.json"
    if pa.exists():
        r = common.read_json(pa)["test_classify"]
        cols = [_fmt([_get(r, k, "accuracy")]) for k in ("real", "asterisk-en", "asterisk-es",
                                                         "game-music", "synth")]
        print("| pyAudioAnalysis 0.3.14 svm_rbf_sm (peer) | " + " | ".join(cols) + " | – |")
    print("| Lidy 2015, MIREX 2015 (published, other data) | 99.73 (MIREX hidden set) "
          "| | | | | |\n")

    print("### Detection (MIREX 2018 protocol), test split, frame level on a 10 ms grid, "
          "counts summed over files\n")
    print("| system | set | music P / R / F % | speech P / R / F % | "
          "speech event onset F (±0.5 s) | music event onset F |")
    print("|---|---|---|---|---|---|")
    for arch in ARCHS[2:]:
        res = [common.read_json(p) for p in sorted(glob.glob(str(runs / arch / "seed*" /
                                                                  "test_detect.json")))]
        for group in ("synth", "real"):
            if not res:
                continue
            m = " / ".join(_fmt([_get(r, group, f"music_{k}") for r in res], nd=1)
                           for k in ("precision", "recall", "f"))
            s = " / ".join(_fmt([_get(r, group, f"speech_{k}") for r in res], nd=1)
                           for k in ("precision", "recall", "f"))
            print(f"| {arch} | {group} | {m} | {s} | "
                  f"{_fmt([_get(r, group, 'speech_onset_f') for r in res], nd=1)} | "
                  f"{_fmt([_get(r, group, 'music_onset_f') for r in res], nd=1)} |")
    sp = common.WORK / "peers" / "silero.json"
    if sp.exists():
        r = common.read_json(sp)
        for group in ("synth", "real"):
            t = r["test"].get(group)
            if t:
                s = " / ".join(f"{100 * t[f'speech_{k}']:.1f}" for k in ("precision", "recall",
                                                                         "f"))
                print(f"| silero-vad (peer, threshold {r['threshold']} tuned on valid) | "
                      f"{group} | – | {s} | {100 * t['speech_onset_f']:.1f} | – |")
    if pa.exists():
        r = common.read_json(pa)["test_detect"]
        for group in ("synth", "real"):
            t = r.get(group)
            if t:
                m, s = (" / ".join(f"{100 * t[f'{c}_{k}']:.1f}" for k in ("precision", "recall",
                                                                          "f"))
                        for c in ("music", "speech"))
                print(f"| pyAudioAnalysis svm_rbf_sm (peer, 1 s mid-term labels) | {group} | "
                      f"{m} | {s} | {100 * t['speech_onset_f']:.1f} | "
                      f"{100 * t['music_onset_f']:.1f} |")
    neither_table(runs)
    unseen_table(runs)


def neither_table(runs):
    print("\n### Neither music nor speech (test files never trained on): share answered "
          "neither by classify, share of their time labelled music or speech by detect\n")
    groups = ("all", "generated", "sound-effects")
    print("| system | " + " | ".join(f"{g}: answered neither %" for g in groups)
          + " | all: time labelled music/speech % |")
    print("|---|" + "---|" * (len(groups) + 1))
    for arch in ARCHS:
        res = [common.read_json(p) for p in sorted(glob.glob(str(runs / arch / "seed*" /
                                                                  "test_neither.json")))]
        if res:
            cols = [_fmt([_get(r, g, "neither_accuracy") for r in res]) for g in groups]
            print(f"| {arch} | " + " | ".join(cols) + " | "
                  + _fmt([_get(r, "all", "labelled_share") for r in res]) + " |")
    sp = common.WORK / "peers" / "silero.json"
    if sp.exists() and "neither" in common.read_json(sp):
        r = common.read_json(sp)["neither"]
        print("| silero-vad (peer; files with no speech found) | "
              f"{100 * r['files_without_speech']:.2f} | | | {100 * r['speech_share']:.2f} "
              "(speech only) |")
    if (common.WORK / "peers" / "paa.json").exists():
        print("| pyAudioAnalysis svm_rbf_sm (peer) | 0.00 (no such answer) | | | 100 |")


def unseen_table(runs):
    print("\n### Unseen speakers over unseen music (make_unseen.py: klettres test speakers, "
          "held-out game music), frame level, counts summed\n")
    print("| system | seed | music P / R / F % | speech P / R / F % | speech event onset F |")
    print("|---|---|---|---|---|")
    for arch in ARCHS[2:]:
        for p in sorted(glob.glob(str(runs / arch / "seed*" / "test_unseen.json"))):
            t = common.read_json(p)["all"]
            m, s = (" / ".join(f"{100 * t[f'{c}_{k}']:.1f}" for k in ("precision", "recall", "f"))
                    for c in ("music", "speech"))
            seed = os.path.basename(os.path.dirname(p))
            print(f"| {arch} | {seed} | {m} | {s} | {100 * t['speech_onset_f']:.1f} |")
    for name, key in (("silero", "silero-vad (peer)"), ("paa", "pyAudioAnalysis (peer)")):
        f = common.WORK / "peers" / f"{name}.json"
        t = common.read_json(f).get("unseen") if f.exists() else None
        if t:
            m = " / ".join(f"{100 * t[f'music_{k}']:.1f}" for k in ("precision", "recall", "f")) \
                if "music_f" in t else "–"
            s = " / ".join(f"{100 * t[f'speech_{k}']:.1f}" for k in ("precision", "recall", "f"))
            print(f"| {key} | – | {m} | {s} | {100 * t['speech_onset_f']:.1f} |")


if __name__ == "__main__":
    main()
