"""WER/CER (jiwer) against hand-counted alignments, normalisation and conventions."""

import pytest

from audiodl.errors import ParameterError
from audiodl.evaluation.asr import cer, evaluate, normalize, wer


def test_normalize():
    assert normalize("  Hello,   WORLD!  ") == "hello world"
    assert normalize("Well-known—isn't it? 50% / e.g.") == "well known isnt it 50 eg"
    assert normalize("") == ""
    with pytest.raises(ParameterError, match="transcript string"):
        normalize(None)


def test_wer_hand_counted():
    # the cat sat on the mat -> the cat sit on mat: 1 substitution, 1 deletion / 6 words
    assert wer("the cat sat on the mat", "the cat sit on mat") == pytest.approx(2 / 6)
    # 1 insertion / 2 words
    assert wer("hello world", "hello big world") == pytest.approx(1 / 2)
    # more errors than words: all substituted plus two insertions
    assert wer("a b", "c d e f") == pytest.approx(4 / 2)
    # normalisation is applied to both sides alike
    assert wer("Hello, World!", "hello world") == 0.0
    assert wer("Hello, World!", "hello world", normalized=False) == 1.0


def test_cer_hand_counted():
    assert cer("abcd", "abxd") == pytest.approx(1 / 4)
    # spaces count: "ab cd" (5 chars) -> "abcd": one deletion
    assert cer("ab cd", "abcd") == pytest.approx(1 / 5)
    assert cer("Ab-c", "ab c") == 0.0


def test_evaluate_pools_over_utterances():
    refs = ["the cat sat", "a b c d e f g"]         # 3 + 7 = 10 words
    hyps = ["the cat sat down", "a x c e f g"]       # 1 ins; 1 sub + 1 del
    r = evaluate(refs, hyps)
    assert (r["substitutions"], r["deletions"], r["insertions"]) == (1, 1, 1)
    assert r["hits"] == 8 and r["n_ref_words"] == 10 and r["n_hyp_words"] == 10
    assert r["wer"] == pytest.approx(3 / 10)          # pooled, not the mean of 1/3 and 2/7
    assert r["n_utterances"] == 2
    # characters: "the cat sat" (11) + "a b c d e f g" (13) = 24 reference characters;
    # " down" inserted (5); "b"->"x" (1 sub) and "d " deleted (2)
    assert r["n_ref_chars"] == 24
    assert (r["char_substitutions"], r["char_deletions"], r["char_insertions"]) == (1, 2, 5)
    assert r["cer"] == pytest.approx(8 / 24)


def test_empty_reference_convention():
    # an empty reference adds its hypothesis words as insertions, nothing to the length
    r = evaluate(["", "a b"], ["x", "a b"])
    assert r["insertions"] == 1 and r["n_ref_words"] == 2 and r["wer"] == 0.5
    # all references empty: WER is the number of inserted words (jiwer's convention)
    assert wer("", "") == 0.0
    assert wer("", "two words") == 2.0
    assert wer("...", "") == 0.0                      # empty after normalisation


def test_evaluate_errors():
    with pytest.raises(ParameterError, match="2 references but 1 hypotheses"):
        evaluate(["a", "b"], ["a"])
    with pytest.raises(ParameterError, match="no transcripts"):
        evaluate([], [])
    with pytest.raises(ParameterError, match="sequences of transcripts"):
        evaluate("a b", "a b")
