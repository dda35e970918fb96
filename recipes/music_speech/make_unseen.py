"""Test mixtures of UNSEEN real speakers over unseen real music, with exact labels.

    python recipes/music_speech/make_unseen.py [--n 48] [--seed 0]

Speech: the klettres voices of the TEST languages (``audiodl data import
klettres``: en, en_GB, es, fr, he, nb, nl — one native speaker each, never in
training or validation), utterances strung one after another with 0.2-1.5 s
pauses, one speaker per mixture. Music: excerpts of the held-out game-music
TEST tracks (never trained on). Each 20 s mixture is one of

* ``overlay``: speech over music at a speech-to-music ratio of 0-25 dB (the
  training range), the music fading in or out in 40 % of them;
* ``alternation``: music and speech stretches taking turns (2.5-8 s each);
* ``speech``: speech alone (a floor of pink noise at 30-50 dB below it).

Labels come from the stems before mixing (frame RMS within 35 dB of the
stem's active level; gaps under 0.3 s (speech) / 0.5 s (music) closed), as in
``audiodl synth musicspeech``; speech frames must also lie more than
:data:`FLOOR_DB` above the noise floor of their own recording (the klettres
files carry a floor 30-50 dB below the voice, which the 35 dB rule alone
labelled speech: up to the whole file); the mixture then gets the same random
augmentation (EQ, reverb, noise, codec). Writes
``musicspeech/unseen/{audio,labels}`` and ``musicspeech/test_unseen.jsonl``
under the data root; items have ``source`` ``unseen`` and ``split`` ``test``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SR = 22050
DURATION = 20.0
KINDS = ("overlay", "alternation", "speech")
KIND_P = (0.5, 0.3, 0.2)


def _load(path, sr=SR):
    from audiodl.io.audio import load
    y, _ = load(path, sr)
    return np.asarray(y, dtype=np.float32)


#: speech labels: frames more than this above each utterance's noise floor (and within 35 dB
#: of its active level); the klettres recordings carry a noise floor 30-50 dB below the voice
FLOOR_DB = 10.0


def utterance_mask(y, sr=SR, *, floor_db=FLOOR_DB):
    """Per-sample speech mask of one real utterance: active frames above its noise floor."""
    from audiodl.data.synth.common import activity
    act, hop = activity(y, sr, floor_db=floor_db)
    return np.repeat(act, hop)[:len(y)] if len(act) else np.zeros(len(y), bool)


def _speech_track(rng, utts, n, *, start=(0.0, 1.0), masks=None, gate=None):
    """Utterances one after another; with ``masks``, ORs each one's speech mask into ``gate``."""
    track = np.zeros(n, dtype=np.float32)
    t = int(rng.uniform(*start) * SR)
    while t < n - int(0.5 * SR):
        k = int(rng.integers(len(utts)))
        y = utts[k]
        b = min(n, t + len(y))
        track[t:b] += y[:b - t] * float(10 ** (rng.uniform(-4, 4) / 20))
        if masks is not None:
            gate[t:b] |= masks[k][:b - t]
        t = b + int(rng.uniform(0.2, 1.5) * SR)
    return track


