import { createHash } from 'node:crypto';
import {
  type ChipSpec,
  CRW_ALERT_LEVEL_1_DHW,
  chipLength,
  computeBleachRiskP90,
  computeCrwBaselineMetrics,
  computeMetricSet,
  DEFAULT_CHIP_SPEC,
  FEATURE_NAMES,
  InputFormatError,
  loadModel,
  type MetricSet,
  ModelError,
} from '@reefguard/core';
import {
  type BuiltTrainingSet,
  buildTrainingSet,
  type GbrContext,
  type QuarantinedRow,
} from '../backfill/index.js';
import type { ModelLocation } from './model-store.js';

/** The feature the CRW baseline scores: the year-to-date maximum DHW at the row's as-of. */
export const CRW_BASELINE_FEATURE = 'dhw_max_ytd';

const RELIABILITY_BINS = 10;
/** The years of the shipped GBR annual maximum DHW table (data/sample/SOURCES.md). */
const DHW_CONTEXT_YEARS = '1985-2017';

export interface EventSkill {
  readonly event: string;
  readonly model: MetricSet;
  readonly crw_baseline: MetricSet;
}

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
  readonly mean_predicted: number | null;
  readonly observed_rate: number | null;
}

/** What `evaluate --json` prints. */
export interface EvaluationReport {
  readonly n: number;
  readonly positives: number;
  readonly model: MetricSet & { threshold: number; bleach_risk_p90: number | null };
  readonly crw_baseline: MetricSet & { rule: string };
  readonly events: readonly EventSkill[];
  readonly reliability: readonly ReliabilityBin[];
  readonly model_name: string;
  readonly model_version: string;
  readonly model_dir: string;
  /** sha256 of the evaluated feature rows and labels: same file, same version. */
  readonly data_version: string;
  readonly observations: readonly string[];
  /**
   * Every observation not scored, counted per reason: each quarantine reason of the readers
   * (`missing_label`, `invalid_date`, `no_reef_pixel_within_tolerance`, `duplicate`, ...),
   * `no_dhw` (no heat stress for the baseline to rank), `not_surveyed` (a blank GBR
   * category) and `empty_row` (no value in any cell). `no_dhw` and `not_surveyed` are always
   * present.
   */
  readonly excluded: Readonly<Record<string, number>>;
  /** Up to EXAMPLES_PER_REASON quarantined rows per reason: file, 1-based row, column, value. */
  readonly excluded_examples: Readonly<Record<string, readonly QuarantinedRow[]>>;
  /** Cells read in a documented way, their rows scored (e.g. `date2_disagrees_date_used`). */
  readonly adjusted: Readonly<Record<string, number>>;
  /** What a reader of the numbers must know, e.g. that the model gave every row one risk. */
  readonly warnings: readonly string[];
}

export interface EvaluateOptions {
  readonly observationPaths: readonly string[];
  readonly dataDir: string;
  readonly model: ModelLocation;
  /** The GBR context already loaded from `dataDir`, to reuse it across evaluations. */
  readonly context?: GbrContext;
  /** Called with a line per stage (the CLI prints them on stderr). */
  readonly onProgress?: (line: string) => void;
}

const EXAMPLES_PER_REASON = 5;

function countReasons(
  set: BuiltTrainingSet,
  noDhw: number,
): Pick<EvaluationReport, 'excluded' | 'excluded_examples'> {
  // Skipped cells and rows (blank categories, empty lines) are exclusions too.
  const excluded: Record<string, number> = { no_dhw: noDhw, not_surveyed: 0, ...set.skipped };
  const examples: Record<string, QuarantinedRow[]> = {};
  for (const row of set.quarantined) {
    excluded[row.reason] = (excluded[row.reason] ?? 0) + 1;
    const list = examples[row.reason] ?? [];
    if (list.length < EXAMPLES_PER_REASON) examples[row.reason] = [...list, row];
  }
  return { excluded, excluded_examples: examples };
}

/**
 * Below this spread of risk over the rows (max - min) a model is read as scoring a constant:
 * its ranking comes from float noise (a model whose calibration slope collapsed to 1e-6
 * gave every GCBD survey 0.1754 and an AUROC anywhere from 0.50 to 0.69 by rounding).
 */
const MIN_RISK_SPREAD = 1e-3;

