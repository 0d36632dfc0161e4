import { describe, expect, it } from 'vitest';
import {
  computeAuroc,
  computeBleachRiskP90,
  computeBrier,
  computeCrwAlert,
  computeCrwBaselineMetrics,
  computeF1,
  computeMetricSet,
  computePeirce,
  computePrAuc,
  computeQuantile,
} from '../src/evaluation/index.js';

// Twelve rows with tied scores (0.8 and 0.3 each hold a positive and a negative).
const scores = [0.9, 0.8, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1];
const labels = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0];

describe('evaluation metrics - scikit-learn parity', () => {
  // Expected values computed once with trainer/.venv/bin/python (scikit-learn 1.9.1):
  // roc_auc_score(y, s), average_precision_score(y, s), f1_score(y, s >= 0.5),
  // brier_score_loss(y, s), numpy.quantile(s, 0.9).
  it('matches roc_auc_score, average_precision_score, f1_score, brier_score_loss', () => {
    expect(computeAuroc(scores, labels)).toBeCloseTo(0.7714285714285715, 12);
    expect(computePrAuc(scores, labels)).toBeCloseTo(0.7166666666666666, 12);
    expect(computeF1(scores, labels, 0.5)).toBeCloseTo(0.6666666666666666, 12);
    expect(computeBrier(scores, labels)).toBeCloseTo(0.19854166666666664, 12);
    expect(computeBleachRiskP90(scores)).toBeCloseTo(0.8, 12);
  });
});

describe('evaluation metrics - hand-computed values', () => {
  it('AUROC counts pairs won, ties as one half: 27 of 35 positive/negative pairs', () => {
    // Positives at 0.9, 0.8, 0.7, 0.55, 0.3 beat 7, 6.5 (tie at 0.8), 6, 5, 2.5 (tie at 0.3)
    // of the 7 negatives: 27 / (5 * 7).
    expect(computeAuroc(scores, labels)).toBe(27 / 35);
  });

  it('Peirce is hit rate minus false-alarm rate: 4/5 - 3/7 at 0.5', () => {
    expect(computePeirce(scores, labels, 0.5)).toBeCloseTo(4 / 5 - 3 / 7, 12);
  });

  it('perfect and inverted rankings score 1 and 0; one class gives null', () => {
    expect(computeAuroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(computeAuroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(computePrAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(computeAuroc([0.1, 0.9], [0, 0])).toBeNull();
    expect(computePrAuc([0.1, 0.9], [0, 0])).toBeNull();
    expect(computePeirce([0.1, 0.9], [1, 1], 0.5)).toBeNull();
  });

  it('all-equal scores give AUROC 0.5 and AP equal to the positive share', () => {
    expect(computeAuroc([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0])).toBe(0.5);
    expect(computePrAuc([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0])).toBe(0.25);
  });

  it('Brier of a certain, correct forecast is 0 and of a certain, wrong one is 1', () => {
    expect(computeBrier([1, 0], [1, 0])).toBe(0);
    expect(computeBrier([0, 1], [1, 0])).toBe(1);
  });

  it('quantile interpolates linearly between order statistics', () => {
    expect(computeQuantile([1, 2, 3, 4, 5], 0.9)).toBeCloseTo(4.6, 12);
    expect(computeQuantile([], 0.9)).toBeNull();
  });

  it('rejects scores and labels of different lengths, and NaN scores', () => {
    expect(() => computeAuroc([0.1], [1, 0])).toThrow(/differ in length/);
    expect(() => computeAuroc([0.1, Number.NaN], [1, 0])).toThrow(/row 1 is NaN/);
  });

  it('the metric set carries n and positives next to the scores', () => {
    expect(computeMetricSet(scores, labels, 0.5)).toMatchObject({ n: 12, positives: 5 });
  });
});

describe('evaluation - CRW baseline', () => {
  it('alerts at Alert Level 1, i.e. DHW >= 4 degC-weeks', () => {
    expect(Array.from(computeCrwAlert([0, 3.99, 4, 8.5, Number.NaN]))).toEqual([0, 0, 1, 1, 0]);
  });

  it('ranks by DHW, thresholds at 4 and scores the 0/1 alert as Brier', () => {
    const dhw = [1, 2, 5, 6, 3, 9];
    const bleached = [0, 0, 1, 1, 1, 0];
    const metrics = computeCrwBaselineMetrics(dhw, bleached);
    // Alerts at 5, 6, 9: TP 2, FP 1, FN 1 -> F1 = 4/6; hit rate 2/3, false alarms 1/3.
    expect(metrics.f1).toBeCloseTo(4 / 6, 12);
    expect(metrics.peirce).toBeCloseTo(1 / 3, 12);
    expect(metrics.brier).toBeCloseTo(2 / 6, 12);
    // Positives 3, 5, 6 against negatives 1, 2, 9: 2 + 2 + 2 wins of 9 pairs.
    expect(metrics.auroc).toBeCloseTo(6 / 9, 12);
  });
});
