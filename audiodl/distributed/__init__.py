"""Catalogue-scale batch inference on Ray Data (``pip install 'audiodl[distributed]'``).

``audiodl batch TASK LIST_OR_DIR -o OUT --ray local|ADDRESS`` runs a task
pipeline over a list of files with :meth:`ray.data.Dataset.map_batches` and
an actor pool: each worker process loads the model once and writes each
output atomically as soon as its file is done (:mod:`audiodl.io.outputs`,
the rules the task commands follow too). A worker that dies is restarted and
its batch retried (``max_restarts``/``max_task_retries``); finished files
are skipped on restart; failures are listed with their reasons in
``OUT/audiodl-failures.json``.

Importing this package does not import ray; :func:`run_batch` does.
"""

from __future__ import annotations

from .engine import BatchReport, TASK_COMMANDS, read_file_list, run_batch

__all__ = ["run_batch", "BatchReport", "TASK_COMMANDS", "read_file_list"]
