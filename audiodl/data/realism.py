"""Realism checks: classical detectors / recognisers on generated vs real data.

``python -m audiodl.data.realism onsets MANIFEST [-n N]``
    librosa's onset detector against the ``.onsets`` truth (mir_eval F-measure,
    +-50 ms), summed over events and averaged over files.
``python -m audiodl.data.realism asr MANIFEST [-n N]``
    PocketSphinx (``pip install pocketsphinx``; its US-English model, trained
    on real speech) word error rate against the manifest's ``text``.
``python -m audiodl.data.realism asr-voices REAL_MANIFEST [-n N]``
    The same N real prompts' texts re-spoken by every installed TTS voice:
    WER per voice vs the real recordings.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

__all__ = ["onset_scores", "word_errors", "asr_wer", "asr_wer_voices"]

logger = logging.getLogger(__name__)


def onset_scores(manifest, *, n=None, window=0.05):
    """librosa onset detection scored against the corpus labels.

    Returns
    -------
    scores : dict
        ``f_mean`` (mean over files), ``f_sum``/``precision_sum``/``recall_sum``
        (over all events), ``n_files``, ``n_ref``.
    """
    import librosa
    import mir_eval

    from audiodl.data.manifest import read_manifest, read_times
    from audiodl.io.audio import load

    items = read_manifest(manifest)[:n]
    fs, tp, n_ref, n_est = [], 0, 0, 0
    for it in items:
        y, sr = load(it["audio"], sr=None)
        ref = np.asarray(read_times(it["annotations"]["onsets"]))
        est = librosa.onset.onset_detect(y=y, sr=sr, units="time")
        f, p, r = mir_eval.onset.f_measure(ref, est, window=window)
        fs.append(f)
        matched = len(mir_eval.util.match_events(ref, est, window))
        tp += matched
        n_ref += len(ref)
        n_est += len(est)
    prec = tp / max(n_est, 1)
    rec = tp / max(n_ref, 1)
    return {"f_mean": float(np.mean(fs)), "f_sum": 2 * prec * rec / max(prec + rec, 1e-12),
            "precision_sum": prec, "recall_sum": rec, "n_files": len(items), "n_ref": n_ref}


def word_errors(ref, hyp):
    """Word-level Levenshtein distance (int) between two strings."""
    r, h = ref.split(), hyp.split()
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev = d.copy()
        d[0] = i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[len(h)])


class _Recogniser:
    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise RuntimeError("`pip install pocketsphinx` for the ASR realism check") from exc
        self.dec = Decoder(samprate=16000, loglevel="FATAL")

    def __call__(self, y, sr):
        from audiodl.data.synth.text import normalize_transcript
        from audiodl.io.audio import resample

        if sr != 16000:
            y = resample(y, sr, 16000)
        pcm = (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()
        self.dec.start_utt()
        self.dec.process_raw(pcm, full_utt=True)
        self.dec.end_utt()
        hyp = self.dec.hyp()
        return normalize_transcript(hyp.hypstr if hyp is not None else "")


def _norm_ref(text):
    from audiodl.data.synth.text import normalize_transcript

    return normalize_transcript(text)


def asr_wer(manifest, *, n=None):
    """PocketSphinx WER on the first ``n`` items with a ``text``.

    Returns
    -------
    scores : dict
        ``wer`` (errors summed over items / reference words), ``n_items``, ``n_words``.
    """
    from audiodl.data.manifest import read_manifest
    from audiodl.io.audio import load

    rec = _Recogniser()
    items = [it for it in read_manifest(manifest) if it.get("text")][:n]
    errs = words = 0
    for it in items:
        y, sr = load(it["audio"], sr=None)
        ref = _norm_ref(it["text"])
        errs += word_errors(ref, rec(y, sr))
        words += len(ref.split())
    return {"wer": errs / max(words, 1), "n_items": len(items), "n_words": words}


def asr_wer_voices(manifest, *, n=40):
    """WER of the real prompts vs the same texts spoken by every installed voice."""
    from audiodl.data.manifest import read_manifest
    from audiodl.data.synth.engines import list_voices, tts
    from audiodl.data.synth.text import sanitize
    from audiodl.io.audio import load

    rec = _Recogniser()
    items = [it for it in read_manifest(manifest) if it.get("text") and len(it["text"].split()) >= 3][:n]
    refs = [_norm_ref(it["text"]) for it in items]
    out = {}
    errs = sum(word_errors(r, rec(*load(it["audio"], sr=None))) for r, it in zip(refs, items))
    words = sum(len(r.split()) for r in refs)
    out["real"] = errs / max(words, 1)
    for v in list_voices():
        errs = 0
        for r, it in zip(refs, items):
            text = sanitize(it.get("meta", {}).get("raw_text", it["text"]))
            y, sr = tts(v, text)
            errs += word_errors(r, rec(y, sr))
        out[v.key] = errs / max(words, 1)
    out["n_items"] = len(items)
    out["n_words"] = words
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m audiodl.data.realism", description=__doc__.split("\n")[0])
    ap.add_argument("check", choices=["onsets", "asr", "asr-voices"])
    ap.add_argument("manifest")
    ap.add_argument("-n", type=int, default=None)
    args = ap.parse_args(argv)
    if args.check == "onsets":
        res = onset_scores(args.manifest, n=args.n)
    elif args.check == "asr":
        res = asr_wer(args.manifest, n=args.n)
    else:
        res = asr_wer_voices(args.manifest, n=args.n or 40)
    print(json.dumps(res, indent=2))  # noqa: T201 (command-line output)


if __name__ == "__main__":  # pragma: no cover
    main()
