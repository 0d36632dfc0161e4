import { alertLevel, type Prediction, ReefGuardError, SCHEMA_VERSION } from '@reefguard/core';
import { type ChipLayers, NO_CHIP_LAYERS } from './chip-layers.js';
import { crwBaselineRisk, riskBand } from './crw-baseline.js';
import type { OnlineFeatures } from './feature-store.js';
import type { ServingModel } from './model-session.js';
import type { Site } from './sites.js';

/** An answer as served: the `prediction` contract plus, when degraded, why. */
export type ServedPrediction = Prediction & { degraded_reason?: string };

/** Features exist but cannot answer for the requested time (missing, stale, from the future). */
export class FeaturesUnavailableError extends ReefGuardError {
  constructor(
    message: string,
    readonly reason: 'missing' | 'stale' | 'incomplete',
  ) {
    super(message);
  }
}

export const TOP_FEATURES = 5;
const HOUR_MS = 3_600_000;

export interface PredictOptions {
  /** The time the answer is for; features must be as of at most `maxAgeMs` before it. */
  timeMs: number;
  maxAgeMs: number;
  degraded: 'crw-baseline' | 'unavailable';
  /** Where chip models find their chips; none: they answer degraded. */
  chipLayers?: ChipLayers;
  /** The catalogue entry of a site (its coordinates place the chip). */
  siteOf?: (siteId: string) => Site;
  /** Filled in when given: where the time went (the /v1/predict stage metrics). */
  timings?: AnswerTimings;
}

/** Milliseconds spent reading features and inside the model's session runs. */
export interface AnswerTimings {
  featuresMs: number;
  modelMs: number;
}

export interface Routed {
  model: ServingModel;
  variant: 'champion' | 'challenger';
}

/** Why a site's features cannot answer for the requested time. */
export interface FreshnessProblem {
  reason: 'missing' | 'stale';
  message: string;
}

/**
 * The problem with a site's features for the requested time, or null when they can answer.
 * Returned, not thrown: the risk map meets thousands of sites without features, and an Error
 * per site (its stack trace) was most of the map's CPU.
 */
export function freshnessProblem(
  siteId: string,
  features: OnlineFeatures,
  options: PredictOptions,
): FreshnessProblem | null {
  if (!features) {
    return { reason: 'missing', message: `no features for site ${siteId} at the requested time` };
  }
  const asOfMs = Date.parse(features.as_of);
  if (Number.isNaN(asOfMs)) {
    return { reason: 'missing', message: `features of ${siteId} carry no valid as_of` };
  }
  const ageMs = options.timeMs - asOfMs;
  if (ageMs > options.maxAgeMs) {
    return {
      reason: 'stale',
      message: `features of ${siteId} are as of ${features.as_of}, ${(ageMs / HOUR_MS).toFixed(1)} h before the requested time (limit ${options.maxAgeMs / HOUR_MS} h)`,
    };
  }
  if (ageMs < -options.maxAgeMs) {
    return {
      reason: 'stale',
      message: `the online store holds features of ${siteId} as of ${features.as_of}, later than the requested time: past answers come from the offline store`,
    };
  }
  return null;
}

function alertAndDhw(values: Record<string, number | null>): { alert: number; dhw: number } {
  const dhw = values.dhw ?? 0;
  // The stored CRW alert level when the stream processor wrote one, else core's CRW rule.
  const alert = values.alert_level ?? alertLevel(values.hotspot ?? 0, dhw);
  return { alert, dhw };
}

/** The model's input row for one site, or the names of the features it lacks. */
function inputRow(model: ServingModel, values: Record<string, number | null>) {
  const row = new Float32Array(model.card.features.length);
  const missing: string[] = [];
  model.card.features.forEach((feature, i) => {
    const value = values[feature.name];
    if (value === null || value === undefined) missing.push(feature.name);
    else row[i] = value;
  });
  return { row, missing };
}

type Ready = { index: number; row: Float32Array; chip?: Float32Array };

/**
 * Chip tensors of single-site runs (the /v1/predict hot path), reused instead of allocated per
 * request: a chip model's input holds 1 + F copies of the site's chip (~130 kB for 20 features
 * and 6 x 16 x 16 chips). Batches allocate their own, so nothing large is kept.
 */
const freeChipTensors = new Map<number, Float32Array[]>();
const MAX_FREE_CHIP_TENSORS = 8;

function takeChipTensor(length: number, pooled: boolean): Float32Array {
  return (pooled ? freeChipTensors.get(length)?.pop() : undefined) ?? new Float32Array(length);
}

function giveChipTensor(tensor: Float32Array): void {
  const free = freeChipTensors.get(tensor.length) ?? [];
  if (free.length < MAX_FREE_CHIP_TENSORS) free.push(tensor);
  freeChipTensors.set(tensor.length, free);
}

/**
 * Predicts a group of sites that share one model in a single session run. Each site adds
 * 1 + F rows: its own and one per feature with that feature set to the training mean, so the
 * contribution of a feature is the risk it adds over its mean (occlusion attribution).
 * A chip model whose chip layers are missing answers degraded, with the reason: from its
 * tabular member when the card ships one, else from the CRW baseline.
 */
