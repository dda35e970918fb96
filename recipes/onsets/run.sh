#!/usr/bin/env bash
# Onset recipe, all stages (idempotent: finished work is skipped or resumed on re-runs).
#   bash recipes/onsets/run.sh                                          # conf/default.toml, 8 folds
#   CONFIG=recipes/onsets/conf/shipped.toml FOLDS="0" bash recipes/onsets/run.sh
#   CONFIG=recipes/onsets/conf/ci.toml FOLDS="0" bash recipes/onsets/run.sh   # CI smoke run
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/onsets/onsets_cnn-fold0-seed1/onsets_cnn.json" --replace --default
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/onsets/conf/default.toml}
FOLDS=${FOLDS:-0 1 2 3 4 5 6 7}
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")  # $AUDIODL_DATA or ~/.cache/audiodl/data
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. corpora (rendered once; `audiodl synth` resumes and skips finished items)
case "$CONFIG" in
  *ci.toml) audiodl synth onsets -o "$D/ci/onsets" --hours 0.05 --seed 1 ;;
  *)        audiodl synth onsets -o "$D/onsets-seed0" --hours 2 --seed 0 -j 2
            audiodl synth onsets -o "$D/onsets" --hours 1.5 --seed 1 -j 2 ;;
esac
# soft attacks and real drum samples (measured-attack labels; needs lmms-common), its held-out
# render, and the test-only real-drum split (sonic-pi-samples): configs that name them
if grep -q onsets_extra "$CONFIG"; then
    audiodl synth onsets_extra -o "$D/onsets_extra" --hours 1.2 --seed 0 -j 2
    audiodl synth onsets_extra -o "$D/onsets_extra_test" --hours 0.35 --seed 1 -j 2
fi
if grep -q onsets_kits "$CONFIG"; then   # real GMRockKit mixes (needs hydrogen-data)
    audiodl synth onsets_kits -o "$D/onsets_kits" --hours 0.8 --seed 0
fi
if grep -q onsets_chatter "$CONFIG"; then   # chattering open hi-hat/cymbal decays (conf/chatter.toml)
    audiodl synth onsets_chatter -o "$D/onsets_chatter" --hours 0.6 --seed 0
fi
if grep -q onsets_realdrums "$CONFIG"; then
    audiodl synth onsets_realdrums -o "$D/onsets_realdrums" --hours 1 --seed 0
fi
# 2. train one model per fold (each resumes from its last.pt); peak picking tuned on validation
# A config with init_from fine-tunes the same fold of a chain: conf/kits.toml starts from
# conf/base.toml; the others (conf/shipped.toml, context*.toml, chatter.toml) from conf/kits.toml.
BASE=recipes/onsets/conf/base.toml
KITS=recipes/onsets/conf/kits.toml
for fold in $FOLDS; do
  set -- --set "fold=$fold"
  case "$CONFIG" in *ci.toml) set -- ;; esac   # the CI config uses the corpus's own splits
  if grep -q '^init_from' "$CONFIG"; then
    audiodl train onsets --config "$BASE" "$@"
    INIT="$D/runs/onsets/onsets_cnn_base-fold$fold-seed0/onsets_cnn_base.json"
    case "$CONFIG" in
      *kits.toml) ;;
      *) audiodl train onsets --config "$KITS" "$@" --set "init_from=$INIT"
         INIT="$D/runs/onsets/onsets_cnn_kits-fold$fold-seed0/onsets_cnn_kits.json" ;;
    esac
    set -- "$@" --set "init_from=$INIT"
  fi
  audiodl train onsets --config "$CONFIG" "$@"
done
# 3. test split(s), with peers (madmom when MADMOM_PYTHON points at a Python with madmom 0.16.1)
python recipes/onsets/evaluate.py --config "$CONFIG" --peers
