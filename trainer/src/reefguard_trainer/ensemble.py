"""Ensemble on top of the physics prior, learned on out-of-fold predictions, then calibrated.

z = prior_margin + w_xgb * logit(p_xgb) + w_vit * vit_logit, where the prior margin is the
DHW logistic (slope >= 0) and both learned members are residuals fitted on top of it. The
weights come from a grid in [0, 1]^2 chosen on the mean out-of-fold AUROC within events
(ranking sites inside a year is the job; pooled AUROC would reward members that only learn
each year's base rate). A combination is only eligible when it gains at least MIN_GAIN over
the physics alone on that mean and loses no event by more than that event's sampling noise
(EVENT_LOSS_SE standard errors of the physics AUROC, Hanley & McNeil 1982, at least
MIN_EVENT_LOSS); otherwise the combiner says "physics only" (both weights 0). Ties go to
smaller weights: the learned parts must earn their share. Then Platt calibration
p = sigmoid(a * z + b), a > 0, on the same rows. Every step keeps the ensemble monotone in
heat stress (prior slope > 0, monotone trees, w >= 0).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from reefguard_trainer.metrics import compute_auroc

EPSILON = 1e-6
MIN_EVENT_POSITIVES = 10
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
MIN_GAIN = 0.005
MIN_EVENT_LOSS = 0.02
EVENT_LOSS_SE = 2.0
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


def auroc_standard_error(auroc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUROC."""
    q1 = auroc / (2 - auroc)
    q2 = 2 * auroc**2 / (1 + auroc)
    variance = (
        auroc * (1 - auroc) + (positives - 1) * (q1 - auroc**2) + (negatives - 1) * (q2 - auroc**2)
    ) / max(positives * negatives, 1)
    return float(np.sqrt(max(variance, 0.0)))


def event_tolerances(
    scores: dict[str, float], y: np.ndarray, groups: np.ndarray | None
) -> dict[str, float]:
    """How much AUROC an event may lose to the physics before it counts as a real loss."""
    tolerances = {}
    for event, auroc in scores.items():
        labels = y if groups is None or event == "all" else y[groups == event]
        positives = int(labels.sum())
        se = auroc_standard_error(auroc, positives, len(labels) - positives)
        tolerances[event] = max(MIN_EVENT_LOSS, EVENT_LOSS_SE * se)
    return tolerances


def mean_event_auroc(z: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> float:
    return float(np.mean(list(event_aurocs(z, y, groups).values())))


def choose_weights(
    prior: np.ndarray,
    p_xgb: np.ndarray,
    vit_logit: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
) -> tuple[float, float]:
    physics = event_aurocs(prior.astype(np.float64), y, groups)
    tolerance = event_tolerances(physics, y, groups)
    physics_mean = float(np.mean(list(physics.values())))
    tree, vit = logit(p_xgb), vit_logit.astype(np.float64)
    best, best_score = (0.0, 0.0), physics_mean + MIN_GAIN
    # Smallest total weight first, so ties keep the simpler (more physical) model.
    grid = sorted(((a, b) for a in WEIGHT_GRID for b in WEIGHT_GRID), key=lambda w: sum(w))
    for w_xgb, w_vit in grid:
        if w_xgb == 0 and w_vit == 0:
            continue
        scores = event_aurocs(prior + w_xgb * tree + w_vit * vit, y, groups)
        lost = any(physics.get(e, s) - s > tolerance.get(e, 0.0) for e, s in scores.items())
        score = float(np.mean(list(scores.values())))
        if not lost and score > best_score + 1e-4:
            best, best_score = (float(w_xgb), float(w_vit)), score
    return best


def fit_combiner(
    prior: np.ndarray,
    p_xgb: np.ndarray,
    vit_logit: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None = None,
) -> Combiner:
    w_xgb, w_vit = choose_weights(prior, p_xgb, vit_logit, y, groups)
    draft = Combiner(w_xgb, w_vit, 1.0, 0.0)
    z = combine_logits(draft, prior, p_xgb, vit_logit)
    platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
    # A slope near 0 would flatten every site to the base rate: keep the ranking visible.
    slope = max(float(platt.coef_[0, 0]), MIN_SLOPE)
    intercept = float(platt.intercept_[0])
    if slope != float(platt.coef_[0, 0]):
        intercept = float(np.log(y.mean() / (1 - y.mean())) - slope * np.mean(z))
    return Combiner(w_xgb, w_vit, slope, intercept, physics_only=w_xgb == 0 and w_vit == 0)
