"""A label-free look at later years: does the model still follow the heat stress?

The shipped products cover years the shipped surveys do not (annual maximum DHW and cyclone
hours up to 2017; GBR aerial surveys only of 1998 and 2002). For such a year every GBR pixel
gets the evaluate features through the same code as training (`./reefguard features export`
on a GBR aerial file listing every pixel with a `bleach_YYYY` column: the category written
there is a placeholder and never read as a label), and the model's risk is compared with the
year's annual maximum DHW: Spearman and Kendall rank correlation, and the share of pixel pairs
(with different DHW) that the model orders the other way round.

This is NO skill number: there are no labels. It shows whether the model would keep DHW's
ranking on a year like 2016, where NOAA's annual maximum DHW alone scores AUROC 0.93.
"""

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats

from reefguard_trainer.data import TrainingSet, load_training_set

LATER_YEARS = (2016, 2017)
DHW_TABLE = "gbr_dhw_annual_max_1985_2017.parquet"
PIXEL_COLUMNS = ["PIXEL_ID", "REEF_ID", "lon", "lat"]
PLACEHOLDER_CATEGORY = 0
PAIR_SAMPLE = 2_000_000

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(features [n, F] in card order, chips) -> risk [n]."""


def check_years(data_dir: Path, years: tuple[int, ...]) -> None:
    """Raises naming the years the shipped DHW table lacks (checked before training starts)."""
    columns = pq.read_schema(data_dir / DHW_TABLE).names
    missing = [y for y in years if f"annMaxDHW_{y}" not in columns]
    if missing:
        covered = sorted(int(c[-4:]) for c in columns if c.startswith("annMaxDHW_"))
        raise ValueError(
            f"{data_dir / DHW_TABLE} has no annual maximum DHW for {missing}: the shipped "
            f"products cover {covered[0]}-{covered[-1]}"
        )


def write_pixel_observations(data_dir: Path, years: tuple[int, ...], path: Path) -> Path:
    """Every pixel of the shipped DHW table as a GBR aerial file with one column per year."""
    check_years(data_dir, years)
    pixels = pd.read_parquet(data_dir / DHW_TABLE, columns=PIXEL_COLUMNS)
    for year in years:
        pixels[f"bleach_{year}"] = PLACEHOLDER_CATEGORY
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels.to_csv(path, index=False)
    return path


def export_pixel_features(repo_root: Path, data_dir: Path, years: tuple[int, ...], out: Path):
    """`./reefguard features export` of every pixel for `years` (the evaluate code path)."""
    observations = write_pixel_observations(data_dir, years, out / "pixels.csv")
    subprocess.run(
        [
            str(repo_root / "reefguard"),
            "features",
            "export",
            "--observations",
            str(observations),
            "--data-dir",
            str(data_dir),
            "--out",
            str(out / "set"),
        ],
        check=True,
        cwd=repo_root,
        stdout=subprocess.DEVNULL,
    )
    return load_training_set(out / "set")


def chip_shape_problem(pixels: TrainingSet, shape: tuple[int, ...]) -> str | None:
    """Why the model cannot score the pixel export's chips, or None."""
    if tuple(pixels.chips.shape[1:]) == tuple(shape):
        return None
    return (
        f"the pixel export's chips are {tuple(pixels.chips.shape[1:])}, the model's "
        f"{tuple(shape)} (a training set with another chip spec than `./reefguard features "
        "export`'s)"
    )


def inverted_pair_share(risk: np.ndarray, dhw: np.ndarray, seed: int = 0) -> float:
    """Share of pixel pairs with different DHW that the risk orders the other way round or
    ties (estimated on PAIR_SAMPLE random pairs; its standard error is below 0.0004)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(risk), PAIR_SAMPLE)
    b = rng.integers(0, len(risk), PAIR_SAMPLE)
    heat = np.sign(dhw[a] - dhw[b])
    keep = heat != 0
    if not keep.any():
        return 0.0
    order = np.sign(risk[a].astype(np.float64) - risk[b].astype(np.float64))
    return float(np.mean(order[keep] != heat[keep]))


def rank_agreement(risk: np.ndarray, dhw: np.ndarray) -> dict[str, Any]:
    known = ~np.isnan(dhw)
    risk, dhw = risk[known], dhw[known]
    spearman = stats.spearmanr(risk, dhw).statistic
    kendall = stats.kendalltau(risk, dhw).statistic
    return {
        "pixels": len(risk),
        "spearman": float(spearman),
        "kendall_tau_b": float(kendall),
        "inverted_pair_share": inverted_pair_share(risk, dhw),
        "risk_p10_p50_p90": [float(q) for q in np.percentile(risk, [10, 50, 90])],
    }


def year_rows(pixels: TrainingSet, year: int) -> np.ndarray:
    return np.flatnonzero((pixels.rows["event"] == f"gbr-{year}").to_numpy())


def later_year_agreement(
    pixels: TrainingSet,
    features: list[str],
    scorers: dict[str, Scorer],
    years: tuple[int, ...],
) -> tuple[list[dict[str, Any]], dict[int, tuple[np.ndarray, dict[str, np.ndarray]]]]:
    """Per year and scorer: rank agreement of the risk with the annual maximum DHW; and per
    year every pixel's DHW and each scorer's risk, for the scatter plot."""
    x = pixels.matrix(features)
    dhw = pixels.rows["dhw_max_ytd"].to_numpy(dtype=np.float64)
    table = []
    points = {}
    for year in years:
        i = year_rows(pixels, year)
        if len(i) == 0:
            raise ValueError(f"the pixel export has no rows of {year}")
        entry: dict[str, Any] = {"year": year, "dhw_max": float(np.nanmax(dhw[i]))}
        risks = {}
        for name, scorer in scorers.items():
            risks[name] = scorer(x[i], pixels.chips[i])
            entry[name] = rank_agreement(risks[name], dhw[i])
        points[year] = (dhw[i], risks)
        table.append(entry)
    return table, points
