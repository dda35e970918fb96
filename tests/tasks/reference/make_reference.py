"""Store the shipped models' outputs on the reference inputs (run once, before a refactor).

    python tests/tasks/reference/make_reference.py   # writes outputs.npz

The test ``tests/tasks/test_reference_outputs.py`` compares the current code
against this file within 1e-5.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from inputs import inputs  # noqa: E402


def compute() -> dict:
    import audiodl
    out = {}
    for name, (y, sr) in inputs().items():
        if name in ("music", "speech", "mixture", "long"):
            c = audiodl.classify(y, sr)
            out[f"{name}/classify/probabilities"] = np.array(
                [c.probabilities["music"], c.probabilities["speech"]])
            out[f"{name}/classify/label"] = np.array(c.label)
            seg = audiodl.detect(y, sr)
            out[f"{name}/detect/intervals"] = np.asarray(seg.intervals).reshape(-1, 2)
            out[f"{name}/detect/labels"] = np.array(seg.labels, dtype=str)
        for method in ("cnn", "superflux"):
            r = audiodl.onsets(y, sr, method=method)
            out[f"{name}/onsets_{method}/times"] = np.asarray(r.times)
            out[f"{name}/onsets_{method}/activations"] = np.asarray(r.activations.values)
    return out


if __name__ == "__main__":
    res = compute()
    np.savez_compressed(HERE / "outputs.npz", **res)
    print(f"wrote {len(res)} arrays to {HERE / 'outputs.npz'}")
