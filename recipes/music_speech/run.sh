#!/bin/bash
# The whole music/speech recipe, stage by stage (idempotent: finished stages
# are skipped or resumed). Times of each stage are printed by `time`.
# Usage: bash recipes/music_speech/run.sh [SEEDS...]   (default seeds: 0 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
R=recipes/music_speech
W=${WORK:-$R/work}
SEEDS=${*:-0 1}
mkdir -p "$W/logs"
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1

# 1. features (data: /work/data/musicspeech/*.jsonl, see /work/data/README-musicspeech.txt)
time python $R/prepare.py --variants 2

# 2. train: 3 architectures x seeds (each run resumes from its last.pt)
for seed in $SEEDS; do
  time python $R/train.py --arch musicspeech_cnn --seed "$seed" --steps 200
  time python $R/train.py --arch musicspeech_tcn --seed "$seed" --steps 150
  time python $R/train.py --arch lidy2015 --seed "$seed" --steps 150 --set epochs=8
done
# the shipped detector: the TCN trained longer (20 epochs), seeds 2 and 3
for seed in 2 3; do
  time python $R/train.py --arch musicspeech_tcn --seed $seed --steps 150 --set epochs=20 \
    --out "$W/runs/musicspeech_tcn_long/seed$seed"
  time python $R/tune.py --run "$W/runs/musicspeech_tcn_long/seed$seed"
  time python $R/evaluate.py --run "$W/runs/musicspeech_tcn_long/seed$seed" --task detect
done

# 3. model selection + decoder tuning on VALIDATION
for seed in $SEEDS; do
  for arch in lidy2015 musicspeech_cnn musicspeech_tcn; do
    time python $R/evaluate.py --run "$W/runs/$arch/seed$seed" --task classify --split valid
  done
  time python $R/tune.py --run "$W/runs/musicspeech_tcn/seed$seed"
done

# 4. TEST (once, after everything above is frozen)
for seed in $SEEDS; do
  for arch in lidy2015 musicspeech_cnn musicspeech_tcn; do
    time python $R/evaluate.py --run "$W/runs/$arch/seed$seed" --task classify
  done
  time python $R/evaluate.py --run "$W/runs/musicspeech_tcn/seed$seed" --task detect
done
time python $R/peers.py mfcc
time python $R/peers.py silero

# 5. ship the validation winners (CNN: seed 0; detector: tcn_long seed 2 in our runs;
#    compare valid_classify.json / decoder.json valid_scores) and 6. the table
python $R/ship.py --run "$W/runs/musicspeech_cnn/seed0" --name musicspeech_cnn --default
python $R/ship.py --run "$W/runs/musicspeech_tcn_long/seed2" --name musicspeech_tcn --default
python $R/summarize.py | tee "$W/results.md"
