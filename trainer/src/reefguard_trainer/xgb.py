"""XGBoost member: gradient-boosted trees, monotone increasing in heat-stress features,
learning a residual on top of the physics prior.

The catalogue's `monotone: 1` features (DHW, HotSpot, alert level) get XGBoost's monotone
constraint, so more heat never lowers the predicted risk, on any year, however the trees split;
SST range, K490 and depth may only lower it (MODIFIER_DIRECTIONS).
Missing values (NaN) take each split's learned default branch, as in the ONNX export.

The trees start from the physics prior's margin (`base_margin`), not from a constant: they
only learn what the prior gets wrong, and they are shrunk (few shallow trees, tuned on
held-out events). `base_score` is 0.5 (logit 0), so the trees alone predict
sigmoid(residual) and the ensemble adds the prior's margin back (ONNX does the same).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xgboost as xgb

from reefguard_trainer.catalog import tree_constraints


@dataclass(frozen=True)
class XgbParams:
    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.05
    min_child_weight: float = 20.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def fit_xgb(
    x: np.ndarray,
    y: np.ndarray,
    features: list[str],
    params: XgbParams,
    seed: int,
    threads: int,
    base_margin: np.ndarray | None = None,
) -> xgb.XGBClassifier:
    """`base_margin`: the physics prior's margin per row (None: the trees stand alone)."""
    model = xgb.XGBClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        learning_rate=params.learning_rate,
        min_child_weight=params.min_child_weight,
        subsample=params.subsample,
        colsample_bytree=params.colsample_bytree,
        reg_lambda=params.reg_lambda,
        monotone_constraints=tuple(tree_constraints(features)),
        tree_method="hist",
        # One OpenMP thread: on these small tables a second thread costs more (spin-waiting
        # against torch's pool on a shared 2-core machine) than it saves.
        n_jobs=min(threads, 1),
        random_state=seed,
        base_score=0.5,
        **params.extra,
    )
    model.fit(x, y, base_margin=base_margin)
    return model


def predict_xgb(model: xgb.XGBClassifier, x: np.ndarray) -> np.ndarray:
    """sigmoid(residual margin) of the trees alone, float32 as the ONNX TreeEnsemble."""
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float32)
