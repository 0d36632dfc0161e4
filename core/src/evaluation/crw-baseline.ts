import { computeMetricSet, type Labels, type MetricSet, type Scores } from './metrics.js';

/**
 * The NOAA Coral Reef Watch rule the model must beat: bleaching is expected at Alert Level 1
 * or worse, i.e. DHW >= 4 degC-weeks (CRW Bleaching Alert Area, December 2023 scale; Skirving
 * et al. 2020, Remote Sensing 12:3856).
 */
export const CRW_ALERT_LEVEL_1_DHW = 4;

/** 1 where the CRW rule alerts (DHW >= 4 degC-weeks), else 0; NaN DHW gives 0. */
export function computeCrwAlert(dhw: ArrayLike<number>): Float64Array {
  const alert = new Float64Array(dhw.length);
  for (let i = 0; i < dhw.length; i++) {
    alert[i] = (dhw[i] as number) >= CRW_ALERT_LEVEL_1_DHW ? 1 : 0;
  }
  return alert;
}

/**
 * The CRW baseline's skill on the same rows as the model. AUROC and PR-AUC rank rows by DHW
 * itself (the continuous CRW signal); F1 and Peirce are those of the Alert Level 1 rule;
 * Brier scores the rule's 0/1 alert as a probability.
 */
export function computeCrwBaselineMetrics(dhw: Scores, labels: Labels): MetricSet {
  return computeMetricSet(dhw, labels, CRW_ALERT_LEVEL_1_DHW, computeCrwAlert(dhw));
}
