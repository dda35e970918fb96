#!/usr/bin/env bash
# Install audiodl the one way both README commands use: editable, from this
# clone, with the torch/torchaudio pair it is tested with. Idempotent.
#     bash scripts/install.sh            # the package (scripts/setup.sh)
#     bash scripts/install.sh test       # + test extras (scripts/test.sh)
# Afterwards `audiodl --version` must work; a stale `audiodl` folder left in
# site-packages by an older regular install (numba caches that pip did not
# know about) would shadow the editable install, so it is removed first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${1:-}
PIP=("$PY" -m pip install --disable-pip-version-check -q)

# torch 2.14.1 + torchaudio 2.11.0 (the pair that loads together); never a newer torch
"${PIP[@]}" 'torch==2.14.1' 'torchaudio==2.11.0'

# an `audiodl` folder without __init__.py in site-packages is debris, not a package
"$PY" - <<'PYEOF'
import os, shutil, site, sysconfig
dirs = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
for d in dirs:
    p = os.path.join(d, "audiodl")
    if os.path.isdir(p) and not os.path.exists(os.path.join(p, "__init__.py")):
        print(f"install.sh: removing stale {p} (left behind by an old install)")
        shutil.rmtree(p)
PYEOF

if [ -n "$EXTRAS" ]; then
    "${PIP[@]}" -e ".[$EXTRAS]"
else
    "${PIP[@]}" -e .
fi

# the console script must work from any directory, not only from this clone
BIN=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["scripts"])')
(cd / && "$BIN/audiodl" --version >/dev/null) || {
    echo "install.sh: 'audiodl --version' fails after installing" >&2; exit 1; }
