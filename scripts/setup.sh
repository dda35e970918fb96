#!/usr/bin/env bash
# Install audiodl (and the torch/torchaudio pair it is tested with). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --disable-pip-version-check -q 'torch==2.14.1' 'torchaudio==2.11.0'
"$PY" -m pip install --disable-pip-version-check -q .
