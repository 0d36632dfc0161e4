import type { FeatureName } from './catalog.js';

/**
 * Daily features of one site from its daily series, the same code for streaming and batch.
 * Heat stress (HotSpot, DHW, alert level) comes from the CRW incremental update in
 * `core/crw`; this module only combines the pieces and never guesses a missing value.
 */

/** Days of daily mean SST the features need: 30-day rolling mean. */
export const ROLLING_WINDOW_DAYS = 30;

export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 (UTC) of an instant in epoch milliseconds. */
export function utcDay(epochMs: number): number {
  return Math.floor(epochMs / MS_PER_DAY);
}

/** ISO instant of the end of a UTC day: the as-of time of that day's features. */
export function dayEndIso(day: number): string {
  return new Date((day + 1) * MS_PER_DAY - 1).toISOString();
}

export interface HeatStressOfDay {
  hotspot: number;
  dhw: number;
  alertLevel: number;
  /** DHW seven days before the as-of day (NaN when unknown). */
  dhw7dAgo: number;
}

export interface DailyFeatureInput {
  /**
   * Daily mean SST (degC) of the days ending at the as-of day, oldest first, NaN for a day
   * without data; the last element is the as-of day.
   */
  sstMeanC: ArrayLike<number>;
  /** Maximum SST of the as-of day (degC), NaN without data. */
  sstMaxC: number;
  /** Site daily climatology (degC) on the as-of day, NaN when unknown. */
  climatologyC: number;
  heat: HeatStressOfDay | null;
  /** Latest turbidity (FNU/NTU) and the site's own history of it. */
  turbidity: { latest: number; mean: number; std: number } | null;
}

export type DailyFeatureValues = Partial<Record<FeatureName, number | null>>;

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** Mean of the finite values among the last `days` entries; NaN when there are none. */
export function trailingMean(values: ArrayLike<number>, days: number): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(0, values.length - days); i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      sum += v;
      n += 1;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** The daily features of the catalogue that come from SST series and turbidity. */
export function computeDailyFeatures(input: DailyFeatureInput): DailyFeatureValues {
  const { sstMeanC, heat, turbidity } = input;
  const mean = sstMeanC.length > 0 ? (sstMeanC[sstMeanC.length - 1] as number) : Number.NaN;
  const zscore =
    turbidity && turbidity.std > 0
      ? (turbidity.latest - turbidity.mean) / turbidity.std
      : Number.NaN;
  return {
    sst_daily_mean: finiteOrNull(mean),
    sst_daily_max: finiteOrNull(input.sstMaxC),
    sst_rolling_avg_7d: finiteOrNull(trailingMean(sstMeanC, 7)),
    sst_rolling_avg_30d: finiteOrNull(trailingMean(sstMeanC, ROLLING_WINDOW_DAYS)),
    sst_anomaly: finiteOrNull(mean - input.climatologyC),
    hotspot: heat ? finiteOrNull(heat.hotspot) : null,
    dhw: heat ? finiteOrNull(heat.dhw) : null,
    alert_level: heat ? finiteOrNull(heat.alertLevel) : null,
    dhw_trend_7d: heat ? finiteOrNull(heat.dhw - heat.dhw7dAgo) : null,
    turbidity_ntu: turbidity ? finiteOrNull(turbidity.latest) : null,
    turbidity_zscore: finiteOrNull(zscore),
  };
}
