#!/usr/bin/env bash
# Install what the tests need (system packages, the package with its test
# extras) and run the default test suite. Idempotent; run as root on a fresh
# Debian machine (CI does: .ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ -f scripts/install-system-deps.sh ]; then
    bash scripts/install-system-deps.sh
fi
# the same editable install as scripts/setup.sh, plus the test extras
bash scripts/install.sh test
if [ -n "${AUDIODL_INSTALL_ONLY:-}" ]; then
    exit 0
fi

# lint (pyflakes, pycodestyle errors, bugbear; settings in pyproject.toml)
"$PY" -m ruff check -q audiodl tests bench recipes

# pytest exits 5 when it collects no test: that is a failure here, not green.
exec "$PY" -m pytest -q "$@"