export async function predictSites(
  items: ReadonlyArray<{ siteId: string; features: NonNullable<OnlineFeatures> }>,
  routed: Routed,
  options: PredictOptions,
): Promise<Array<ServedPrediction | FeaturesUnavailableError>> {
  const { model } = routed;
  const chipSpec = model.card.chip;
  const layers = options.chipLayers ?? NO_CHIP_LAYERS;
  const answers: Array<ServedPrediction | FeaturesUnavailableError | null> = [];
  const full: Ready[] = [];
  const tabular: Ready[] = [];
  let tabularReason = '';
  for (const [index, { siteId, features }] of items.entries()) {
    const { row, missing } = inputRow(model, features.values);
    let reason: string | null = null;
    if (missing.length > 0) {
      reason = `features of ${siteId} lack ${missing.join(', ')} needed by model ${model.version}`;
    } else if (chipSpec) {
      const site = options.siteOf?.(siteId);
      const chip = site ? layers.chipFor(chipSpec, site) : `site ${siteId} has no coordinates`;
      if (typeof chip !== 'string') {
        full.push({ index, row, chip });
        answers.push(null);
        continue;
      }
      if (model.tabular && options.degraded !== 'unavailable') {
        tabularReason = `${chip}; answered by the tabular member of model ${model.version} only`;
        tabular.push({ index, row });
        answers.push(null);
        continue;
      }
      reason = chip;
    } else {
      full.push({ index, row });
      answers.push(null);
      continue;
    }
    answers.push(
      options.degraded === 'unavailable' || features.values.dhw == null
        ? new FeaturesUnavailableError(reason, 'incomplete')
        : baselinePrediction(siteId, features, model.card.name, reason),
    );
  }
  const run = async (ready: Ready[], degradedReason: string | null) => {
    if (ready.length === 0) return;
    const width = model.card.features.length;
    const perSite = 1 + width;
    const batch = new Float32Array(ready.length * perSite * width);
    const chipLength = ready[0]?.chip?.length ?? 0;
    const pooled = ready.length === 1;
    // Every value is written below: a reused tensor needs no clearing.
    const chips =
      chipLength > 0 ? takeChipTensor(ready.length * perSite * chipLength, pooled) : undefined;
    ready.forEach(({ row, chip }, k) => {
      for (let j = 0; j < perSite; j++) {
        const offset = (k * perSite + j) * width;
        batch.set(row, offset);
        if (j > 0) batch[offset + j - 1] = model.card.features[j - 1]?.mean ?? 0;
        // Every occlusion row of a site sees the site's own chip: only the tabular value moves.
        if (chips && chip) chips.set(chip, (k * perSite + j) * chipLength);
      }
    });
    let risks: Float32Array;
    const modelStart = performance.now();
    try {
      risks =
        degradedReason === null
          ? await model.predict(batch, ready.length * perSite, chips)
          : await (model.tabular as NonNullable<ServingModel['tabular']>).predict(
              batch,
              ready.length * perSite,
            );
    } finally {
      if (options.timings) options.timings.modelMs += performance.now() - modelStart;
      // The session has read its input once run resolves (or failed).
      if (chips && pooled) giveChipTensor(chips);
    }
    ready.forEach(({ index }, k) => {
      const item = items[index] as (typeof items)[number];
      answers[index] = modelPrediction(item, routed, risks, k * perSite, degradedReason);
    });
  };
  await run(full, null);
  await run(tabular, tabularReason);
  return answers as Array<ServedPrediction | FeaturesUnavailableError>;
}

function modelPrediction(
  item: { siteId: string; features: NonNullable<OnlineFeatures> },
  routed: Routed,
  risks: Float32Array,
  at: number,
  degradedReason: string | null,
): ServedPrediction {
  const { model, variant } = routed;
  const risk = risks[at] as number;
  const contributions = model.card.features.map((feature, i) => ({
    name: feature.name,
    value: item.features.values[feature.name] ?? null,
    contribution: risk - (risks[at + 1 + i] as number),
  }));
  contributions.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const { alert, dhw } = alertAndDhw(item.features.values);
  return {
    schema_version: SCHEMA_VERSION,
    site_id: item.siteId,
    time: item.features.as_of,
    risk,
    band: riskBand(risk),
    alert_level: alert,
    dhw,
    model_name: model.card.name,
    model_version: model.version,
    variant,
    degraded: degradedReason !== null,
    ...(degradedReason === null ? {} : { degraded_reason: degradedReason }),
    top_features: contributions.slice(0, TOP_FEATURES),
  };
}

/** The flagged degraded answer: CRW physics only, from the DHW the store holds. */
export function baselinePrediction(
  siteId: string,
  features: NonNullable<OnlineFeatures>,
  modelName: string,
  reason: string,
): ServedPrediction {
  const { alert, dhw } = alertAndDhw(features.values);
  const risk = crwBaselineRisk(dhw);
  return {
    schema_version: SCHEMA_VERSION,
    site_id: siteId,
    time: features.as_of,
    risk,
    band: riskBand(risk),
    alert_level: alert,
    dhw,
    model_name: modelName,
    model_version: 'crw-baseline',
    variant: 'crw-baseline',
    degraded: true,
    degraded_reason: `${reason}; answered by the CRW baseline (risk = DHW / 8)`,
    top_features: [{ name: 'dhw', value: dhw, contribution: risk }],
  };
}
