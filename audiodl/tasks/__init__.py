"""Tasks: one pipeline per task on the shared contract (:mod:`audiodl.tasks.base`).

:data:`TASKS` maps the task name written in model cards to its pipeline
class; :func:`task_class` imports it on first use.
"""

from __future__ import annotations

import importlib

from ..errors import ModelError

__all__ = ["TASKS", "task_class"]

#: card task name -> "module:Class"
TASKS = {
    "asr": "audiodl.tasks.asr:AsrPipeline",
    "musicspeech-classify": "audiodl.tasks.musicspeech:MusicSpeechClassifier",
    "musicspeech-detect": "audiodl.tasks.musicspeech:MusicSpeechDetector",
    "onsets": "audiodl.tasks.onsets:OnsetPipeline",
    "similarity": "audiodl.tasks.similarity:SimilarityPipeline",
    "structure": "audiodl.tasks.structure:StructurePipeline",
    "singing": "audiodl.tasks.singing:SingingDetector",
}


def task_class(task: str):
    """The pipeline class of ``task``."""
    try:
        module, attr = TASKS[task].split(":")
    except KeyError:
        raise ModelError(f"unknown task {task!r}; known: {', '.join(sorted(TASKS))}") from None
    return getattr(importlib.import_module(module), attr)