/**
 * What the numbers cannot say: a model whose risk does not vary over the rows ranks nothing,
 * and rows of one class have no AUROC at all.
 */
function warningsFor(
  risk: Float32Array,
  dhw: Float64Array,
  labels: Uint8Array,
  version: string,
): string[] {
  const warnings: string[] = [];
  const range = (values: Float32Array | Float64Array) => {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (const v of values) {
      lowest = Math.min(lowest, v);
      highest = Math.max(highest, v);
    }
    return [lowest, highest] as const;
  };
  const [lowest, highest] = range(risk);
  const [dhwLowest, dhwHighest] = range(dhw);
  if (risk.length > 1 && dhwHighest === dhwLowest) {
    warnings.push(
      `every scored row has the same DHW (${dhwLowest} degC-weeks): neither the model nor the CRW baseline can rank them by heat stress`,
    );
  } else if (risk.length > 1 && highest - lowest < MIN_RISK_SPREAD) {
    warnings.push(
      `model ${version} gave all ${risk.length} rows the same risk (${lowest.toFixed(4)} to ${highest.toFixed(4)}) although their DHW ranges from ${dhwLowest} to ${dhwHighest}: its AUROC and F1 say nothing about these sites; train one with the current trainer (./reefguard train) and evaluate it with --model VERSION (./reefguard promote moves the champion alias)`,
    );
  }
  const positives = labels.reduce((sum, y) => sum + y, 0);
  if (positives === 0 || positives === labels.length) {
    warnings.push(
      `all ${labels.length} scored rows are ${positives === 0 ? 'negative' : 'positive'}: AUROC and PR-AUC need both classes`,
    );
  }
  return warnings;
}

function chipSpecOf(card: {
  chip?: { channels: string[]; size_px: number; pixel_deg: number };
}): ChipSpec {
  return card.chip
    ? { channels: card.chip.channels, sizePx: card.chip.size_px, pixelDeg: card.chip.pixel_deg }
    : DEFAULT_CHIP_SPEC;
}

function reliability(probabilities: Float32Array, labels: Uint8Array): ReliabilityBin[] {
  return Array.from({ length: RELIABILITY_BINS }, (_, b) => {
    const lower = b / RELIABILITY_BINS;
    const upper = (b + 1) / RELIABILITY_BINS;
    let n = 0;
    let predicted = 0;
    let observed = 0;
    probabilities.forEach((p, i) => {
      if (p >= lower && (p < upper || (b === RELIABILITY_BINS - 1 && p <= upper))) {
        n++;
        predicted += p;
        observed += labels[i] as number;
      }
    });
    return {
      lower,
      upper,
      n,
      mean_predicted: n === 0 ? null : predicted / n,
      observed_rate: n === 0 ? null : observed / n,
    };
  });
}

/**
 * A year the shipped products do not cover has no features: `features export` quarantines its
 * rows, but a skill report without them would judge another file than the one given, so
 * evaluate refuses it, naming the years and columns.
 */
function refuseYearsWithoutContext(quarantined: readonly QuarantinedRow[]): void {
  const missing = quarantined.filter((q) => q.reason === 'no_context_for_year');
  if (missing.length === 0) return;
  const years = [...new Set(missing.map((q) => q.value ?? '?'))].sort();
  const columns = [...new Set(missing.map((q) => `${q.path}:${q.column}`))];
  throw new InputFormatError(
    `no features for year ${years.join(', ')}: the shipped products have no annual maximum DHW for it (they cover ${DHW_CONTEXT_YEARS}); ${missing.length} observations in ${columns.join(', ')}. Evaluate the covered years without ${columns.length === 1 ? 'that column' : 'those columns'}`,
  );
}

/**
 * Builds the features of every observation exactly as `features export` does, scores them
 * with the exported ONNX model, and reports model and CRW baseline on the same rows (rows
 * without a DHW value cannot be scored by the baseline and are left out of both).
 */
