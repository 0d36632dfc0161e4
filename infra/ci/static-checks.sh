#!/usr/bin/env bash
# Every static check of the deployment descriptions, as `make check` and the workflows run
# them: Kustomize builds of every overlay, schema checks of the rendered manifests, checkov
# over Terraform, Kubernetes, Dockerfiles and workflows, actionlint, shellcheck, the infra
# tests (pytest) and the cost report. Installs its own pinned tools under .reefguard/tools
# (Go tools from the Go module proxy, Python tools from PyPI) and does nothing when they are
# there. Nothing here talks to a cluster or a cloud account: see README "Infrastructure".
#   infra/ci/static-checks.sh            all checks
#   infra/ci/static-checks.sh --install  only install the tools
#   infra/ci/static-checks.sh --tests    only the infra tests (what `make test` runs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.reefguard/tools"
BIN="$TOOLS/bin"
OUT="$ROOT/.reefguard/infra"
PYTHON=${REEFGUARD_PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
step() { printf '\n== infra: %s\n' "$*"; }

# Versions: kustomize 5.8.0 is the newest that builds with Go 1.26 (5.8.1+ needs Go 1.27).
KUSTOMIZE_VERSION=v5.8.0
ACTIONLINT_VERSION=v1.7.12

go_tool() { # name module version
  local name=$1 module=$2 version=$3
  if [ "$(cat "$BIN/.$name.version" 2>/dev/null)" != "$version" ] || [ ! -x "$BIN/$name" ]; then
    step "installing $name $version (go install)"
    mkdir -p "$BIN"
    GOBIN="$BIN" GOFLAGS=-mod=mod go install "$module@$version"
    echo "$version" >"$BIN/.$name.version"
  fi
}

python_env() { # dir lockfile
  local dir=$1 lock=$2 want
  want=$(sha256sum "$lock" | cut -c1-16)
  if [ "$(cat "$dir/.reefguard-stamp" 2>/dev/null)" != "$want" ]; then
    step "installing $(basename "$dir") environment (pinned by $lock)"
    [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$lock"
    echo "$want" >"$dir/.reefguard-stamp"
  fi
}

install_tools() {
  # Python environments download while the Go tools compile (each waits on something else).
  python_env "$TOOLS/infra-py" infra/ci/requirements-infra.lock &
  local infra_py=$!
  python_env "$TOOLS/checkov" infra/ci/requirements-checkov.lock &
  local checkov=$!
  go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
  go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
  wait "$infra_py"
  wait "$checkov"
  if ! command -v shellcheck >/dev/null; then
    step "installing shellcheck (Debian)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
  fi
}

run_tests() {
  step "infra tests (pytest infra/tests)"
  KUSTOMIZE="$BIN/kustomize" "$TOOLS/infra-py/bin/pytest" -q -p no:cacheprovider infra/tests
}

install_tools
case "${1:-}" in
  --install) exit 0 ;;
  --tests) run_tests; exit ;;
esac
export PATH="$BIN:$PATH"
mkdir -p "$OUT/rendered"
start=$(date +%s)

step "kustomize build: base and every overlay"
kustomize build infra/k8s/base >"$OUT/rendered/base.yaml"
for overlay in infra/k8s/overlays/*/; do
  name=$(basename "$overlay")
  kustomize build "$overlay" >"$OUT/rendered/$name.yaml"
  echo "  $name: $(grep -c '^kind:' "$OUT/rendered/$name.yaml") objects"
  # Where kubectl is installed, its built-in Kustomize must render the same manifests.
  if command -v kubectl >/dev/null; then
    kubectl kustomize "$overlay" | diff -q - "$OUT/rendered/$name.yaml" >/dev/null ||
      { echo "kubectl kustomize $overlay differs from kustomize $KUSTOMIZE_VERSION" >&2; exit 1; }
    echo "  $name: kubectl kustomize renders the same"
  fi
done

step "actionlint .github/workflows (with shellcheck on every run: block)"
actionlint -no-color .github/workflows/*.yml

step "ruff: infra Python (infra/ruff.toml)"
"$TOOLS/infra-py/bin/ruff" check infra
"$TOOLS/infra-py/bin/ruff" format --check infra

if [ -x node_modules/.bin/tsc ]; then
  step "tsc: infra/ci TypeScript (after make bootstrap)"
  node_modules/.bin/tsc -p infra/ci/tsconfig.json
fi

step "shellcheck infra/ci infra/monitoring"
shellcheck infra/ci/*.sh infra/monitoring/*.sh

if command -v terraform >/dev/null; then
  step "terraform fmt -check (terraform $(terraform version 2>/dev/null | head -1 | cut -d' ' -f2))"
  terraform fmt -check -recursive -diff infra/terraform
else
  # terraform itself is not on the package registries this project installs from.
  step "terraform fmt: skipped, terraform is not installed (checkov and the HCL tests still run)"
fi

step "checkov: Terraform, rendered Kubernetes, Dockerfiles, GitHub workflows"
"$TOOLS/checkov/bin/checkov" --quiet --compact --skip-download --framework terraform \
  --directory infra/terraform --config-file infra/ci/checkov.yaml
"$TOOLS/checkov/bin/checkov" --quiet --compact --skip-download --framework kubernetes \
  --file "$OUT/rendered/dev.yaml" --file "$OUT/rendered/prod.yaml" --config-file infra/ci/checkov.yaml
"$TOOLS/checkov/bin/checkov" --quiet --compact --skip-download --framework dockerfile \
  --directory infra/docker --config-file infra/ci/checkov.yaml
"$TOOLS/checkov/bin/checkov" --quiet --compact --skip-download --framework github_actions \
  --directory .github/workflows --config-file infra/ci/checkov.yaml

step "cost report (infra/cost)"
"$TOOLS/infra-py/bin/python" infra/cost/estimate.py --check

step "monitoring: promtool check/test rules, amtool check-config and routes"
bash infra/monitoring/check.sh

run_tests

echo "infra static checks passed in $(($(date +%s) - start)) s"
