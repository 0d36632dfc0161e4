#!/usr/bin/env bash
# Runs every test: TypeScript (vitest) and Python (pytest), against a private broker stack
# started for this run and stopped afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export REEFGUARD_STATE_DIR="$ROOT/.reefguard/test"
# Tests that need Prometheus and Alertmanager start their own (test/src/monitoring*.test.ts).
./reefguard services start --without monitoring
trap './reefguard services stop >/dev/null' EXIT
# shellcheck disable=SC1091
source "$REEFGUARD_STATE_DIR/services/services.env"

status=0
node_modules/.bin/vitest run || status=$?
trainer/.venv/bin/pytest -q trainer/tests || status=$?
exit "$status"
