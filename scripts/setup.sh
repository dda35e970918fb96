#!/usr/bin/env bash
# Install audiodl (editable, with torch==2.14.1/torchaudio==2.11.0). Idempotent.
# Same install as scripts/test.sh, so the two README commands can run in any order.
set -euo pipefail
exec bash "$(dirname "$0")/install.sh"
