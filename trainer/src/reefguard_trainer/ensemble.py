"""Ensemble on top of the physics prior, learned on out-of-fold predictions, then calibrated.

z = prior_margin + w_xgb * logit(p_xgb) + w_vit * vit_logit, where the prior margin is the
DHW logistic (slope >= 0) and both learned members are residuals fitted on top of it. The
weights come from a grid in [0, 1]^2 scored on the mean out-of-fold AUROC within the
leave-one-event-out events (ranking sites inside a year is the job; pooled AUROC would reward
members that only learn each year's base rate).

The physics keeps the model unless the learned parts earn their place on every unit of every
validation given (the whole held-out events, and the stricter event x spatial-block folds:
a new year at reefs the fold never saw): a combination is eligible only when it ranks no
unit worse than the physics alone (AUROC within the unit, units with at least
MIN_EVENT_POSITIVES positives) and gains at least MIN_GAIN on the mean. A new event where
heat stress alone ranks the sites well (NOAA's DHW scores 0.93 on the GBR in 2016) is
exactly where a learned modifier has the most to lose, and one lost unit is enough to keep
the physics. Otherwise the combiner says "physics only" (both weights 0). Ties go to smaller
weights. Then Platt calibration p = sigmoid(a * z + b), a > 0, on the leave-one-event-out
rows. Every step keeps the ensemble monotone in heat stress (prior slope > 0, monotone trees,
w >= 0).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from reefguard_trainer.metrics import compute_auroc

EPSILON = 1e-6
MIN_EVENT_POSITIVES = 10
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
MIN_GAIN = 0.005
MIN_SLOPE = 0.05


@dataclass(frozen=True)
class Combiner:
    xgb_weight: float
    vit_weight: float
    slope: float
    intercept: float
    physics_only: bool = False


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p.astype(np.float64), EPSILON, 1 - EPSILON)
    return np.log(q / (1 - q))


def combine_logits(
    combiner: Combiner, prior: np.ndarray, p_xgb: np.ndarray, vit_logit: np.ndarray
) -> np.ndarray:
    return (
        prior.astype(np.float64)
        + combiner.xgb_weight * logit(p_xgb)
        + combiner.vit_weight * vit_logit.astype(np.float64)
    )


def predict_ensemble(
    combiner: Combiner, prior: np.ndarray, p_xgb: np.ndarray, vit_logit: np.ndarray
) -> np.ndarray:
    z = combiner.slope * combine_logits(combiner, prior, p_xgb, vit_logit) + combiner.intercept
    return (1 / (1 + np.exp(-z))).astype(np.float32)


def event_aurocs(z: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> dict[str, float]:
    """AUROC per event with enough positives to rank (all rows as one event without groups)."""
    if groups is None:
        return {"all": compute_auroc(z, y) or 0.5}
    scores = {}
    for g in np.unique(groups):
        i = groups == g
        if y[i].sum() >= MIN_EVENT_POSITIVES:
            auroc = compute_auroc(z[i], y[i])
            if auroc is not None:
                scores[str(g)] = auroc
    return scores or {"all": compute_auroc(z, y) or 0.5}


def mean_event_auroc(z: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> float:
    return float(np.mean(list(event_aurocs(z, y, groups).values())))


@dataclass(frozen=True)
class OutOfFoldSet:
    """Out-of-fold predictions of one validation and the unit of each row it is scored on
    (an event, or an event x spatial block)."""

    prior: np.ndarray
    p_xgb: np.ndarray
    vit_logit: np.ndarray
    y: np.ndarray
    units: np.ndarray


def unit_losses(
    check: OutOfFoldSet, w_xgb: float, w_vit: float, physics: dict[str, float]
) -> dict[str, float]:
    """Units where (w_xgb, w_vit) ranks worse than the physics alone: unit -> AUROC lost."""
    z = check.prior + w_xgb * logit(check.p_xgb) + w_vit * check.vit_logit.astype(np.float64)
    scores = event_aurocs(z, check.y, check.units)
    return {u: physics[u] - s for u, s in scores.items() if u in physics and s < physics[u] - 1e-9}


def choose_weights(
    prior: np.ndarray,
    p_xgb: np.ndarray,
    vit_logit: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    checks: tuple[OutOfFoldSet, ...] = (),
) -> tuple[float, float]:
    """The grid point with the best mean event AUROC among those losing no unit of the events
    nor of any check; (0, 0) when none gains MIN_GAIN over the physics."""
    units = groups if groups is not None else np.full(len(y), "all")
    every = (OutOfFoldSet(prior, p_xgb, vit_logit, y, units), *checks)
    physics = [event_aurocs(c.prior.astype(np.float64), c.y, c.units) for c in every]
    tree, vit = logit(p_xgb), vit_logit.astype(np.float64)
    best, best_score = (0.0, 0.0), mean_event_auroc(prior.astype(np.float64), y, groups) + MIN_GAIN
    # Smallest total weight first, so ties keep the simpler (more physical) model.
    grid = sorted(((a, b) for a in WEIGHT_GRID for b in WEIGHT_GRID), key=lambda w: sum(w))
    for w_xgb, w_vit in grid:
        if w_xgb == 0 and w_vit == 0:
            continue
        score = mean_event_auroc(prior + w_xgb * tree + w_vit * vit, y, groups)
        if score <= best_score + 1e-4:
            continue
        if any(unit_losses(c, w_xgb, w_vit, p) for c, p in zip(every, physics, strict=True)):
            continue
        best, best_score = (float(w_xgb), float(w_vit)), score
    return best


def fit_combiner(
    prior: np.ndarray,
    p_xgb: np.ndarray,
    vit_logit: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None = None,
    checks: tuple[OutOfFoldSet, ...] = (),
    calibration_prior: np.ndarray | None = None,
) -> Combiner:
    """Weights on the out-of-fold margins (`prior`: each fold's own prior); Platt calibration
    on `calibration_prior` (the prior the shipped model uses, default `prior`) plus the
    weighted out-of-fold members. Each fold's prior carries its training years' base rate in
    its intercept; pooled, those offsets rank whole events rather than heat stress and would
    flatten the calibration."""
    w_xgb, w_vit = choose_weights(prior, p_xgb, vit_logit, y, groups, checks)
    draft = Combiner(w_xgb, w_vit, 1.0, 0.0)
    base = prior if calibration_prior is None else calibration_prior
    z = combine_logits(draft, base, p_xgb, vit_logit)
    platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
    # A slope near 0 would flatten every site to the base rate: keep the ranking visible.
    slope = max(float(platt.coef_[0, 0]), MIN_SLOPE)
    intercept = float(platt.intercept_[0])
    if slope != float(platt.coef_[0, 0]):
        intercept = float(np.log(y.mean() / (1 - y.mean())) - slope * np.mean(z))
    return Combiner(w_xgb, w_vit, slope, intercept, physics_only=w_xgb == 0 and w_vit == 0)
