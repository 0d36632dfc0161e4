"""Skill scores, the same set for the model and its baselines (core/src/evaluation).

AUROC and PR-AUC rank; F1 and the Peirce skill score (hit rate - false-alarm rate) judge the
yes/no warning at a threshold; Brier judges the probability; BLEACH_RISK_P90 is the 90th
percentile of predicted risk across sites, the regional summary.
"""

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def _both_classes(labels: np.ndarray) -> bool:
    return 0 < int(labels.sum()) < len(labels)


def compute_auroc(risk: np.ndarray, labels: np.ndarray) -> float | None:
    return float(roc_auc_score(labels, risk)) if _both_classes(labels) else None


def compute_pr_auc(risk: np.ndarray, labels: np.ndarray) -> float | None:
    return float(average_precision_score(labels, risk)) if labels.sum() > 0 else None


def compute_f1(warned: np.ndarray, labels: np.ndarray) -> float | None:
    hits = float(np.sum(warned & (labels == 1)))
    denominator = float(np.sum(warned)) + float(np.sum(labels == 1))
    return 2 * hits / denominator if denominator > 0 else None


def compute_peirce(warned: np.ndarray, labels: np.ndarray) -> float | None:
    if not _both_classes(labels):
        return None
    hit_rate = float(np.mean(warned[labels == 1]))
    false_alarm_rate = float(np.mean(warned[labels == 0]))
    return hit_rate - false_alarm_rate


def compute_bleach_risk_p90(risk: np.ndarray) -> float:
    return float(np.percentile(risk, 90)) if len(risk) else 0.0


def compute_metric_set(
    risk: np.ndarray, labels: np.ndarray, threshold: float, probability: bool = True
) -> dict[str, Any]:
    """`risk` ranks rows; rows with risk >= threshold are warned. Brier only for probabilities."""
    labels = labels.astype(np.int64)
    warned = risk >= threshold
    return {
        "n": len(labels),
        "positives": int(labels.sum()),
        "auroc": compute_auroc(risk, labels),
        "pr_auc": compute_pr_auc(risk, labels),
        "f1": compute_f1(warned, labels),
        "brier": float(brier_score_loss(labels, np.clip(risk, 0, 1)))
        if probability and len(labels)
        else None,
        "peirce": compute_peirce(warned, labels),
    }


def choose_threshold(risk: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising F1 on validation (out-of-fold) predictions."""
    candidates = np.unique(np.round(risk, 4))
    if len(candidates) > 400:
        candidates = np.quantile(risk, np.linspace(0.005, 0.995, 400))
    scores = [compute_f1(risk >= t, labels) or 0.0 for t in candidates]
    return float(candidates[int(np.argmax(scores))])
