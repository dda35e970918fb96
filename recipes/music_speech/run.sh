#!/bin/bash
# The whole music/speech recipe, stage by stage (idempotent: finished stages are
# skipped or resumed). Times of each stage are printed by `time`.
# Usage: bash recipes/music_speech/run.sh [SEEDS...]   (default seeds: 0 1)
# Data: the data root ($AUDIODL_DATA, default ~/.cache/audiodl/data) holds musicspeech/*.jsonl,
# made by `bash recipes/data/make_musicspeech.sh`. Run folders go to $WORK/runs.
# Peers: SILERO_PYTHON / PAA_PYTHON name the pythons of their venvs (see README).
# Shipping is NOT a stage: after comparing the validation scores, run e.g.
#   audiodl ship "$WORK/runs/musicspeech_cnn/seed0/musicspeech_cnn.json" --replace --default
set -euo pipefail
cd "$(dirname "$0")/../.."
R=recipes/music_speech
C=$R/conf
W=${WORK:-$R/work}
SEEDS=${*:-0 1}
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1

# 1. train (features are cached on first use; each run resumes from its last.pt;
#    the detector's decoder is tuned on VALIDATION at the end of its run)
for seed in $SEEDS; do
  time audiodl train musicspeech-classify --config $C/classify_default.toml --set seed=$seed \
    --set max_steps_per_epoch=200 --out "$W/runs/musicspeech_cnn/seed$seed"
  time audiodl train musicspeech-detect --config $C/detect_default.toml --set seed=$seed \
    --out "$W/runs/musicspeech_tcn/seed$seed"
  time audiodl train musicspeech-classify --config $C/lidy2015.toml --set seed=$seed \
    --out "$W/runs/lidy2015/seed$seed"
done
# the detector shipped before issue 16 round 6: the TCN trained longer (20 epochs), seeds 2 and 3
for seed in 2 3; do
  time audiodl train musicspeech-detect --config $C/detect_long.toml --set seed=$seed \
    --out "$W/runs/musicspeech_tcn_long/seed$seed"
  time python $R/evaluate.py --run "$W/runs/musicspeech_tcn_long/seed$seed" --task detect
done

# issue 16 candidate: + neither data and klettres voices (not shipped yet, see README)
time audiodl train musicspeech-detect --config $C/detect_neither.toml \
  --out "$W/runs/musicspeech_tcn_neither/seed2_e20"
for task in neither unseen classify detect; do
  time python $R/evaluate.py --run "$W/runs/musicspeech_tcn_neither/seed2_e20" --task $task
done

# 2. model selection on VALIDATION
for seed in $SEEDS; do
  for arch in lidy2015 musicspeech_cnn musicspeech_tcn; do
    time python $R/evaluate.py --run "$W/runs/$arch/seed$seed" --task classify --split valid
  done
done

# 3. TEST (once, after everything above is frozen)
for seed in $SEEDS; do
  for arch in lidy2015 musicspeech_cnn musicspeech_tcn; do
    time python $R/evaluate.py --run "$W/runs/$arch/seed$seed" --task classify
  done
  time python $R/evaluate.py --run "$W/runs/musicspeech_tcn/seed$seed" --task detect
done
time python $R/peers.py mfcc
time ${SILERO_PYTHON:-python} $R/peers.py silero   # a venv with silero-vad (README)
if [ -n "${PAA_PYTHON:-}" ]; then  # the pyAudioAnalysis venv's python (README)
  time python $R/peers.py paa --python "$PAA_PYTHON"
fi

# 4. the table
python $R/summarize.py | tee "$W/results.md"
