#!/usr/bin/env bash
# Build the project's onset corpus (1.5 h, seed 1; about 4 min on 2 cores). DATA_ROOT default /work/data.
set -euo pipefail
D=${DATA_ROOT:-/work/data}
audiodl -v synth onsets -o "$D/onsets" --hours 1.5 --seed 1 -j 2
