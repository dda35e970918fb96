#!/usr/bin/env bash
# Singing-voice detection recipe, all stages (idempotent: finished work is skipped or resumed).
#   bash recipes/singing/run.sh                                           # the shipped model: conf/round22.toml, seed 221
#   CONFIG=recipes/singing/conf/round20.toml SEEDS=201 bash recipes/singing/run.sh   # round 20 (shipped until the twelfth session)
#   CONFIG=recipes/singing/conf/round14.toml SEEDS=42 bash recipes/singing/run.sh   # round 14 (shipped until the tenth session)
#   CONFIG=recipes/singing/conf/default.toml SEEDS="0 1 2" bash recipes/singing/run.sh
#   CONFIG=recipes/singing/conf/ci.toml bash recipes/singing/run.sh      # CI smoke run
#   CONFIG=recipes/singing/conf/round18.toml SEEDS="181 182" bash recipes/singing/run.sh   # the clean chain (round 16 seed 161 first)
#   CONFIG=recipes/singing/conf/round19.toml SEEDS="191 192" bash recipes/singing/run.sh   # + round 18 seed 182, snapshots scored
#   SETS="pitch_shift=0 time_stretch=0" TAG=noaug bash recipes/singing/run.sh   # an ablation
# Data and runs live under the data root: $AUDIODL_DATA (default ~/.cache/audiodl/data).
# Shipping is NOT a stage: after checking the results, run
#   audiodl ship "$AUDIODL_DATA/runs/singing/singing_cnn-seed0/singing_cnn.json" --replace --default
# (round 19: the card of the chosen snapshot, RUN/candidates/epoch_NNN/singing_cnn_round19.json,
#  with --name singing_cnn; then `audiodl export singing_cnn` and `quantize.py --ship`)
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-recipes/singing/conf/round22.toml}
SEEDS=${SEEDS:-221}
SETS=${SETS:-}
TAG=${TAG:-}
D=$(python -c "from audiodl.data.paths import data_root; print(data_root())")
export AUDIODL_DATA=$D OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. corpora: separate seeds for train / valid / test (their own 90/5/5 split field is ignored).
#    The stage-1 corpora (train, train_s7..9, valid) were made by the first generator version
#    (git 5bfec72: MBROLA only); today's generator gives other songs for the same seeds.
case "$CONFIG" in
  *ci.toml) audiodl synth singing -o "$D/ci/singing" --hours 0.03 --seed 4 ;;
  *)        audiodl synth singing -o "$D/singing/valid" --hours 0.12 --seed 2
            audiodl synth singing -o "$D/singing/train" --hours 0.6 --seed 5
            for s in 7 8 9; do audiodl synth singing -o "$D/singing/train_s$s" --hours 0.3 --seed $s; done
            audiodl synth singing -o "$D/singing/valid2" --hours 0.15 --seed 22
            audiodl synth singing -o "$D/singing/test2" --hours 0.3 --seed 23
            audiodl synth singing -o "$D/singing/train2" --hours 1.0 --seed 21
            audiodl synth singing -o "$D/singing/train3" --hours 0.5 --seed 24 ;;
