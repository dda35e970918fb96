"""pyAudioAnalysis's shipped speech/music SVM on a list of WAV files (runs in ITS venv).

    VENV/bin/python recipes/music_speech/paa_run.py LIST.json OUT.json

Called by ``peers.py paa``; imports only pyAudioAnalysis (0.3.14) and the
standard library, never audiodl. ``LIST.json``: ``[{"id", "wav"}]`` (16 kHz
mono 16-bit WAV). For every file: the file decision of
``audioTrainTest.file_classification(wav, svm_rbf_sm, "svm_rbf")`` and the
mid-term labels of ``audioSegmentation.mid_term_file_classification`` (one
class per mid-term step), or the error text when pyAudioAnalysis fails
(e.g. files shorter than its analysis window).
"""

import contextlib
import io
import json
import os
import sys


def main():
    src, dest = sys.argv[1], sys.argv[2]
    import pyAudioAnalysis
    from pyAudioAnalysis import audioSegmentation as aS
    from pyAudioAnalysis import audioTrainTest as aT
    model = os.path.join(os.path.dirname(pyAudioAnalysis.__file__), "data", "models",
                         "svm_rbf_sm")
    _, _, _, classes, _, mid_step, _, _, _ = aT.load_model(model)
    out = {"model": "svm_rbf_sm", "classes": list(classes), "mid_step": float(mid_step),
           "version": getattr(pyAudioAnalysis, "__version__", "0.3.14"), "files": {}}
    for row in json.load(open(src)):
        res = {}
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                cid, prob, names = aT.file_classification(row["wav"], model, "svm_rbf")
            res["label"] = names[int(cid)]
            res["probability"] = [float(p) for p in prob]
        except Exception as exc:  # noqa: BLE001 - a peer's failure is a result
            res["error"] = f"file: {type(exc).__name__}: {exc}"[:200]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                labels, names, _, _ = aS.mid_term_file_classification(row["wav"], model,
                                                                       "svm_rbf")
            res["mid_labels"] = [names[int(v)] for v in labels]
        except Exception as exc:  # noqa: BLE001
            res["mid_error"] = f"{type(exc).__name__}: {exc}"[:200]
        out["files"][row["id"]] = res
    with open(dest, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
