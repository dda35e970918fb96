"""Inference runtime shared by every task: backends, the chunked-context runner,
and the streaming feature source.

* :mod:`.backends` — a model behind one call signature (ONNX Runtime in
  :mod:`.onnx_backend`, torch, numpy);
* :mod:`.runner` — :class:`ContextRunner`, the one chunked-context runner for
  every frame-wise model layout (excerpt CNNs, fully convolutional CNNs/TCNs,
  unpadded CNNs), offline and online, in bounded memory and equal to
  whole-input processing;
* :mod:`.source` — audio (file, array, stdin samples) -> feature chunks through
  the one :class:`~audiodl.features.StreamingFrontend`.

Nothing here imports torch at import time.
"""