esac
# 1b. rounds 11-15: extra Debian soundfonts (extracted with `apt-get download` + `dpkg -x`, not
#     installed) and the lead / song / speech corpora drawing on them; round 16 on renders
#     them again without MuseScore General (a reduced build of a reserved soundfont,
#     ../shared/DATA.md), three other soundfonts in its place (corpus names with suffix c)
fetch_fonts() {  # PACKAGE... -> extracted under $D/sf
  mkdir -p "$D/sf" && (cd "$D/sf" && apt-get download "$@" && for f in ./*.deb; do dpkg -x "$f" .; done)
}
lead_corpora() {  # SUFFIX --soundfont F ...
  local sfx=$1; shift
  local L=recipes/singing/leads.py
  local PROG=72,73,74,75,76,77,78,79,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,88,89,40,41,64,65,66,67,68,69,71,56,59,60
  local PROG43=40,41,42,56,57,58,60,61,64,65,66,67,68,69,70,71,72,73,74,75,79,80,81,82,83,84,85,86,87,22,23,16,17,52,53,54,91,94
  local P45=72,73,74,75,76,77,78,79,72,73,74,75,76,77,78,79,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,68,71,65,66,69,53,54
  local S="$D/singing"
  [ -f "$S/leads41$sfx/manifest.jsonl" ] || python $L -o "$S/leads41$sfx" --hours 0.6 --seed 41 --expression 0.6 --noise 0.6 --programs $PROG "$@"
  [ -f "$S/leads42$sfx/manifest.jsonl" ] || python $L -o "$S/leads42$sfx" --hours 0.15 --seed 42 --expression 0.6 --noise 0.6 --programs $PROG "$@"
  [ -f "$S/leads43$sfx/manifest.jsonl" ] || python $L -o "$S/leads43$sfx" --hours 0.4 --seed 43 --expression 0.6 --noise 0.6 --programs $PROG43 "$@"
  [ -f "$S/train4$sfx/manifest.jsonl" ] || python $L -o "$S/train4$sfx" --songs --hours 0.6 --seed 25 "$@"
  [ -f "$S/valid3$sfx/manifest.jsonl" ] || python $L -o "$S/valid3$sfx" --songs --hours 0.25 --seed 26 "$@"
  [ -f "$S/speech44$sfx/manifest.jsonl" ] || python $L -o "$S/speech44$sfx" --speech 0.8 --hours 0.5 --seed 44 "$@"
  [ -f "$S/leads45$sfx/manifest.jsonl" ] || python $L -o "$S/leads45$sfx" --hours 0.5 --seed 45 --expression 0.7 --noise 0.6 --programs $P45 "$@"
}
SF="$D/sf/usr/share"
case "$CONFIG" in
  *round1[1-5].toml|*zeromean.toml)
    [ -f "$SF/sounds/sf3/MuseScore_General_Lite.sf3" ] && [ -f "$SF/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3" ] \
      || fetch_fonts musescore-general-soundfont-small fluidr3mono-gm-soundfont
    VSFX=""
    lead_corpora "$VSFX" --soundfont "$SF/sounds/sf3/MuseScore_General_Lite.sf3" \
                    --soundfont "$SF/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3" ;;
  *round1[6-9].toml|*round2[02].toml)
    [ -f "$SF/sounds/sf2/sf_GMbank.sf2" ] && [ -f "$SF/sounds/sf2/OPL-3_FM_128M.sf2" ] \
      && [ -f "$SF/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3" ] \
      || fetch_fonts csound-soundfont opl3-soundfont fluidr3mono-gm-soundfont
    VSFX=c
    lead_corpora "$VSFX" --soundfont "$SF/sounds/sf2/sf_GMbank.sf2" \
                   --soundfont "$SF/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3" \
                   --soundfont "$SF/sounds/sf2/OPL-3_FM_128M.sf2" ;;
esac
# the shipped model continues from round 2 <- round 1 <- stage 1 (their `init`)
# round 11 continues round 3 (conf/shipped.toml), round 12 continues round 11's seed 12,
# round 13 round 12's seed 21, round 14 round 13's seed 32; the clean chain: round 16 continues
# round 3, rounds 17-18 round 16's seed 161, round 19 round 18's seed 182, round 20 (shipped)
# round 19 seed 192's epoch-69 snapshot
case "$CONFIG" in
  *shipped.toml|*round1[1-9].toml|*round2[02].toml|*zeromean.toml)
                 audiodl train singing --config recipes/singing/conf/stage1.toml
                 audiodl train singing --config recipes/singing/conf/round1.toml
                 audiodl train singing --config recipes/singing/conf/round2.toml ;;
esac
case "$CONFIG" in
  *round1[1-9].toml|*round2[02].toml|*zeromean.toml) audiodl train singing --config recipes/singing/conf/shipped.toml ;;
esac
case "$CONFIG" in
  *round1[2-5].toml|*zeromean.toml) audiodl train singing --config recipes/singing/conf/round11.toml --set seed=12 ;;
esac
case "$CONFIG" in
  *round1[3-5].toml|*zeromean.toml) audiodl train singing --config recipes/singing/conf/round12.toml --set seed=21 ;;
esac
case "$CONFIG" in
  *round1[45].toml) audiodl train singing --config recipes/singing/conf/round13.toml --set seed=32 ;;
esac
case "$CONFIG" in
  *round1[7-9].toml|*round2[02].toml) audiodl train singing --config recipes/singing/conf/round16.toml --set seed=161 ;;
esac
case "$CONFIG" in
  *round19.toml|*round2[02].toml) audiodl train singing --config recipes/singing/conf/round18.toml --set seed=182 ;;
esac
case "$CONFIG" in
  *round2[02].toml) audiodl synth singing -o "$D/singing/valid4" --hours 0.3 --seed 27   # its validation
                 audiodl train singing --config recipes/singing/conf/round19.toml --set seed=192 ;;
esac
case "$CONFIG" in  # round 22 continues round 20 seed 201's epoch-19 snapshot (shipped until then)
  *round22.toml) audiodl train singing --config recipes/singing/conf/round20.toml --set seed=201
                 cp "$D/runs/singing/singing_cnn_round20-seed201/snapshots/epoch_019.pt" \
                    "$D/runs/singing/round20_shipped.pt"
                 # the eight fresh corpora (head/round21.toml; FONTS and the program lists as in step 1b)
                 S="$D/singing"; L=recipes/singing/leads.py
                 FONTS=(--soundfont "$SF/sounds/sf2/sf_GMbank.sf2" --soundfont "$SF/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3" --soundfont "$SF/sounds/sf2/OPL-3_FM_128M.sf2")
                 P42=72,73,74,75,76,77,78,79,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,88,89,40,41,64,65,66,67,68,69,71,56,59,60
                 P43=40,41,42,56,57,58,60,61,64,65,66,67,68,69,70,71,72,73,74,75,79,80,81,82,83,84,85,86,87,22,23,16,17,52,53,54,91,94
                 audiodl synth singing -o "$S/head31" --hours 1.0 --seed 31 -j 1
                 audiodl synth singing -o "$S/head33" --hours 1.0 --seed 33 -j 1
                 [ -f "$S/headsongs48c/manifest.jsonl" ] || python $L -o "$S/headsongs48c" --songs --hours 0.6 --seed 48 "${FONTS[@]}"
                 [ -f "$S/headsongs49c/manifest.jsonl" ] || python $L -o "$S/headsongs49c" --songs --hours 0.8 --seed 49 "${FONTS[@]}"
                 [ -f "$S/headleads46c/manifest.jsonl" ] || python $L -o "$S/headleads46c" --hours 0.3 --seed 46 --expression 0.6 --noise 0.6 --programs $P42 "${FONTS[@]}"
                 [ -f "$S/headleads50c/manifest.jsonl" ] || python $L -o "$S/headleads50c" --hours 0.4 --seed 50 --expression 0.6 --noise 0.6 --programs $P43 "${FONTS[@]}"
                 [ -f "$S/headspeech47c/manifest.jsonl" ] || python $L -o "$S/headspeech47c" --speech 0.8 --hours 0.3 --seed 47 "${FONTS[@]}"
                 [ -f "$S/headspeech51c/manifest.jsonl" ] || python $L -o "$S/headspeech51c" --speech 0.8 --hours 0.3 --seed 51 "${FONTS[@]}" ;;
esac
case "$CONFIG" in
  *round15.toml) audiodl train singing --config recipes/singing/conf/round14.toml --set seed=42 ;;
esac
# 2. train (resumes from last.pt); the threshold is tuned on the validation files
for seed in $SEEDS; do
  name=$(python -c "import tomllib,sys; print(tomllib.load(open('$CONFIG','rb'))['name'])")${TAG:+_$TAG}
  set -- --set "seed=$seed" --set "name=$name"
  for kv in $SETS; do set -- "$@" --set "$kv"; done
  audiodl train singing --config "$CONFIG" "$@"
  run="$D/runs/singing/$name-seed$seed"
  # 2b. median length and threshold re-tuned on the validation files (never test)
  case "$CONFIG" in
    *ci.toml) ;;
    *round1[1-9].toml|*round2[02].toml|*zeromean.toml)  # VSFX: the corpora of step 1b (c: without MuseScore General)
       python recipes/singing/retune.py --model "$run/$name.json" --join-gap 0.5 \
           --max-negative-fp 0.05 --max-file-fp 0.05 --medians 0.4,0.8,1.2,1.6 \
           --manifest "$D/singing/valid2/manifest.jsonl" --manifest "$D/singing/valid3$VSFX/manifest.jsonl" \
           --manifest "$D/singing/leads42$VSFX/manifest.jsonl" ;;
    *) python recipes/singing/retune.py --model "$run/$name.json" \
           --manifest "$D/singing/valid2/manifest.jsonl" --max-negative-fp 0.05 ;;
  esac
  # 3. test: every file, the held-out engine and the hard negatives separately
  case "$CONFIG" in
    *ci.toml) manifest="$D/ci/singing/manifest.jsonl" ;;
    *)        manifest="$D/singing/test2/manifest.jsonl" ;;
  esac
  card="$run/$name.json"
  case "$CONFIG" in  # round 19: every 5th epoch's snapshot scored as the rule says; the best is tested
    *round19.toml)
       python recipes/singing/snapshots.py "$run" --out "$run/snapshots.json" -- --join-gap 0.5 \
           --max-negative-fp 0.05 --max-file-fp 0.05 --medians 0.4,0.8,1.2,1.6 \
           --manifest "$D/singing/valid2/manifest.jsonl" --manifest "$D/singing/valid3c/manifest.jsonl" \
           --manifest "$D/singing/leads42c/manifest.jsonl"
       card="$D/runs/singing/$(python -c "import json; print(json.load(open('$run/snapshots.json'))['candidates'][0]['card'])")"
       # the chosen snapshot's decoder: threshold or hysteresis, on the same files + valid4
       # (conf/round19.toml, addenda 1 and 2)
       audiodl synth singing -o "$D/singing/valid4" --hours 0.3 --seed 27
       python recipes/singing/retune.py --model "$card" --methods threshold,hysteresis --join-gap 0.5 \
           --max-negative-fp 0.05 --max-file-fp 0.05 --medians 0.4,0.8,1.2,1.6 \
           --manifest "$D/singing/valid2/manifest.jsonl" --manifest "$D/singing/valid3c/manifest.jsonl" \
           --manifest "$D/singing/leads42c/manifest.jsonl" --manifest "$D/singing/valid4/manifest.jsonl" ;;
    *round2[02].toml)  # every candidate with both decision rules, on the 96 files (its header)
       python recipes/singing/snapshots.py "$run" --out "$run/snapshots.json" -- \
           --methods threshold,hysteresis --join-gap 0.5 \
           --max-negative-fp 0.05 --max-file-fp 0.05 --medians 0.4,0.8,1.2,1.6 \
           --manifest "$D/singing/valid2/manifest.jsonl" --manifest "$D/singing/valid3c/manifest.jsonl" \
           --manifest "$D/singing/leads42c/manifest.jsonl" --manifest "$D/singing/valid4/manifest.jsonl"
       card="$D/runs/singing/$(python -c "import json; print(json.load(open('$run/snapshots.json'))['candidates'][0]['card'])")" ;;
  esac
  python recipes/singing/evaluate.py --model "$card" --manifest "$manifest" \
      --out "$run/test.json" --speed --into-card
done
