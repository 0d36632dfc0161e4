"""Compares a candidate model's evaluation with production's on the same observations and
fails when the candidate is worse by more than the tolerance (the seed's 0.02) on any of
AUROC, PR-AUC, F1 (higher is better) or Brier score (lower is better). Both inputs are the
JSON `./reefguard evaluate --json` prints: {"n", "positives", "model": {...}, ...}.

    python3 infra/ci/compare_metrics.py production.json candidate.json [--tolerance 0.02]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HIGHER_IS_BETTER = ("auroc", "pr_auc", "f1")
LOWER_IS_BETTER = ("brier",)
DEFAULT_TOLERANCE = 0.02


def compare(
    production: dict, candidate: dict, tolerance: float
) -> list[tuple[str, float, float, bool]]:
    """(metric, production, candidate, passed) for every metric; raises on a different slice."""
    if (production["n"], production["positives"]) != (candidate["n"], candidate["positives"]):
        raise ValueError(
            "not the same evaluation slice: "
            f"production n={production['n']} positives={production['positives']}, "
            f"candidate n={candidate['n']} positives={candidate['positives']}"
        )
    rows = []
    for metric in HIGHER_IS_BETTER + LOWER_IS_BETTER:
        prod, cand = float(production["model"][metric]), float(candidate["model"][metric])
        regression = prod - cand if metric in HIGHER_IS_BETTER else cand - prod
        rows.append((metric, prod, cand, regression <= tolerance + 1e-12))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("production", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = parser.parse_args(argv)
    try:
        rows = compare(
            json.loads(args.production.read_text()),
            json.loads(args.candidate.read_text()),
            args.tolerance,
        )
    except (ValueError, KeyError) as error:
        print(f"cannot compare: {error}")
        return 2
    print(f"{'metric':<8} {'production':>10} {'candidate':>10}  (tolerance {args.tolerance})")
    for metric, prod, cand, passed in rows:
        print(f"{metric:<8} {prod:>10.4f} {cand:>10.4f}  {'ok' if passed else 'WORSE'}")
    return 0 if all(passed for *_, passed in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
