"""Training plots for MLflow: reliability diagram, per-event skill, risk map."""

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


def plot_event_skill(events: list[dict[str, Any]], path: Path) -> Path:
    names = [e["event"] for e in events]
    model = [e["model"]["auroc"] or np.nan for e in events]
    crw = [e["crw_baseline"]["auroc"] or np.nan for e in events]
    figure, axis = plt.subplots(figsize=(max(6, len(names) * 0.5), 3))
    x = np.arange(len(names))
    axis.bar(x - 0.2, model, 0.4, label="model")
    axis.bar(x + 0.2, crw, 0.4, label="CRW DHW")
    axis.set_xticks(x, names, rotation=60, fontsize=7)
    axis.set(ylabel="held-out AUROC", ylim=(0.3, 1))
    axis.legend()
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
