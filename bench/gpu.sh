#!/usr/bin/env bash
# GPU checks of audiodl in one prepared script: front end GPU vs CPU, a short AMP
# training run of every trainable task, ONNX Runtime's CUDA provider, GPU CTC beam
# search. Prints throughputs; writes bench/results/gpu.json (see bench/gpu.py).
#
#   bash bench/gpu.sh                       # on the GPU machine (falls back to CPU)
#   bash bench/gpu.sh --dry-run             # CPU, small sizes: proves the script
#   WHEELS=dir bash bench/gpu.sh            # first: pip install --no-index from dir
#   DATA=dir bash bench/gpu.sh              # CI corpora under dir/ci (AUDIODL_DATA)
#
# On a machine WITH a package registry, prepare what to carry to a GPU image without one:
#   bash bench/gpu.sh --download-wheels dir      # the wheels audiodl needs (no torch:
#                                                # the GPU image's CUDA torch is kept)
#   bash bench/gpu.sh --prepare-data dir         # the tiny CI corpora (synth engines)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DRY=0
EXTRA=()
case "${1:-}" in
    --dry-run) DRY=1; shift ;;
    --download-wheels)
        dest=${2:?usage: gpu.sh --download-wheels DIR}
        mkdir -p "$dest"
        # everything audiodl imports except torch/torchaudio (the GPU image's CUDA build)
        "$PY" -m pip download -d "$dest" --only-binary=:all: \
            numpy scipy numba rocket-fft librosa soundfile soxr click mir_eval jiwer \
            flashlight-text tqdm matplotlib faiss-cpu onnxruntime-gpu onnx
        echo "gpu.sh: wheels in $dest ($(du -sh "$dest" | cut -f1))"
        exit 0 ;;
    --prepare-data)
        dest=${2:?usage: gpu.sh --prepare-data DIR}
        "$PY" - "$dest" <<'PYEOF'
import pathlib, sys
from audiodl.data.synth.runner import generate_corpus
root = pathlib.Path(sys.argv[1])
for task, name, hours, seed in [("onsets", "onsets", 0.02, 1), ("musicspeech", "musicspeech", 0.02, 1),
                                ("singing", "singing", 0.015, 4), ("structure", "structure", 0.1, 0),
                                ("speech", "speech", 0.01, 1)]:
    if not (root / "ci" / name / "manifest.jsonl").exists():
        try:
            generate_corpus(task, root / "ci" / name, hours=hours, seed=seed, jobs=1)
        except Exception as exc:  # a missing synthesis engine skips that corpus
            print(f"gpu.sh: {name}: not generated ({exc})", file=sys.stderr)
sys.path.insert(0, ".")
if not (root / "ci" / "similarity").exists():
    from tests.similarity.test_training import _corpus
    _corpus(root)
print(f"gpu.sh: corpora under {root}/ci")
PYEOF
        exit 0 ;;
esac

if [ -n "${WHEELS:-}" ]; then
    # offline install from the carried folder; torch is never replaced
    "$PY" -m pip install -q --no-index --find-links "$WHEELS" \
        $(ls "$WHEELS"/*.whl | grep -v -E '/(torch|torchaudio)-' || true)
fi
# audiodl itself runs from this checkout (no build step, no registry needed)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import audiodl, torch; print('audiodl', audiodl.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"

if [ -n "${DATA:-}" ]; then
    export AUDIODL_DATA=$DATA
fi
if [ "$DRY" = 1 ]; then
    EXTRA=(--quick --device cpu --out bench/results/gpu_dryrun.json)
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || \
    echo "gpu.sh: no nvidia-smi: CPU fallback"
exec "$PY" bench/gpu.py "${EXTRA[@]}" "$@"