export async function evaluateObservations(options: EvaluateOptions): Promise<EvaluationReport> {
  const progress = options.onProgress ?? (() => {});
  const model = await loadModel({ dir: options.model.dir });
  try {
    const card = model.card;
    const spec = chipSpecOf(card);
    progress(`reading ${options.observationPaths.join(', ')} and building features`);
    const set = await buildTrainingSet({
      observationPaths: options.observationPaths,
      dataDir: options.dataDir,
      chipSpec: spec,
      context: options.context,
    });
    const columns = card.features.map((f) => {
      const index = FEATURE_NAMES.indexOf(f.name as (typeof FEATURE_NAMES)[number]);
      if (index < 0)
        throw new ModelError(
          `model ${card.version} wants feature "${f.name}", unknown to the catalogue`,
        );
      return index;
    });
    refuseYearsWithoutContext(set.quarantined);
    const dhwColumn = FEATURE_NAMES.indexOf(CRW_BASELINE_FEATURE);
    const kept = set.rows.filter((row) => !Number.isNaN(row.values[dhwColumn] as number));
    const n = kept.length;
    if (n === 0) {
      const reasons = new Map<string, number>();
      for (const q of set.quarantined) reasons.set(q.reason, (reasons.get(q.reason) ?? 0) + 1);
      const gcbdRows = set.rows.filter((row) => row.source === 'gcbd').length;
      throw new InputFormatError(
        `no row of ${options.observationPaths.join(', ')} can be scored: ${set.rows.length} rows without heat stress${gcbdRows > 0 ? ` (TSA_DHW missing in all ${gcbdRows} GCBD survey rows: the CRW baseline and the model's physics prior need it)` : ''}, quarantined ${[...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ') || 'none'} (DHW context exists for ${DHW_CONTEXT_YEARS} on the GBR)`,
      );
    }
    const width = columns.length;
    const features = new Float32Array(n * width);
    const size = chipLength(spec);
    const chips = card.chip ? new Float32Array(n * size) : undefined;
    const labels = new Uint8Array(n);
    const dhw = new Float64Array(n);
    kept.forEach((row, i) => {
      columns.forEach((column, j) => {
        features[i * width + j] = row.values[column] as number;
      });
      chips?.set(set.chips.subarray(row.rowId * size, (row.rowId + 1) * size), i * size);
      labels[i] = row.label;
      dhw[i] = row.values[dhwColumn] as number;
    });
    progress(
      `scoring ${n} rows with model ${card.version} (${set.rows.length - n} without DHW, ${set.quarantined.length} quarantined)`,
    );
    const risk = await model.predict(chips ? { features, chips } : { features }, n);
    const unscored = risk.filter((p) => Number.isNaN(p)).length;
    if (unscored > 0) {
      throw new ModelError(
        `model ${card.version} returned NaN for ${unscored} of ${n} rows: it cannot handle unknown values of its features (${card.features.map((f) => f.name).join(', ')}) in these observations`,
      );
    }
    const threshold = card.threshold;

    const eventNames = [...new Set(kept.map((row) => row.event))];
    const events = eventNames.map((event) => {
      const index = kept.flatMap((row, i) => (row.event === event ? [i] : []));
      const pick = <T extends Float32Array | Float64Array | Uint8Array>(values: T) =>
        index.map((i) => values[i] as number);
      return {
        event,
        model: computeMetricSet(pick(risk), pick(labels), threshold),
        crw_baseline: computeCrwBaselineMetrics(pick(dhw), pick(labels)),
      };
    });
    const dataVersion = createHash('sha256')
      .update(new Uint8Array(features.buffer))
      .update(labels)
      .digest('hex');
    return {
      n,
      positives: labels.reduce((sum, y) => sum + y, 0),
      model: {
        ...computeMetricSet(risk, labels, threshold),
        threshold,
        bleach_risk_p90: computeBleachRiskP90(risk),
      },
      crw_baseline: {
        ...computeCrwBaselineMetrics(dhw, labels),
        rule: `Alert Level 1 or worse: ${CRW_BASELINE_FEATURE} >= ${CRW_ALERT_LEVEL_1_DHW} degC-weeks (AUROC and PR-AUC rank by DHW)`,
      },
      events,
      reliability: reliability(risk, labels),
      model_name: card.name,
      model_version:
        options.model.version === options.model.dir ? card.version : options.model.version,
      model_dir: options.model.dir,
      data_version: dataVersion,
      observations: options.observationPaths,
      ...countReasons(set, set.rows.length - n),
      adjusted: { ...set.adjusted },
      warnings: warningsFor(risk, dhw, labels, card.version),
    };
  } finally {
    await model.close();
  }
}
