"""The physics: the baselines the model must beat, and the prior the model is built on.

- CRW rule: NOAA Coral Reef Watch Alert Level 1 or worse, i.e. DHW >= 4 degC-weeks
  (https://coralreefwatch.noaa.gov/product/5km/methodology.php); it ranks rows by DHW.
- DHW logistic: P(bleaching) = sigmoid(a + b * DHW), fitted on the training folds only.
- Physics prior: the same logistic with the slope held at MIN_PRIOR_SLOPE or above (more heat
  never lowers risk, even when the training years disagree). Its margin a + b * DHW is the
  starting point the boosted trees and the ViT learn a residual on, so a year the learned
  parts do not understand falls back towards the physics.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from reefguard_trainer.metrics import compute_metric_set

BASELINE_FEATURE = "dhw_max_ytd"
ALERT_LEVEL_1_DHW = 4.0
MIN_PRIOR_SLOPE = 0.1
"""logit per degC-week: at least +0.4 logit from no stress to Alert Level 1."""
NEWTON_STEPS = 50


def score_crw_rule(dhw: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """AUROC and PR-AUC rank by DHW; F1, Peirce and Brier judge the 0/1 alert (as `evaluate`)."""
    filled = np.nan_to_num(dhw, nan=0.0)
    scores = compute_metric_set(filled, labels, ALERT_LEVEL_1_DHW, probability=False)
    alert = (filled >= ALERT_LEVEL_1_DHW).astype(np.float64)
    scores["brier"] = float(np.mean((alert - labels) ** 2)) if len(labels) else None
    return scores


def fit_dhw_logistic(dhw: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    model = LogisticRegression(C=1e4)
    model.fit(np.nan_to_num(dhw, nan=0.0).reshape(-1, 1), labels)
    return model


def predict_dhw_logistic(model: LogisticRegression, dhw: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(dhw, nan=0.0).reshape(-1, 1)
    return np.asarray(model.predict_proba(x)[:, 1])


@dataclass(frozen=True)
class PhysicsPrior:
    """margin(DHW) = intercept + slope * DHW (logit scale; unknown DHW counts as 0)."""

    intercept: float
    slope: float
    slope_floored: bool = False
    """True when the training rows alone asked for a flatter (or falling) slope."""


def fit_physics_prior(dhw: np.ndarray, labels: np.ndarray) -> PhysicsPrior:
    """Maximum-likelihood logistic in DHW with slope >= MIN_PRIOR_SLOPE."""
    if len(labels) == 0 or not 0 < int(labels.sum()) < len(labels):
        raise ValueError("the physics prior needs training rows of both classes")
    filled = np.nan_to_num(dhw, nan=0.0).astype(np.float64)
    free = fit_dhw_logistic(filled, labels)
    slope = float(free.coef_[0, 0])
    if slope >= MIN_PRIOR_SLOPE:
        return PhysicsPrior(float(free.intercept_[0]), slope)
    # Slope fixed at the floor; the intercept is the 1-D maximum-likelihood fit (Newton).
    offset = MIN_PRIOR_SLOPE * filled
    intercept = float(np.log(labels.mean() / (1 - labels.mean())))
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(intercept + offset)))
        step = float((p - labels).sum() / max(float((p * (1 - p)).sum()), 1e-12))
        intercept -= step
        if abs(step) < 1e-10:
            break
    return PhysicsPrior(intercept, MIN_PRIOR_SLOPE, slope_floored=True)


def prior_margin(prior: PhysicsPrior, dhw: np.ndarray) -> np.ndarray:
    """float32, computed as the ONNX graph does (NaN -> 0, then slope * DHW + intercept)."""
    filled = np.nan_to_num(dhw.astype(np.float32), nan=0.0)
    return filled * np.float32(prior.slope) + np.float32(prior.intercept)
