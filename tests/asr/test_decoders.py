"""CTC decoders, word timestamps and the project n-gram LM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiodl.decoders.ctc import (BeamSearch, greedy_decode, text_to_ids, tokens_to_text,
                                  word_timestamps)
from audiodl.models.asr import DEFAULT_TOKENS as TOKENS

from .conftest import peaked_emission


def test_tokens_roundtrip_keeps_double_letters():
    ids = text_to_ids("hello all", TOKENS)
    path = []
    for i in ids:
        path += [i, 0]
    assert tokens_to_text(path, TOKENS) == "hello all"
    assert tokens_to_text([ids[2], ids[2]], TOKENS) == "l"  # repeats without a blank merge


def test_greedy_and_beam_agree_on_peaked_emission(tmp_path):
    from audiodl.data.lm import build_arpa
    text = "the old house is quiet"
    lp, _ = peaked_emission(text, TOKENS)
    assert greedy_decode(lp, TOKENS) == text
    assert BeamSearch(TOKENS, beam_size=10)(lp) == text  # lexicon-free, no LM
    arpa = build_arpa(["the old house is quiet", "the house is old", "a quiet house"],
                      tmp_path / "lm.arpa", order=3)
    assert BeamSearch(TOKENS, lm=arpa, beam_size=10, lm_weight=0.5)(lp) == text


def test_lm_corrects_an_ambiguous_letter(tmp_path):
    """Where the acoustics are unsure, the lexicon + LM pick the word it knows."""
    from audiodl.data.lm import build_arpa
    lp, path = peaked_emission("the old house", TOKENS)
    k = np.nonzero(path == TOKENS.index("u"))[0]  # 'u' of house: make 'u'/'s' a coin toss
    lp[k] = np.log(1e-4)
    lp[k, TOKENS.index("u")] = np.log(0.45)
    lp[k, TOKENS.index("s")] = np.log(0.55)
    assert greedy_decode(lp, TOKENS) == "the old hosse"
    arpa = build_arpa(["the old house"] * 5 + ["an old horse"], tmp_path / "lm.arpa")
    assert BeamSearch(TOKENS, lm=arpa, beam_size=20, lm_weight=1.0)(lp) == "the old house"


def test_word_timestamps_inside_the_word_frames():
    text = "one two three"
    fps = 50.0
    lp, path = peaked_emission(text, TOKENS, frames_per_token=2, gap=3)
    words, times = word_timestamps(lp, text, TOKENS, fps=fps)
    assert words == ("one", "two", "three")
    sep = TOKENS.index("|")
    # true spans: first to last non-blank, non-separator frame of each word
    nz = [(t, p) for t, p in enumerate(path) if p not in (0, sep)]
    spans, cur = [], [nz[0][0], nz[0][0]]
    for (t, _), (t2, _) in zip(nz, nz[1:]):
        if any(path[u] == sep for u in range(t, t2)):
            spans.append(cur)
            cur = [t2, t2]
        else:
            cur[1] = t2
    spans.append(cur)
    for (s, e), (ts, te) in zip(times, spans):
        assert s == pytest.approx(ts / fps) and e == pytest.approx((te + 1) / fps)


def test_word_timestamps_too_few_frames():
    from audiodl.errors import ParameterError
    lp, _ = peaked_emission("ab", TOKENS)
    with pytest.raises(ParameterError):
        word_timestamps(lp[:2], "a long text", TOKENS, fps=50.0)


def _read_arpa(path):
    probs, bows, order = {}, {}, 0
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("\\") and "-grams" in line:
            order = int(line[1])
            continue
        if not order or not line or line.startswith("\\"):
            continue
        parts = line.split("\t")
        g = tuple(parts[1].split())
        probs[g] = 10 ** float(parts[0])
        if len(parts) > 2:
            bows[g] = 10 ** float(parts[2])
    return probs, bows


def test_kneser_ney_arpa_is_normalised(tmp_path):
    from audiodl.data.lm import arpa_vocabulary, build_arpa, synth_text
    sents = synth_text(300, seed=3)
    arpa = build_arpa(sents, tmp_path / "kn.arpa", order=3)
    probs, bows = _read_arpa(arpa)

    def p(g):
        if g in probs:
            return probs[g]
        if len(g) == 1:
            return probs[("<unk>",)]
        return bows.get(g[:-1], 1.0) * p(g[1:])
    vocab = [g[0] for g in probs if len(g) == 1 and g[0] != "<s>"]
    w1, w2 = sents[0].split()[:2]
    for h in [(), ("<s>",), (w1,), ("<s>", w1), (w1, w2), ("zzz", w1)]:
        assert math.isclose(sum(p(h + (w,)) for w in vocab), 1.0, abs_tol=1e-4), h
    assert set(arpa_vocabulary(arpa)) == {w for s in sents for w in s.split()}


def test_beam_search_equals_torchaudio_ctc_decoder_and_path_times(tmp_path):
    """flashlight-text called directly = torchaudio's ctc_decoder (same text), and the
    word times read off the path equal forced alignment on a clean emission."""
    torch = pytest.importorskip("torch")
    decoder_mod = pytest.importorskip("torchaudio.models.decoder")
    from audiodl.data.lm import build_arpa, lexicon_for
    from audiodl.decoders.ctc import path_word_times
    text = "the old house is quiet"
    arpa = build_arpa([text, "the house is old", "a quiet house", "an old horse"],
                      tmp_path / "lm.arpa", order=3)
    lexicon = str(lexicon_for(arpa, tokens=TOKENS))
    ref = decoder_mod.ctc_decoder(lexicon=lexicon, tokens=list(TOKENS), lm=str(arpa),
                                  nbest=1, beam_size=20, beam_threshold=25.0, lm_weight=0.7,
                                  word_score=0.0, unk_word="<unk>", unk_score=float("-inf"),
                                  sil_score=0.0, blank_token=TOKENS[0], sil_token="|")
    ours = BeamSearch(TOKENS, lm=arpa, lexicon=lexicon, beam_size=20, lm_weight=0.7)
    lp0, _ = peaked_emission(text, TOKENS)
    rng = np.random.default_rng(0)
    for noise in (0.0, 1.0, 2.0, 3.0):
        lp = lp0 + noise * rng.normal(size=lp0.shape).astype(np.float32)
        lp = (lp - np.log(np.exp(lp).sum(axis=1, keepdims=True))).astype(np.float32)
        hyp = ref(torch.from_numpy(lp)[None])[0][0]
        got, path = ours.decode(lp)
        assert got == " ".join(w for w in hyp.words if w)
    got, path = ours.decode(lp0)
    assert got == text
    _, forced = word_timestamps(lp0, text, TOKENS, fps=50.0)
    # the beam path may end a word one frame apart from forced alignment where the
    # two readings score equally (it did for some hash seeds); at most one frame
    np.testing.assert_allclose(path_word_times(path, text, TOKENS, fps=50.0), forced,
                               atol=1 / 50.0 + 1e-9)
    greedy_path = lp0.argmax(axis=1)
    np.testing.assert_allclose(path_word_times(greedy_path, text, TOKENS, fps=50.0), forced)
    assert path_word_times(greedy_path, "other words", TOKENS, fps=50.0) is None


def test_split_points_cover_the_input_in_bounded_pieces_cut_in_blanks():
    from audiodl.decoders.ctc import split_points
    lp, path = peaked_emission("one two three four five six seven eight nine ten", TOKENS,
                               gap=6)
    space = TOKENS.index("|")
    pieces = split_points(lp, 60, (0, space))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(lp)
    assert all(b == c for (_, b), (c, _) in zip(pieces[:-1], pieces[1:]))
    assert all(0 < b - a <= 60 for a, b in pieces) and len(pieces) > 3
    # every cut falls in a pause between two words (a run holding the separator)
    for a, _ in pieces[1:]:
        lo, hi = a, a
        while path[lo - 1] in (0, space):
            lo -= 1
        while path[hi] in (0, space):
            hi += 1
        assert space in path[lo:hi]
    assert split_points(lp, len(lp)) == [(0, len(lp))]
    hard = np.zeros((100, len(TOKENS)), np.float32)
    hard[:, 1] = 1.0  # no blank anywhere: hard cuts at the window length
    assert split_points(hard, 30) == [(0, 30), (30, 60), (60, 90), (90, 100)]


def test_long_inputs_decode_piecewise_to_the_same_words(tmp_path):
    """Beam search in pieces (bounded memory) reads the same words when cuts fall in
    pauses; the path still has one token per frame."""
    text = "one two three four five six seven eight nine ten"
    lp, _ = peaked_emission(text, TOKENS, gap=6)
    whole = BeamSearch(TOKENS, beam_size=10, max_frames=10 ** 6)
    pieces = BeamSearch(TOKENS, beam_size=10, max_frames=60)
    assert whole(lp) == text
    got, path = pieces.decode(lp)
    assert got == text and len(path) == len(lp)
    from audiodl.data.lm import build_arpa
    arpa = build_arpa([text, "one two three", "seven eight nine ten"], tmp_path / "lm.arpa",
                      order=3)
    assert BeamSearch(TOKENS, lm=arpa, beam_size=10, max_frames=60)(lp) == text
