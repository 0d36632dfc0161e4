"""Does heat stress around a reef rank bleaching better than the reef pixel's own DHW?

A report, not a feature: for every GBR pixel, the maximum and the mean annual maximum DHW of
the shipped pixels within 5, 10 and 20 km (dhw.csv, haversine), scored by AUROC against the
aerial labels (category >= 2) of 1998 and 2002, on each whole event and on the trainer's
event x spatial blocks (latitude bands of equal row count, splits.assign_spatial_blocks, 2
and 4 blocks). A neighbourhood feature would have to win every one of these units to pass the
trainer's rule (learned parts lose no held-out event and no event x block).

GCBD: CoRTAD gives TSA_DHW only at each survey site, so there is no gridded neighbourhood of
heat stress. The closest stand-in, reported as such, is the TSA_DHW of the other surveys
within the radius and 30 days (their own survey weeks), per event group of the trainer.

Run from the repository root: trainer/.venv/bin/python trainer/analysis/neighbourhood_dhw.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import BallTree

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
EARTH_RADIUS_KM = 6371.0
RADII_KM = (5, 10, 20)
DAYS = 30
MIN_POSITIVES = 10
GCBD_YEARS_PER_GROUP = 4


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    if labels.sum() < MIN_POSITIVES or labels.sum() == len(labels):
        return float("nan")
    return float(roc_auc_score(labels, scores))


def neighbourhoods(tree: BallTree, points: np.ndarray, values: np.ndarray) -> dict:
    """Max and mean of `values` over the tree's points within each radius of each point."""
    out = {}
    for km in RADII_KM:
        found = tree.query_radius(points, r=km / EARTH_RADIUS_KM)
        out[f"max{km}"] = np.array([np.nanmax(values[i]) for i in found])
        out[f"mean{km}"] = np.array([np.nanmean(values[i]) for i in found])
    return out


def gbr_table(blocks: int) -> pd.DataFrame:
    dhw = pd.read_parquet(SAMPLE / "gbr_dhw_annual_max_1985_2017.parquet")
    aerial = pd.read_parquet(SAMPLE / "gbr_aerial_bleaching_1998_2002.parquet")
    pixels = dhw.merge(aerial.drop(columns=["lon", "lat"]), on="PIXEL_ID", how="left")
    xy = np.radians(pixels[["lat", "lon"]].to_numpy())
    tree = BallTree(xy, metric="haversine")
    labelled = [pixels[f"bleach_{y}"].notna().to_numpy() for y in (1998, 2002)]
    lat_all = np.concatenate([pixels["lat"].to_numpy()[ok] for ok in labelled])
    edges = np.quantile(lat_all, np.linspace(0, 1, blocks + 1)[1:-1])
    rows = []
    for year, ok in zip((1998, 2002), labelled, strict=True):
        values = pixels[f"annMaxDHW_{year}"].to_numpy(float)
        scores = {"pixel": values, **neighbourhoods(tree, xy, values)}
        y = (pixels[f"bleach_{year}"][ok] >= 2).astype(int).to_numpy()
        block = np.searchsorted(edges, pixels["lat"].to_numpy()[ok])
        units = [(f"GBR {year}", np.ones(len(y), bool))]
        units += [(f"GBR {year} block {k}/{blocks}", block == k) for k in range(blocks)]
        for unit, inside in units:
            row = {"unit": unit, "n": int(inside.sum()), "positives": int(y[inside].sum())}
            row |= {name: auroc(y[inside], s[ok][inside]) for name, s in scores.items()}
            rows.append(row)
    return pd.DataFrame(rows).drop_duplicates("unit")


def gcbd_table() -> pd.DataFrame:
    g = pd.read_parquet(SAMPLE / "gcbd_reefcheck_1998_2015.parquet")
    g = g[g.Average_Bleaching.between(0, 100) & g.TSA_DHW.notna()].reset_index(drop=True)
    dates = pd.to_datetime(g.Date)
    day = dates.map(lambda d: d.toordinal()).to_numpy()
    group = (
        1998 + (dates.dt.year - 1998) // GCBD_YEARS_PER_GROUP * GCBD_YEARS_PER_GROUP
    ).to_numpy()
    y = (g.Average_Bleaching >= 10).astype(int).to_numpy()
    xy = np.radians(g[["Latitude_Degrees", "Longitude_Degrees"]].to_numpy())
    tree = BallTree(xy, metric="haversine")
    tsa = g.TSA_DHW.to_numpy()
    scores = {"site": tsa}
    for km in RADII_KM:
        found = tree.query_radius(xy, r=km / EARTH_RADIUS_KM)
        near = [i[np.abs(day[i] - day[j]) <= DAYS] for j, i in enumerate(found)]
        scores[f"max{km}"] = np.array([tsa[i].max() for i in near])
        scores[f"mean{km}"] = np.array([tsa[i].mean() for i in near])
        scores[f"surveys{km}"] = np.array([len(i) for i in near], float)
    units = [(f"GCBD {s}-{s + 3}", group == s) for s in sorted(set(group))]
    rows = []
    for unit, inside in [*units, ("GCBD all", np.ones(len(y), bool))]:
        row = {"unit": unit, "n": int(inside.sum()), "positives": int(y[inside].sum())}
        for name, s in scores.items():
            row[name] = (
                float(np.median(s[inside]))
                if name.startswith("surveys")
                else auroc(y[inside], s[inside])
            )
        rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    for blocks in (2, 4):
        print(f"GBR: AUROC of the pixel's annual max DHW vs its neighbourhood ({blocks} blocks)")
        print(gbr_table(blocks).round(3).to_string(index=False), end="\n\n")
    print("GCBD: site TSA_DHW vs other surveys within the radius and 30 days (median count)")
    print(gcbd_table().round(3).to_string(index=False))
