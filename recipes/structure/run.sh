#!/usr/bin/env bash
# Structure recipe, all stages (idempotent: finished work is skipped or resumed on re-runs).
#   bash recipes/structure/run.sh                                        # conf/default.toml, seed 0
#   SEEDS="0 1 2" bash recipes/structure/run.sh                          # several seeds
#   SEEDS="0 1 2" ENSEMBLE=1 bash recipes/structure/run.sh               # + the seeds as one model
#   CONFIG=recipes/structure/conf/ci.toml bash recipes/structure/run.sh  # CI smoke run
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/structure/structure_cnn-seed0/structure_cnn.json" --default --replace
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/structure/conf/default.toml}
SEEDS=${SEEDS:-0}   # the shipped model is seed 0 of conf/default.toml
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. songs. Training: the 7 templates (seed 0: train/valid/test splits) and random forms with
#    section cues (seeds 10, 11). Validation: forms of the test grammar's families that no test
#    song and no training song has (seeds 6, 7). Test: the varied grammar (seed 5).
#    Every repeat pattern of the test grammar is excluded from the training corpora.
case "$CONFIG" in
  *ci.toml) audiodl synth structure -o "$D/ci/structure" --hours 0.1 --seed 0
            audiodl train structure --config "$CONFIG"
            exit 0 ;;
esac
S=$D/structure
audiodl synth structure -o "$S/synth0" --hours 2.5 --seed 0
audiodl synth structure -o "$S/synth1" --hours 0.3 --seed 1        # the old (template) validation
python recipes/structure/make_varied.py -o "$S/varied" --hours 0.5 --seed 5
python recipes/structure/make_varied.py -o "$S/vvalid" --hours 1.6 --seed 6 --split valid \
  --exclude-manifest "$S/varied/manifest.jsonl" --exclude-patterns-of "$S/varied/manifest.jsonl"
python recipes/structure/make_varied.py --generator random -o "$S/random0" --hours 3 --seed 10
python recipes/structure/make_varied.py --generator families -o "$S/vfam" --hours 0.8 --seed 7 \
  --split valid --exclude-patterns-of "$S/random0/manifest.jsonl"
python recipes/structure/make_varied.py --generator random -o "$S/random1" --hours 2 --seed 11 \
  --doubled-p 0.35 --exclude-patterns-of "$S/vvalid/manifest.jsonl" --exclude-patterns-of "$S/vfam/manifest.jsonl"
# a second test set (seed 15, rendered after every model and decoder above was chosen): the test
# grammar minus every validation pattern (it may share forms with the first test set)
python recipes/structure/make_varied.py -o "$S/varied2" --hours 1.0 --seed 15 \
  --exclude-patterns-of "$S/vvalid/manifest.jsonl" --exclude-patterns-of "$S/vfam/manifest.jsonl"
# 2. train one model per seed (each resumes from its last.pt); decoder tuned on validation
cards=()
for seed in $SEEDS; do
  audiodl train structure --config "$CONFIG" --set "seed=$seed"
  cards+=(--card "$D/runs/structure/structure_cnn-seed$seed/structure_cnn.json")
done
# 2b. ENSEMBLE=1 and several seeds: the seeds as one model (mean boundary probability); its decoder
#     is tuned on validation with the others in stage 3 (recipes/structure/README.md, "Seed ensemble")
if [ "${ENSEMBLE:-0}" = 1 ] && [ ${#cards[@]} -gt 2 ]; then
  python recipes/structure/ensemble.py "${cards[@]}" -o "$D/runs/structure/ensemble" --overwrite
  cards+=(--card "$D/runs/structure/ensemble/structure_cnn.json")
fi
# 3. baselines tuned on the same validation songs; every method scored on the test songs
#    (--retune --write-card: each card's decoder re-tuned on vvalid + vfam, as shipped)
python recipes/structure/evaluate.py "${cards[@]}" --retune --write-card \
  --valid-manifest structure/vvalid/manifest.jsonl --valid-manifest structure/vfam/manifest.jsonl \
  --test-manifest structure/varied/manifest.jsonl --test-manifest structure/varied2/manifest.jsonl \
  --out recipes/structure/results/test.json
# 4. speed (one core) and peak memory on a 1-hour file
python recipes/structure/speed.py "$S/varied/audio/sv000000.flac" \
  --model "$D/runs/structure/structure_cnn-seed${SEEDS%% *}/structure_cnn.json" \
  > recipes/structure/results/speed.json
# 5. MSAF peer on the same test songs, in its own venv (skipped when MSAF_PYTHON is unset):
#    python3.11 -m venv V && V/bin/pip install msaf==0.1.80 'numpy<2' 'scipy<1.12' 'pandas<3'
if [ -n "${MSAF_PYTHON:-}" ]; then
  "$MSAF_PYTHON" bench/structure_msaf.py msaf-run --manifest "$S/varied/manifest.jsonl" \
    --manifest "$S/varied2/manifest.jsonl" --manifest "$S/synth0/manifest.jsonl:test" --out "$D/msaf"
  python bench/structure_msaf.py score --manifest "$S/varied/manifest.jsonl" \
    --manifest "$S/varied2/manifest.jsonl" --manifest "$S/synth0/manifest.jsonl:test" --out "$D/msaf" --json bench/results/structure_msaf.json
fi
