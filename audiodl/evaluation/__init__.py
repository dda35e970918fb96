"""Evaluation: mir_eval-shaped validators and scores per task (numpy only)."""

from . import musicspeech

__all__ = ["musicspeech"]
