#!/usr/bin/env bash
# ASR recipe, all stages (idempotent: finished work is skipped or resumed on re-runs).
#   bash recipes/asr/run.sh                                   # conf/default.toml (CPU, small model)
#   CONFIG=recipes/asr/conf/ci.toml bash recipes/asr/run.sh   # CI smoke run
#   CONFIG=recipes/asr/conf/small_gpu.toml bash recipes/asr/run.sh    # larger corpus, one GPU
#   CONFIG=recipes/asr/conf/gpu.toml NPROC=4 bash recipes/asr/run.sh   # DS2-sized, torchrun
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/asr/asr_ds2_small-seed0/asr_ds2_small.json" --default
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/asr/conf/default.toml}
NPROC=${NPROC:-1}
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. corpora: TTS speech (exact transcripts) and the real Asterisk English prompts
case "$CONFIG" in
  *ci.toml)  audiodl synth speech -o "$D/ci/speech" --hours 0.01 --seed 1 ;;
  *gpu.toml) # conf/gpu.toml and conf/small_gpu.toml: the larger corpus
             audiodl synth speech -o "$D/speech" --hours 0.6 --seed 0
             audiodl synth speech -o "$D/speech_4h" --hours 4 --seed 1 -j "$(nproc)"
             audiodl data import asterisk-en -o "$D/asterisk_en" --sr 16000
             # TTS voices speaking the texts of the Asterisk *train* prompts (never test's)
             python -c "import sys; from audiodl.data.manifest import read_manifest
from audiodl.evaluation.asr import normalize
its = read_manifest(sys.argv[1])
print('\n'.join(sorted({normalize(i['text']) for i in its if i['split'] == 'train'})))" \
                 "$D/asterisk_en/manifest.jsonl" > "$D/asterisk_en/train_texts.txt"
             audiodl synth speech -o "$D/speech_prompts" --hours 1.5 --seed 2 -j "$(nproc)" \
                 --texts "$D/asterisk_en/train_texts.txt" ;;
  *)         audiodl synth speech -o "$D/speech" --hours 0.6 --seed 0
             audiodl data import asterisk-en -o "$D/asterisk_en" --sr 16000 ;;
esac
# 2. train (resumes from last.pt); beam search + LM tuned on validation
if [ "$NPROC" -gt 1 ]; then
  torchrun --nproc_per_node "$NPROC" -m audiodl.cli.main train asr --config "$CONFIG"
else
  audiodl train asr --config "$CONFIG"
fi
# 3. test sets (held-out voices, Asterisk test split), greedy and beam + LM, PocketSphinx peer
case "$CONFIG" in
  *ci.toml) ;;
  *) NAME=$(python -c "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['name'])" "$CONFIG")
     python recipes/asr/evaluate.py --config "$CONFIG" \
       --card "$D/runs/asr/$NAME-seed0/$NAME.json" --peers --latency --update-card ;;
esac
