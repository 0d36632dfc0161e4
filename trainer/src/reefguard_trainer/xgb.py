"""XGBoost member: gradient-boosted trees, monotone increasing in heat-stress features.

The catalogue's `monotone: 1` features (DHW, HotSpot, alert level) get XGBoost's monotone
constraint, so more heat never lowers the predicted risk, on any year, however the trees split.
Missing values (NaN) take each split's learned default branch, as in the ONNX export.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xgboost as xgb

from reefguard_trainer.catalog import monotone_constraints


@dataclass(frozen=True)
class XgbParams:
    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.08
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def fit_xgb(
    x: np.ndarray, y: np.ndarray, features: list[str], params: XgbParams, seed: int, threads: int
) -> xgb.XGBClassifier:
    model = xgb.XGBClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        learning_rate=params.learning_rate,
        min_child_weight=params.min_child_weight,
        subsample=params.subsample,
        colsample_bytree=params.colsample_bytree,
        reg_lambda=params.reg_lambda,
        monotone_constraints=tuple(monotone_constraints(features)),
        tree_method="hist",
        # One OpenMP thread: on these small tables a second thread costs more (spin-waiting
        # against torch's pool on a shared 2-core machine) than it saves.
        n_jobs=min(threads, 1),
        random_state=seed,
        **params.extra,
    )
    model.fit(x, y)
    return model


def predict_xgb(model: xgb.XGBClassifier, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float32)
