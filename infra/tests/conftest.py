"""Shared fixtures of the infra tests: the repository root, the pinned kustomize that
infra/ci/static-checks.sh installs, and every overlay rendered once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
OVERLAYS = sorted(p.name for p in (ROOT / "infra/k8s/overlays").iterdir() if p.is_dir())


def kustomize_binary() -> str:
    path = os.environ.get("KUSTOMIZE", str(ROOT / ".reefguard/tools/bin/kustomize"))
    if not Path(path).exists():
        pytest.fail(f"kustomize not found at {path}: run infra/ci/static-checks.sh --install")
    return path


def build(target: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kustomize_binary(), "build", str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kustomize build {target} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """{overlay name: objects} for base and every overlay."""
    out = {"base": build(ROOT / "infra/k8s/base")}
    for name in OVERLAYS:
        out[name] = build(ROOT / "infra/k8s/overlays" / name)
    return out


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]
