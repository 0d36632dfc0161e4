#!/usr/bin/env bash
# Sets the image tag of every ReefGuard image in one Kustomize overlay (the deploy values
# model-ci bumps after a green build):  infra/ci/bump-image-tag.sh prod 3f2c1ab
# Only the newTag lines change, so comments and layout of the overlay stay as reviewed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
overlay=${1:?usage: bump-image-tag.sh OVERLAY TAG}
tag=${2:?usage: bump-image-tag.sh OVERLAY TAG}
file="$ROOT/infra/k8s/overlays/$overlay/kustomization.yaml"
[ -f "$file" ] || { echo "no overlay $overlay ($file)" >&2; exit 2; }
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "'$tag' is not a valid image tag" >&2; exit 2; }
before=$(grep -c '^    newTag: ' "$file" || true)
[ "$before" -gt 0 ] || { echo "$file has no images to bump" >&2; exit 2; }
sed -i -E "s/^(    newTag: ).*/\1$tag/" "$file"
echo "$overlay: $before images now tagged $tag"
