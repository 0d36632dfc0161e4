"""Read the training-set directory written by `./reefguard features export`.

The directory is core's contract (core/src/contracts/training-set.ts): `training-set.parquet`
(one row per observation, one float64 column per catalogue feature, NaN when unknown),
`chips.arrow` (row_id + float32 chip, channels x size x size) and `manifest.json`.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.ipc as ipc

from reefguard_trainer import contracts

TABLE_FILE = "training-set.parquet"
CHIPS_FILE = "chips.arrow"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class TrainingSet:
    rows: pd.DataFrame
    """Observations in row_id order."""
    chips: np.ndarray
    """float32 [n, channels, size, size], aligned with `rows`."""
    manifest: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def data_version(self) -> str:
        return str(self.manifest["data_version"])

    def matrix(self, features: list[str] | None = None) -> np.ndarray:
        """Features as float32 [n, F] in the given order (NaN = unknown)."""
        names = features or self.features
        return self.rows[names].to_numpy(dtype=np.float32)

    @property
    def labels(self) -> np.ndarray:
        return self.rows["label"].to_numpy(dtype=np.int64)

    def subset(self, index: np.ndarray) -> "TrainingSet":
        rows = self.rows.iloc[index].reset_index(drop=True)
        return TrainingSet(rows=rows, chips=self.chips[index], manifest=self.manifest)


def load_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: make a training set with `./reefguard features export --out DIR`"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    contracts.validate("training-set-manifest", manifest)
    return manifest


def load_chips(path: Path, row_ids: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Chips reordered to `row_ids`; raises when a row has no chip."""
    with ipc.open_file(path) as reader:
        table = reader.read_all()
    ids = table.column("row_id").to_numpy()
    flat = table.column("chip").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    chips = flat.astype(np.float32, copy=False).reshape(len(ids), *shape)
    position = pd.Series(np.arange(len(ids)), index=ids)
    missing = np.setdiff1d(row_ids, ids)
    if len(missing):
        raise ValueError(f"{path}: no chip for row_id {missing[:5].tolist()}")
    return chips[position.loc[row_ids].to_numpy()]


def load_training_set(directory: Path) -> TrainingSet:
    manifest = load_manifest(directory)
    rows = pd.read_parquet(directory / TABLE_FILE).sort_values("row_id").reset_index(drop=True)
    missing = [name for name in manifest["features"] if name not in rows.columns]
    if missing:
        raise ValueError(f"{directory / TABLE_FILE}: feature columns missing: {missing}")
    chip = manifest["chip"]
    shape = (len(chip["channels"]), int(chip["size_px"]), int(chip["size_px"]))
    chips = load_chips(directory / CHIPS_FILE, rows["row_id"].to_numpy(), shape)
    return TrainingSet(rows=rows, chips=chips, manifest=manifest)
