#!/usr/bin/env bash
# Install the Debian packages that audiodl's data subsystem and its tests need.
#
# Idempotent; run as root on Debian bookworm (CI, developers, README):
#     sudo bash scripts/install-system-deps.sh            # core set (CI)
#     sudo bash scripts/install-system-deps.sh --full     # + FluidR3_GM, extra music/voices
#
# - enables contrib/non-free (MBROLA voices live there), only once;
# - runs `apt-get update` only when a package is missing, so a second run is a
#   fast no-op.
set -euo pipefail

FULL=0
for arg in "$@"; do
    case "$arg" in
        --full) FULL=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

export DEBIAN_FRONTEND=noninteractive

# Core: everything the tests and the CI-sized corpora use (~150 MB download).
PACKAGES=(
    ffmpeg sox libsndfile1
    fluidsynth libfluidsynth3 timgm6mb-soundfont
    flite espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-en1
    festival festvox-kallpc16k
    asterisk-core-sounds-en asterisk-core-sounds-en-wav asterisk-core-sounds-en-g722
    asterisk-core-sounds-es asterisk-core-sounds-es-wav asterisk-core-sounds-es-g722
    hyperrogue-music fretsonfire-songs-muldjord
    libchromaprint-tools  # fpcalc: the Chromaprint baseline of recipes/similarity
)
# Full: larger soundfont, the bigger real-music packages, sound effects, voices (~750 MB).
if [ "$FULL" = 1 ]; then
    PACKAGES+=(
        fluid-soundfont-gm mbrola-us3
        wesnoth-1.16-music nexuiz-music
        # onset corpora: real drum one-shots (lmms-common: onsets_extra training material;
        # sonic-pi-samples: the test-only real-drum split onsets_realdrums; hydrogen-data:
        # GMRockKit for onsets_kits, not the reserved hydrogen-drumkits)
        lmms-common sonic-pi-samples hydrogen-data
        # music/speech "neither" data (sound themes, game and environmental effects) and
        # real voices (klettres), see audiodl.data.importers
        sound-theme-freedesktop oxygen-sounds deepin-sound-theme sound-icons
        heroes-sound-effects psi-plus-sounds eiskaltdcpp-sounds openttd-opensfx
        lbreakout2-data chromium-bsu-data pinball-data tuxpaint-data klettres-data
        simutrans-pak64 freeciv-data scorched3d-data
        torcs-data supertuxkart-data stormbaancoureur-data btanks-data dustracing2d-data
    )
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps.sh: must run as root (apt-get)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-deps.sh: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

# Enable contrib/non-free (deb822 sources of bookworm images, or a classic list).
changed=0
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ] && grep -q '^Components: main$' "$SRC"; then
    sed -i 's/^Components: main$/Components: main contrib non-free/' "$SRC"
    changed=1
fi
if [ -f /etc/apt/sources.list ] && grep -Eq '^deb .* main$' /etc/apt/sources.list; then
    sed -i -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list
    changed=1
fi
[ "$changed" = 1 ] && echo "install-system-deps.sh: enabled contrib non-free"

echo "install-system-deps.sh: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-system-deps.sh: done"
