/**
 * Skill scores for a binary event (moderate-or-worse bleaching) from predicted scores. Pure
 * functions over typed arrays; each returns `null` where the score is undefined (for example
 * AUROC with only one class present) instead of a misleading number.
 */

/** Scores or probabilities, one per row. */
export type Scores = ArrayLike<number>;
/** Labels 0/1, one per row. */
export type Labels = ArrayLike<number>;

/** The metric set of the model-card contract (`metrics.*.model`). */
export interface MetricSet {
  n: number;
  positives: number;
  auroc: number | null;
  pr_auc: number | null;
  f1: number | null;
  brier: number | null;
  peirce: number | null;
}

function checkLengths(scores: Scores, labels: Labels): void {
  if (scores.length !== labels.length) {
    throw new RangeError(
      `scores (${scores.length}) and labels (${labels.length}) differ in length`,
    );
  }
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`score of row ${i} is NaN: nothing to rank`);
  }
}

function countPositives(labels: Labels): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  return positives;
}

/** Row indices sorted by descending score (stable on ties, so results are deterministic). */
function orderByScoreDesc(scores: Scores): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann-Whitney U / (P * N)). `null` without both classes.
 */
export function computeAuroc(scores: Scores, labels: Labels): number | null {
  checkLengths(scores, labels);
  const positives = countPositives(labels);
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = orderByScoreDesc(scores);
  // Walk groups of tied scores from the top: each positive beats every negative below it.
  let negativesSeen = 0;
  let wins = 0;
  for (let start = 0; start < order.length; ) {
    const value = scores[order[start] as number] as number;
    let end = start;
    let groupPositives = 0;
    let groupNegatives = 0;
    while (end < order.length && scores[order[end] as number] === value) {
      if (labels[order[end] as number] === 1) groupPositives++;
      else groupNegatives++;
      end++;
    }
    wins += groupPositives * (negatives - negativesSeen - groupNegatives);
    wins += 0.5 * groupPositives * groupNegatives;
    negativesSeen += groupNegatives;
    start = end;
  }
  return wins / (positives * negatives);
}

/**
 * Area under the precision-recall curve as average precision,
 * AP = sum_n (R_n - R_{n-1}) * P_n over distinct score thresholds (scikit-learn's
 * `average_precision_score`, no interpolation). `null` without positives.
 */
export function computePrAuc(scores: Scores, labels: Labels): number | null {
  checkLengths(scores, labels);
  const positives = countPositives(labels);
  if (positives === 0) return null;
  const order = orderByScoreDesc(scores);
  let truePositives = 0;
  let predicted = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let start = 0; start < order.length; ) {
    const value = scores[order[start] as number] as number;
    let end = start;
    while (end < order.length && scores[order[end] as number] === value) {
      if (labels[order[end] as number] === 1) truePositives++;
      predicted++;
      end++;
    }
    const recall = truePositives / positives;
    ap += (recall - previousRecall) * (truePositives / predicted);
    previousRecall = recall;
    start = end;
  }
  return ap;
}

/** Confusion counts with "predicted positive" meaning score >= threshold. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function computeConfusion(scores: Scores, labels: Labels, threshold: number): Confusion {
  checkLengths(scores, labels);
  const counts: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const predicted = (scores[i] as number) >= threshold;
    const actual = labels[i] === 1;
    if (predicted && actual) counts.tp++;
    else if (predicted) counts.fp++;
    else if (actual) counts.fn++;
    else counts.tn++;
  }
  return counts;
}

/** F1 = 2 TP / (2 TP + FP + FN) at `threshold`; `null` when there is nothing to score. */
export function computeF1(scores: Scores, labels: Labels, threshold: number): number | null {
  const { tp, fp, fn } = computeConfusion(scores, labels, threshold);
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? null : (2 * tp) / denominator;
}

/**
 * Peirce skill score (Hanssen-Kuipers discriminant, true skill statistic) at `threshold`:
 * hit rate minus false-alarm rate, TP/(TP+FN) - FP/(FP+TN), in [-1, 1]; 0 is no skill.
 * Reference: Peirce (1884) Science 4:453; Wilks, Statistical Methods in the Atmospheric
 * Sciences, 3rd ed., 8.2.
 */
export function computePeirce(scores: Scores, labels: Labels, threshold: number): number | null {
  const { tp, fp, fn, tn } = computeConfusion(scores, labels, threshold);
  if (tp + fn === 0 || fp + tn === 0) return null;
  return tp / (tp + fn) - fp / (fp + tn);
}

/** Brier score: mean squared difference of probability and outcome, (1/n) sum (p - y)^2. */
export function computeBrier(probabilities: Scores, labels: Labels): number | null {
  checkLengths(probabilities, labels);
  if (probabilities.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const error = (probabilities[i] as number) - (labels[i] as number);
    sum += error * error;
  }
  return sum / probabilities.length;
}

/**
 * Quantile with linear interpolation between order statistics (numpy's default, "type 7").
 * `null` for an empty input.
 */
export function computeQuantile(values: ArrayLike<number>, q: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const lower = sorted[below] as number;
  return lower + (position - below) * ((sorted[above] as number) - lower);
}

/** BLEACH_RISK_P90: the 90th percentile of predicted risk across sites (regional summary). */
export function computeBleachRiskP90(probabilities: ArrayLike<number>): number | null {
  return computeQuantile(probabilities, 0.9);
}

/**
 * Every metric of the contract's metric set. `scores` rank the rows (AUROC, PR-AUC) and are
 * thresholded at `threshold` (F1, Peirce); `probabilities` (defaults to `scores`) give Brier.
 */
export function computeMetricSet(
  scores: Scores,
  labels: Labels,
  threshold: number,
  probabilities: Scores = scores,
): MetricSet {
  return {
    n: labels.length,
    positives: countPositives(labels),
    auroc: computeAuroc(scores, labels),
    pr_auc: computePrAuc(scores, labels),
    f1: computeF1(scores, labels, threshold),
    brier: computeBrier(probabilities, labels),
    peirce: computePeirce(scores, labels, threshold),
  };
}
