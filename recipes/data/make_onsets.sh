#!/usr/bin/env bash
# Build the project's onset corpus (1.5 h, seed 1; about 4 min on 2 cores). Data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
set -euo pipefail
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")  # $AUDIODL_DATA or ~/.cache/audiodl/data
audiodl -v synth onsets -o "$D/onsets" --hours 1.5 --seed 1 -j 2
