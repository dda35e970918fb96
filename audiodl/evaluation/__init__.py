"""Evaluation: the only place scores are computed (mir_eval / jiwer wrappers).

``onsets`` (mir_eval onset F-measure, MIREX and CPJKU protocols), ``musicspeech``
(MIREX 2015/2018), ``asr`` (WER/CER via jiwer; jiwer is imported on first use).
"""

from . import asr, musicspeech, onsets

__all__ = ["musicspeech", "onsets", "asr"]
