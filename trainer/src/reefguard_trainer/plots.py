"""Training plots for MLflow and the skill page: reliability diagram, per-event skill (model,
CRW rule, DHW logistic), risk map, later-year rank agreement with DHW."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def reliability_table(risk: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """Per predicted-risk decile bin (0-0.1, ...): rows, mean predicted, observed rate."""
    which = np.clip((risk * bins).astype(np.int64), 0, bins - 1)
    table = []
    for b in range(bins):
        i = which == b
        if np.any(i):
            table.append(
                {
                    "bin": [b / bins, (b + 1) / bins],
                    "n": int(i.sum()),
                    "predicted": float(risk[i].mean()),
                    "observed": float(labels[i].mean()),
                }
            )
    return table


def plot_reliability(risk: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    table = reliability_table(risk, labels)
    predicted = [row["predicted"] for row in table]
    observed = [row["observed"] for row in table]
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.plot([0, 1], [0, 1], "k:", label="perfect")
    axis.plot(predicted, observed, "o-", label="out-of-fold")
    axis.set(xlabel="predicted risk", ylabel="observed rate", title="reliability")
    axis.legend()
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_event_skill(events: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Held-out AUROC per event: model, CRW rule (ranks by DHW) and DHW logistic."""
    names = [e["event"] for e in events]
    who = (("model", "model"), ("crw_baseline", "CRW rule (DHW)"), ("dhw_logistic", "DHW logistic"))
    figure, axis = plt.subplots(figsize=(max(6, len(names) * 0.7), 3))
    x = np.arange(len(names))
    for k, (key, label) in enumerate(who):
        values = [(e.get(key) or {}).get("auroc") or np.nan for e in events]
        axis.bar(x + (k - 1) * 0.27, values, 0.27, label=label)
    axis.axhline(0.5, color="k", lw=0.5, ls=":")
    axis.set_xticks(x, names, rotation=60, fontsize=7)
    axis.set(ylabel="held-out AUROC", ylim=(0.3, 1), title=title)
    axis.legend(fontsize=7)
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_rank_agreement(
    points: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]],
    table: list[dict[str, Any]],
    path: Path,
) -> Path:
    """Per later year: every GBR pixel's risk (each scorer) against its annual maximum DHW."""
    figure, axes = plt.subplots(1, max(len(points), 1), figsize=(4.5 * max(len(points), 1), 3.6))
    axes = np.atleast_1d(axes)
    for axis, (year, (dhw, risks)) in zip(axes, sorted(points.items()), strict=False):
        entry = next(e for e in table if e["year"] == year)
        for name, risk in risks.items():
            stats = entry[name]
            axis.scatter(
                dhw,
                risk,
                s=1,
                alpha=0.3,
                label=f"{name}: Spearman {stats['spearman']:.3f}, "
                f"{100 * stats['inverted_pair_share']:.1f} % pairs inverted",
            )
        axis.set(xlabel=f"annual max DHW {year} (degC-weeks)", ylabel="risk", title=str(year))
        axis.legend(fontsize=7, markerscale=6)
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_risk_map(lon: np.ndarray, lat: np.ndarray, risk: np.ndarray, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(4, 5))
    points = axis.scatter(lon, lat, c=risk, s=2, cmap="inferno", vmin=0, vmax=1)
    figure.colorbar(points, label="out-of-fold risk")
    axis.set(xlabel="lon", ylabel="lat", title="GBR risk")
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    return path