def make(n_items, seed, out_dir, split="test"):
    from audiodl.data.augment import add_noise, random_augment
    from audiodl.data.manifest import read_manifest, write_manifest, write_segments
    from audiodl.data.paths import resolve_data_path
    from audiodl.data.synth.common import activity_segments, fade, save_audio
    rng = np.random.default_rng(seed)
    kl = [it for it in read_manifest(resolve_data_path("real/klettres/manifest.jsonl"))
          if it["split"] == split]
    gm = [it for it in read_manifest(resolve_data_path("real/game-music/manifest.jsonl"))
          if it["split"] == split]
    if not kl or not gm:
        raise SystemExit("import klettres and game-music first (recipes/data/make_musicspeech.sh)")
    speakers = sorted({it["speaker"] for it in kl})
    utts = {s: [_load(it["audio"]) for it in kl if it["speaker"] == s] for s in speakers}
    masks = {s: [utterance_mask(y) for y in ys] for s, ys in utts.items()}
    music = [(it["id"], _load(it["audio"])) for it in gm]
    n = int(DURATION * SR)
    items = []
    out_dir = Path(out_dir)
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    for i in range(n_items):
        kind = KINDS[int(rng.choice(len(KINDS), p=KIND_P))]
        spk = speakers[i % len(speakers)]
        mid, track = music[int(rng.integers(len(music)))]
        a = int(rng.integers(0, max(1, len(track) - n)))
        bed = np.resize(track[a:a + n], n).astype(np.float32)
        speech = np.zeros(n, np.float32)
        gate = np.zeros(n, bool)  # where the voice is above its recording's noise floor
        mus = np.zeros(n, np.float32)
        if kind == "overlay":
            speech = _speech_track(rng, utts[spk], n, masks=masks[spk], gate=gate)
            s0 = float(rng.uniform(0, DURATION * 0.3)) if rng.random() < 0.4 else 0.0
            s1 = float(rng.uniform(DURATION * 0.7, DURATION)) if rng.random() < 0.4 else DURATION
            seg = fade(bed[int(s0 * SR):int(s1 * SR)].copy(), SR,
                       fade_in=float(rng.uniform(0.05, 1.5)) if s0 > 0 else 0.0,
                       fade_out=float(rng.uniform(0.05, 1.5)) if s1 < DURATION else 0.0)
            mus[int(s0 * SR):int(s0 * SR) + len(seg)] = seg
            smr = float(rng.uniform(0.0, 25.0))
            rms_s = np.sqrt(np.mean(speech[np.abs(speech) > 0] ** 2)) + 1e-9
            rms_m = np.sqrt(np.mean(mus[np.abs(mus) > 0] ** 2)) + 1e-9
            mus *= rms_s / rms_m * 10 ** (-smr / 20)
        elif kind == "alternation":
            t, turn = 0.0, "music" if rng.random() < 0.5 else "speech"
            while t < DURATION - 1.0:
                length = min(float(rng.uniform(2.5, 8.0)), DURATION - t)
                a, b = int(t * SR), int((t + length) * SR)
                if turn == "music":
                    mus[a:b] = fade(bed[a:b].copy(), SR, fade_in=0.3, fade_out=0.5)
                else:
                    g = np.zeros(b - a, bool)
                    speech[a:b] = _speech_track(rng, utts[spk], b - a, start=(0.0, 0.2),
                                                masks=masks[spk], gate=g)
                    gate[a:b] = g
                t += length + float(rng.uniform(0.0, 1.0))
                turn = "speech" if turn == "music" else "music"
        else:
            speech = _speech_track(rng, utts[spk], n, masks=masks[spk], gate=gate)
        segs = []
        if np.any(mus):
            segs += activity_segments(mus, SR, label="music", min_gap=0.5)
        if np.any(speech):
            segs += activity_segments(speech * gate, SR, label="speech", min_gap=0.3)
        segs.sort()
        mix = mus + speech
        if kind == "speech":
            mix = add_noise(mix, snr_db=float(rng.uniform(30, 50)), rng=rng)
        mix, aug = random_augment(mix, SR, rng, p_reverb=0.5, p_eq=0.5, p_noise=0.4,
                                  p_codec=0.15)
        iid = f"unseen{i:03d}" if split == "test" else f"mix{split}{i:03d}"
        save_audio(out_dir / "audio" / f"{iid}.flac", mix, SR)
        write_segments(out_dir / "labels" / f"{iid}.lab", segs)
        items.append({"id": iid, "audio": f"audio/{iid}.flac", "duration": DURATION, "sr": SR,
                      "split": split, "task": "musicspeech",
                      "source": "unseen" if split == "test" else "klettres-mix",
                      "labels": sorted({s[2] for s in segs}),
                      "annotations": {"segments": f"labels/{iid}.lab"},
                      "meta": {"kind": kind, "speaker": spk, "music": mid, "augment": aug}})
    return write_manifest(out_dir / "manifest.jsonl", items)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="test", choices=["test", "valid"],
                    help="valid: the same kind of mixtures of the VALIDATION speakers and music "
                         "(musicspeech/valid_mix/manifest.jsonl, merged into valid.jsonl by "
                         "make_musicspeech.sh) so the decoder is tuned on such mixtures too")
    args = ap.parse_args(argv)
    from audiodl.data.manifest import read_manifest, write_manifest
    from audiodl.data.paths import data_root
    if args.split == "valid":
        print(make(args.n, args.seed, Path(data_root()) / "musicspeech" / "valid_mix", "valid"))
        return
    out = Path(data_root()) / "musicspeech" / "unseen"
    man = make(args.n, args.seed, out)
    merged = Path(data_root()) / "musicspeech" / "test_unseen.jsonl"
    write_manifest(merged, read_manifest(man))  # paths relative to the merged manifest
    print(merged)


if __name__ == "__main__":
    main()
