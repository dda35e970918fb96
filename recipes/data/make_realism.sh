#!/usr/bin/env bash
# Realism checks of the synthetic corpora (recipes/README.md §8). Needs pip install pocketsphinx.
set -euo pipefail
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")  # $AUDIODL_DATA or ~/.cache/audiodl/data
audiodl synth speech -o "$D/speech" --hours 0.3 --seed 1 -j 2
python -m audiodl.data.realism onsets "$D/onsets/manifest.jsonl"
python -m audiodl.data.realism asr-voices "$D/real/asterisk-en/manifest.jsonl" -n 40
python -m audiodl.data.realism asr "$D/speech/manifest.jsonl" -n 100
