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
    filled = np.nan_to_num(dhw, nan=0.0)
    return compute_metric_set(filled, labels, ALERT_LEVEL_1_DHW, probability=False)


def fit_dhw_logistic(dhw: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    model = LogisticRegression(C=1e4)
    model.fit(np.nan_to_num(dhw, nan=0.0).reshape(-1, 1), labels)
    return model


def predict_dhw_logistic(model: LogisticRegression, dhw: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(dhw, nan=0.0).reshape(-1, 1)
    return np.asarray(model.predict_proba(x)[:, 1])
