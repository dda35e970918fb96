"""Training specs: one module per task, looked up by task name (imported lazily).

A spec (:class:`~audiodl.training.specs.base.TrainingSpec`) is the dataset,
targets, loss, metrics, decoder tuning and card builder of one task; the
runner (:func:`audiodl.training.run.run_training`, ``audiodl train TASK``)
does everything else. A new task adds one module here and one row to
:data:`SPECS`.
"""

from __future__ import annotations

import importlib

from ...errors import ParameterError

__all__ = ["SPECS", "get_spec", "names"]

#: task name -> "module:class" of its spec
SPECS = {
    "asr": "audiodl.training.specs.asr:AsrSpec",
    "onsets": "audiodl.training.specs.onsets:OnsetsSpec",
    "singing": "audiodl.training.specs.singing:SingingSpec",
    "musicspeech-classify": "audiodl.training.specs.musicspeech:ClassifySpec",
    "musicspeech-detect": "audiodl.training.specs.musicspeech:DetectSpec",
    "similarity": "audiodl.training.specs.similarity:SimilaritySpec",
    "structure": "audiodl.training.specs.structure:StructureSpec",
}


def names() -> list:
    """Task names that can be trained, sorted."""
    return sorted(SPECS)


def get_spec(task: str):
    """A new instance of the spec of ``task``."""
    try:
        target = SPECS[task]
    except KeyError:
        raise ParameterError(f"no training spec for task {task!r}; known: "
                             f"{', '.join(names())}") from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)()
