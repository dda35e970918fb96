#!/usr/bin/env bash
# Onset recipe, all stages (idempotent: finished work is skipped on re-runs).
#   bash recipes/onsets/run.sh                       # full run, conf/default.toml
#   CONFIG=recipes/onsets/conf/ci.toml bash recipes/onsets/run.sh   # CI smoke run
#   ARCH=onset_cnn_bn bash recipes/onsets/run.sh     # the improved variant
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/onsets/conf/default.toml}
ARCH=${ARCH:-onset_cnn_sb2014}
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1
R="python recipes/onsets/recipe.py"
$R prepare  --config "$CONFIG"
$R train    --config "$CONFIG" --set arch="$ARCH"          # all folds; --fold K for one
$R tune     --config "$CONFIG" --set arch="$ARCH"
$R evaluate --config "$CONFIG" --set arch="$ARCH" --peers  # madmom needs /work/venvs/madmom
# $R ship   --config "$CONFIG" --set arch="$ARCH" --fold 0  # writes audiodl/pretrained/weights/
