"""The model card (core's modelCardSchema): what the ONNX graph expects and how good it is."""

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from reefguard_trainer import contracts
from reefguard_trainer.catalog import describe, tree_constraints

MODEL_NAME = "reefguard-bleaching-risk"
PSI_BINS = 10
CARD_FILE = "model-card.json"


def compute_psi_reference(values: np.ndarray, bins: int = PSI_BINS) -> dict[str, list[float]]:
    """10 quantile bins of the training values (NaN left out); duplicate edges merged."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {"edges": [0.0, 1.0], "shares": [0.0]}
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1e-6])
    counts = np.histogram(finite, bins=edges)[0]
    shares = counts / counts.sum()
    return {"edges": [float(e) for e in edges], "shares": [float(s) for s in shares]}


def describe_features(x: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    described = []
    for j, (name, direction) in enumerate(zip(names, tree_constraints(names), strict=True)):
        column = x[:, j].astype(np.float64)
        info = describe(name)
        described.append(
            {
                "name": name,
                "unit": info.unit,
                "mean": float(np.nan_to_num(np.nanmean(column))),
                "std": float(np.nan_to_num(np.nanstd(column))),
                "monotone": direction,
                "psi_reference": compute_psi_reference(column),
            }
        )
    return described


def read_code_version(root: Path) -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "trainer"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{sha}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_card(**fields: Any) -> dict[str, Any]:
    """Assembles and validates a card; raises ContractError naming the offending field."""
    card = {
        "schema_version": 1,
        "name": MODEL_NAME,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        **fields,
    }
    contracts.validate("model-card", card)
    return card
