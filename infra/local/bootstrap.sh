#!/usr/bin/env bash
# Installs everything ReefGuard needs on a fresh machine, and does nothing when it is done:
# pnpm, the Node packages (frozen lockfile), the TypeScript build, the trainer's Python
# environment (pinned by trainer/requirements.lock) and the Debian brokers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  step "pnpm $PNPM_VERSION"
  npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

stamp=node_modules/.reefguard-stamp
want=$(hash_of pnpm-lock.yaml package.json pnpm-workspace.yaml */package.json)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "Node packages (pnpm install --frozen-lockfile)"
  # onnxruntime-node's installer would fetch optional GPU files; its CPU binaries ship inside.
  ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile --reporter=append-only | tail -n 5
  echo "$want" >"$stamp"
fi

step "TypeScript build (tsc -b)"
node_modules/.bin/tsc -b && touch core/dist/.build-stamp

PYTHON=${REEFGUARD_PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
venv=trainer/.venv
want=$(hash_of trainer/requirements.lock trainer/pyproject.toml)
if [ "$(cat "$venv/.reefguard-stamp" 2>/dev/null)" != "$want" ]; then
  step "trainer environment ($venv, pinned by trainer/requirements.lock; torch is large, pip caches it)"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r trainer/requirements.lock
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e trainer
  echo "$want" >"$venv/.reefguard-stamp"
fi

step "local brokers (Debian packages)"
bash infra/local/install-services.sh
echo "bootstrap complete"
