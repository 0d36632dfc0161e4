"""Ensemble learned on out-of-fold predictions, then calibrated.

z = w * logit(p_xgb) + (1 - w) * vit_logit, with w in [0, 1] chosen on the mean
out-of-fold AUROC within events (ranking sites inside a year is the job; pooled AUROC would
reward members that only learn each year's base rate; w = 1 means the ViT adds nothing);
then Platt calibration
p = sigmoid(a * z + b), a > 0, fitted on the same out-of-fold rows. Both steps keep the
ensemble monotone in the XGBoost member, hence in heat stress.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from reefguard_trainer.metrics import compute_auroc

EPSILON = 1e-6
MIN_EVENT_POSITIVES = 10
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


@dataclass(frozen=True)
class Combiner:
    xgb_weight: float
    vit_weight: float
    slope: float
    intercept: float


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p.astype(np.float64), EPSILON, 1 - EPSILON)
    return np.log(q / (1 - q))


def combine_logits(combiner: Combiner, p_xgb: np.ndarray, vit_logit: np.ndarray) -> np.ndarray:
    return combiner.xgb_weight * logit(p_xgb) + combiner.vit_weight * vit_logit.astype(np.float64)


def predict_ensemble(combiner: Combiner, p_xgb: np.ndarray, vit_logit: np.ndarray) -> np.ndarray:
    z = combiner.slope * combine_logits(combiner, p_xgb, vit_logit) + combiner.intercept
    return (1 / (1 + np.exp(-z))).astype(np.float32)


def mean_event_auroc(z: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> float:
    if groups is None:
        return compute_auroc(z, y) or 0.0
    scores = [
        compute_auroc(z[groups == g], y[groups == g])
        for g in np.unique(groups)
        if y[groups == g].sum() >= MIN_EVENT_POSITIVES
    ]
    kept = [s for s in scores if s is not None]
    return float(np.mean(kept)) if kept else compute_auroc(z, y) or 0.0


def fit_combiner(
    p_xgb: np.ndarray, vit_logit: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None
) -> Combiner:
    # Ties go to the larger XGBoost weight: the ViT must earn its share.
    best_w, best_auroc = 1.0, -1.0
    for w in WEIGHT_GRID[::-1]:
        auroc = mean_event_auroc(w * logit(p_xgb) + (1 - w) * vit_logit, y, groups)
        if auroc > best_auroc + 1e-4:
            best_w, best_auroc = float(w), auroc
    z = best_w * logit(p_xgb) + (1 - best_w) * vit_logit.astype(np.float64)
    platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
    slope = max(float(platt.coef_[0, 0]), EPSILON)
    return Combiner(best_w, 1 - best_w, slope, float(platt.intercept_[0]))
