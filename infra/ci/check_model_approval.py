"""Fails unless every model version at the `challenger` or `champion` alias is listed in
models/approved_models.txt (the seed's gated promotion: that file changes only by reviewed
pull request). Aliases come from the MLflow registry's REST API, or from the trainer's local
model store (<dir>/<name>/aliases.json) when no MLflow server is configured.

    python3 infra/ci/check_model_approval.py --mlflow URL [--token-env VAR]
    python3 infra/ci/check_model_approval.py --local-registry .reefguard/models

Standard library only, so any Python 3 runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ALIASES = ("challenger", "champion")
DEFAULT_MODEL = "reefguard-bleaching-risk"
DEFAULT_APPROVED = "models/approved_models.txt"


def read_approved(path: Path) -> set[tuple[str, str]]:
    """`name version [sha256]` per line, `#` comments (the format serving's promote reads)."""
    approved = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            fields = line.split()
            if len(fields) < 2:
                raise SystemExit(f"{path}: '{raw}' is not '<name> <version> [sha256]'")
            approved.add((fields[0], fields[1]))
    return approved


def mlflow_alias(base: str, name: str, alias: str, token: str | None) -> str | None:
    query = urllib.parse.urlencode({"name": name, "alias": alias})
    request = urllib.request.Request(
        f"{base.rstrip('/')}/api/2.0/mlflow/registered-models/alias?{query}"
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.load(response)["model_version"]["version"])
    except urllib.error.HTTPError as error:
        # MLflow answers 404 RESOURCE_DOES_NOT_EXIST for an alias that is not set.
        if error.code == 404:
            return None
        raise SystemExit(
            f"MLflow {base} answered {error.code} for alias {alias}: {error.read()[:200]!r}"
        ) from error
    except urllib.error.URLError as error:
        raise SystemExit(f"MLflow {base} is unreachable: {error.reason}") from error


def local_alias(root: Path, name: str, alias: str) -> str | None:
    path = root / name / "aliases.json"
    if not path.exists():
        return None
    value = json.loads(path.read_text()).get(alias)
    return None if value is None else str(value)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mlflow", help="MLflow tracking server URL")
    source.add_argument("--local-registry", type=Path, help="the local model store's root folder")
    parser.add_argument(
        "--token-env",
        default="REEFGUARD_MLFLOW_TRACKING_TOKEN",
        help="variable holding the MLflow bearer token",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--approved", type=Path, default=Path(DEFAULT_APPROVED))
    args = parser.parse_args(argv)

    approved = read_approved(args.approved)
    failures = 0
    for alias in ALIASES:
        if args.mlflow:
            version = mlflow_alias(args.mlflow, args.model, alias, os.environ.get(args.token_env))
        else:
            version = local_alias(args.local_registry, args.model, alias)
        if version is None:
            print(f"ok    {alias:<10} not set")
        elif (args.model, version) in approved:
            print(f"ok    {alias:<10} {args.model} {version} is in {args.approved}")
        else:
            print(f"FAIL  {alias:<10} {args.model} {version} is not in {args.approved}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
