"""Validation folds that reflect use: whole events held out, plus spatial blocks.

A fold holds out one event group (a whole bleaching year: gbr-1998, gbr-2002, or a block of
consecutive GCBD survey years) inside one spatial block, and trains only on rows that are in
neither: other years AND other places. Rows of the same reef in another year therefore never
teach the model about the held-out reef. Never random row splits.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPATIAL_BLOCKS = 4
GCBD_YEARS_PER_GROUP = 4
GCBD_CELL_DEG = 10.0


@dataclass(frozen=True)
class Fold:
    name: str
    train: np.ndarray
    test: np.ndarray


def assign_event_groups(events: pd.Series) -> pd.Series:
    """GBR events stay whole; GCBD years are grouped so every group has positives."""

    def group(event: str) -> str:
        source, _, year = event.rpartition("-")
        if source != "gcbd" or not year.isdigit():
            return event
        start = 1998 + (int(year) - 1998) // GCBD_YEARS_PER_GROUP * GCBD_YEARS_PER_GROUP
        return f"gcbd-{start}-{start + GCBD_YEARS_PER_GROUP - 1}"

    return events.map(group)


def assign_spatial_blocks(rows: pd.DataFrame, blocks: int = SPATIAL_BLOCKS) -> np.ndarray:
    """GBR: latitude bands of equal row count (the reef runs north-south); GCBD: 10-degree
    cells spread over the blocks. Contiguous blocks keep neighbouring reefs together."""
    block = np.zeros(len(rows), dtype=np.int64)
    gbr = (rows["source"] == "gbr-aerial").to_numpy()
    lat = rows["lat"].to_numpy()
    lon = rows["lon"].to_numpy()
    if gbr.any():
        edges = np.quantile(lat[gbr], np.linspace(0, 1, blocks + 1)[1:-1])
        block[gbr] = np.searchsorted(edges, lat[gbr])
    cells = np.floor(lat[~gbr] / GCBD_CELL_DEG) * 1000 + np.floor(lon[~gbr] / GCBD_CELL_DEG)
    block[~gbr] = (cells.astype(np.int64) * 7919) % blocks
    return block


def make_folds(rows: pd.DataFrame, blocks: int = SPATIAL_BLOCKS) -> list[Fold]:
    """One fold per (event group, spatial block) with test rows; every row is tested once."""
    groups = assign_event_groups(rows["event"]).to_numpy()
    spatial = assign_spatial_blocks(rows, blocks)
    folds = []
    for group in sorted(set(groups)):
        for block in range(blocks):
            test = np.flatnonzero((groups == group) & (spatial == block))
            if len(test) == 0:
                continue
            train = np.flatnonzero((groups != group) & (spatial != block))
            folds.append(Fold(f"{group}/block{block}", train, test))
    return folds


def make_event_folds(rows: pd.DataFrame) -> list[Fold]:
    """Coarser folds for tuning: one per event group, no spatial blocking (fewer fits)."""
    groups = assign_event_groups(rows["event"]).to_numpy()
    return [
        Fold(group, np.flatnonzero(groups != group), np.flatnonzero(groups == group))
        for group in sorted(set(groups))
    ]
