#!/usr/bin/env bash
# ASR on one GPU machine, in one call (recipes/asr/README.md, "GPU run"):
#   1. install the carried wheels (.whl/) into $WORK/site (the machine's CUDA torch is kept);
#   2. fill the feature cache from the carried Opus corpora (.carry/asr, gpu_pack.py) with
#      the numpy front end in 16 processes;
#   3. train conf/small_gpu.toml and conf/gpu.toml side by side on the GPU, each within
#      BUDGET_MIN minutes (max_minutes), beam/LM tuning left for the CPU afterwards;
#   4. if time is left, bench/gpu.py's front-end and CTC-decoder checks;
#   5. copy what comes back to $OUT: small_last.pt and small_run.tar (the first config),
#      CONFIG_run.tar (and weights under 40 MB) of the others, logs.tar.
# Usage there:  OUT=dir BUDGET_MIN=5.5 bash recipes/asr/gpu_run.sh
# Other configs (recipes/asr/conf/NAME.toml, trained side by side; the first one's last.pt
# comes back): CONFIGS="varied_gpu varied_gpu_m" (the varied-text run, README "Next GPU run").
# Dry run on a CPU: WHEELS=none FEATURE_JOBS=2 AUDIODL_DATA=small-pack BUDGET_MIN=0.2 \
#   EXTRA_SETS="--set max_steps_per_epoch=2 --set num_workers=0" bash recipes/asr/gpu_run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu_out}
read -r -a CONFS <<< "${CONFIGS:-small_gpu gpu}"
CONF_ARGS=()
for c in "${CONFS[@]}"; do CONF_ARGS+=(--config "recipes/asr/conf/$c.toml"); done
BUDGET_MIN=${BUDGET_MIN:-5.5}
LIMIT_S=${LIMIT_S:-570}            # the whole script's wall limit (bench only if time is left)
WORK=${GPU_WORK:-${TMPDIR:-/tmp}}  # scratch: site-packages, logs, feature cache, runs
LOGS=$WORK/gpu_logs                # logs come back as one tar (the tool returns <= 8 files)
mkdir -p "$OUT" "$LOGS"
T0=$(date +%s)
say() { echo "[gpu_run $(( $(date +%s) - T0 )) s] $*"; }
WHEELS=${WHEELS:-.whl}             # WHEELS=none: use the installed packages (dry runs)
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$WORK/site" "$WHEELS"/*.whl || { say "wheel install failed"; exit 2; }
    export PYTHONPATH=$WORK/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export AUDIODL_DATA=${AUDIODL_DATA:-$PWD/.carry/asr} AUDIODL_FRONTEND=numpy \
    XDG_CACHE_HOME=$WORK/xdg PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
say "checks"
timeout 120 python3 - <<'PYEOF' || { say "environment check failed"; exit 3; }
import glob, os, numpy as np, torch
import audiodl, soundfile, soxr, jiwer
from audiodl.io.audio import load
from audiodl.features.numpy_frontend import spectrogram
from audiodl.features.config import preset
print("python", os.sys.version.split()[0], "torch", torch.__version__, "numpy", np.__version__,
      "cuda", torch.cuda.is_available(), "soundfile", soundfile.__version__,
      soundfile.__libsndfile_version__)
f = sorted(glob.glob(os.path.join(os.environ["AUDIODL_DATA"], "*", "audio_opus", "*.opus")))[0]
y, sr = load(f, 16000)
print(f, y.shape, sr, spectrogram(y, preset("ds2_mel")).shape)
dev = "cuda" if torch.cuda.is_available() else "cpu"
lp = torch.randn(50, 2, 30, device=dev).log_softmax(-1)
print("ctc on", dev, float(torch.nn.functional.ctc_loss(lp, torch.ones(2, 5, dtype=torch.long),
      torch.tensor([50, 50]), torch.tensor([5, 5]))))
PYEOF
say "features"
timeout 240 python3 recipes/asr/gpu_pack.py --fill-cache -j "${FEATURE_JOBS:-16}" \
    "${CONF_ARGS[@]}" \
    || { say "feature extraction failed"; exit 4; }
say "training (budget $BUDGET_MIN min each, side by side)"
RUNS=${RUNS:-$WORK/runs}
PIDS=()
for c in "${CONFS[@]}"; do
    # shellcheck disable=SC2086  # EXTRA_SETS: more --set KEY=VALUE words (dry runs)
    timeout $(( LIMIT_S - ($(date +%s) - T0) - 20 )) python3 -m audiodl.cli.main train asr \
        --config recipes/asr/conf/$c.toml --out $RUNS/$c --set max_minutes=$BUDGET_MIN \
        --set tune=false ${EXTRA_SETS:-} > "$LOGS/train_$c.log" 2>&1 &
    PIDS+=($!)
done
(nvidia-smi dmon -s u -d 15 > "$LOGS/dmon.log" 2>&1 || true) &
DMON=$!
wait "${PIDS[@]}"
kill $DMON 2>/dev/null
say "training done"; tail -n 3 "$LOGS"/train_*.log
FIRST=${CONFS[0]}
cp "$RUNS/$FIRST/last.pt" "$OUT/small_last.pt" 2>/dev/null
tar -C "$RUNS/$FIRST" --exclude=last.pt -cf "$OUT/small_run.tar" . 2>/dev/null
for c in "${CONFS[@]:1}"; do
    # weights of a DS2-sized model are too large to come back; its logs and card do
    tar -C "$RUNS/$c" --exclude='*.pt' --exclude='*.safetensors' -cf "$OUT/${c}_run.tar" . 2>/dev/null
    find "$RUNS/$c" -maxdepth 1 -name '*.safetensors' -size -40M -exec cp {} "$OUT/" \;
done
LEFT=$(( LIMIT_S - ($(date +%s) - T0) - 10 ))
if [ "$LEFT" -gt 40 ]; then
    say "bench/gpu.py frontend,ctc ($LEFT s left)"
    timeout $LEFT python3 bench/gpu.py --checks frontend,ctc --out "$LOGS/gpu_bench.json" \
        > "$LOGS/gpu_bench.log" 2>&1 || say "bench stopped"
fi
tar -C "$LOGS" -cf "$OUT/logs.tar" .
say "done"; ls -la "$OUT"
