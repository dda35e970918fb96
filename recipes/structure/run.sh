#!/usr/bin/env bash
# Structure recipe, all stages (idempotent: finished work is skipped or resumed on re-runs).
#   bash recipes/structure/run.sh                                        # conf/default.toml, seed 0
#   SEEDS="0 1 2" bash recipes/structure/run.sh                          # several seeds
#   CONFIG=recipes/structure/conf/ci.toml bash recipes/structure/run.sh  # CI smoke run
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/structure/structure_cnn-seed0/structure_cnn.json" --default
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/structure/conf/default.toml}
SEEDS=${SEEDS:-0}
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. songs: training templates (seed 0: train/valid/test splits), more validation songs
#    (seed 1), and the test songs with forms the templates lack (seed 5)
case "$CONFIG" in
  *ci.toml) audiodl synth structure -o "$D/ci/structure" --hours 0.1 --seed 0
            audiodl train structure --config "$CONFIG"
            exit 0 ;;
esac
audiodl synth structure -o "$D/structure/synth0" --hours 2.5 --seed 0
audiodl synth structure -o "$D/structure/synth1" --hours 0.3 --seed 1
python recipes/structure/make_varied.py -o "$D/structure/varied" --hours 0.5 --seed 5
# 2. train one model per seed (each resumes from its last.pt); decoder tuned on validation
cards=()
for seed in $SEEDS; do
  audiodl train structure --config "$CONFIG" --set "seed=$seed"
  cards+=(--card "$D/runs/structure/structure_cnn-seed$seed/structure_cnn.json")
done
# 3. baselines tuned on the same validation songs; every method scored on the test songs
python recipes/structure/evaluate.py "${cards[@]}" --out recipes/structure/results/test.json
# 4. speed (one core) and peak memory on a 1-hour file
python recipes/structure/speed.py "$D/structure/varied/audio/sv000000.flac" \
  --model "$D/runs/structure/structure_cnn-seed0/structure_cnn.json" \
  > recipes/structure/results/speed.json
