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

Scores are computed by :mod:`audiodl.evaluation` (``onsets``, ``asr``); this
module only runs the classical systems.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

__all__ = ["onset_scores", "asr_wer", "asr_wer_voices"]

logger = logging.getLogger(__name__)


def onset_scores(manifest, *, n=None, window=0.05):
    """librosa onset detection scored against the corpus labels.

    Scores come from :mod:`audiodl.evaluation.onsets` (mir_eval matching
    within ``window``; an empty reference or estimate scores 0, mir_eval's
    convention).

    Parameters
    ----------
    manifest : str or os.PathLike
        Manifest whose items have an ``onsets`` annotation.
    n : int or None
        Score only the first ``n`` items.
    window : float [seconds]
        Half-width of the matching window.

    Returns
    -------
    scores : dict
        ``f_mean`` (mean over files), ``f_sum``/``precision_sum``/``recall_sum``
        (over all events), ``n_files``, ``n_ref``.
    """
    import librosa

    from audiodl.data.manifest import read_manifest
    from audiodl.evaluation.onsets import evaluate, summarize
    from audiodl.io.annotations import read_events
    from audiodl.io.audio import load

    items = read_manifest(manifest)[:n]
    per_file = []
    for it in items:
        y, sr = load(it["audio"], sr=None)
        ref = read_events(it["annotations"]["onsets"])
        est = librosa.onset.onset_detect(y=y, sr=sr, units="time")
        per_file.append(evaluate(ref, est, window=window, combine=0.0,
                                 duration=len(y) / sr))
    s = summarize(per_file)
    return {"f_mean": s["mean"]["f_measure"], "f_sum": s["sum"]["f_measure"],
            "precision_sum": s["sum"]["precision"], "recall_sum": s["sum"]["recall"],
            "n_files": len(items), "n_ref": s["sum"]["n_ref"]}


class _Recogniser:
    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise RuntimeError("`pip install pocketsphinx` for the ASR realism check") from exc
        self.dec = Decoder(samprate=16000, loglevel="FATAL")

    def __call__(self, y, sr):
        """Raw hypothesis text (scoring normalises both sides alike)."""
        from audiodl.io.audio import resample

        if sr != 16000:
            y = resample(y, sr, 16000)
        pcm = (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()
        self.dec.start_utt()
        self.dec.process_raw(pcm, full_utt=True)
        self.dec.end_utt()
        hyp = self.dec.hyp()
        return hyp.hypstr if hyp is not None else ""


def asr_wer(manifest, *, n=None):
    """PocketSphinx WER on the first ``n`` items with a ``text``.

    Scored by :func:`audiodl.evaluation.asr.evaluate` (pooled over items,
    references and hypotheses normalised alike).

    Returns
    -------
    scores : dict
        ``wer`` (errors summed over items / reference words), ``n_items``,
        ``n_words``, plus the other keys of :func:`audiodl.evaluation.asr.evaluate`
        (``cer``, ``substitutions``, ``deletions``, ``insertions`` ...).
    """
    from audiodl.data.manifest import read_manifest
    from audiodl.evaluation import asr
    from audiodl.io.audio import load

    rec = _Recogniser()
    items = [it for it in read_manifest(manifest) if it.get("text")][:n]
    hyps = [rec(*load(it["audio"], sr=None)) for it in items]
    res = asr.evaluate([it["text"] for it in items], hyps)
    return {"wer": res["wer"], "n_items": len(items), "n_words": res["n_ref_words"], **res}


def asr_wer_voices(manifest, *, n=40):
    """WER of the real prompts vs the same texts spoken by every installed voice.

    Returns
    -------
    scores : dict
        ``real`` and one key per voice: pooled WER
        (:func:`audiodl.evaluation.asr.evaluate`); ``n_items``, ``n_words``.
    """
    from audiodl.data.manifest import read_manifest
    from audiodl.data.synth.engines import list_voices, tts
    from audiodl.data.synth.text import sanitize
    from audiodl.evaluation import asr
    from audiodl.io.audio import load

    rec = _Recogniser()
    items = [it for it in read_manifest(manifest) if it.get("text") and len(it["text"].split()) >= 3][:n]
    refs = [it["text"] for it in items]
    real = asr.evaluate(refs, [rec(*load(it["audio"], sr=None)) for it in items])
    out = {"real": real["wer"]}
    for v in list_voices():
        hyps = [rec(*tts(v, sanitize(it.get("meta", {}).get("raw_text", it["text"]))))
                for it in items]
        out[v.key] = asr.evaluate(refs, hyps)["wer"]
    out["n_items"] = len(items)
    out["n_words"] = real["n_ref_words"]
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
