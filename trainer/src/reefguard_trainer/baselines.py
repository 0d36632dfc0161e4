"""The physics baselines the model must beat, scored on exactly the model's rows.

- CRW rule: NOAA Coral Reef Watch Alert Level 1 or worse, i.e. DHW >= 4 degC-weeks
  (https://coralreefwatch.noaa.gov/product/5km/methodology.php); it ranks rows by DHW.
- DHW logistic: P(bleaching) = sigmoid(a + b * DHW), fitted on the training folds only.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression

from reefguard_trainer.metrics import compute_metric_set

BASELINE_FEATURE = "dhw_max_ytd"
ALERT_LEVEL_1_DHW = 4.0


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
