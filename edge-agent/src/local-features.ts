import { readFile, rename, writeFile } from 'node:fs/promises';
import {
  ALERT_LEVEL_MISSING,
  type BuoyReading,
  type CrwState,
  createCrwDayOutput,
  createCrwState,
  dailyClimatology,
  type FeatureVector,
  type ModelCard,
  restoreCrwState,
  serializeCrwState,
  stepCrwDay,
} from '@reefguard/core';

const DAY_MS = 86_400_000;
const ROLLING_DAYS = 7;

export interface LocalFeaturesOptions {
  siteId: string;
  /** Maximum of the monthly mean climatology (degC); also taken from cloud context `mmm`. */
  mmmC?: number;
  /** Twelve monthly mean SSTs (degC) for the daily climatology behind `sst_anomaly`. */
  monthlyClimatologyC?: readonly number[];
  /** File the CRW state is kept in, so DHW survives restarts. */
  statePath?: string;
}

export interface LocalFeatures {
  /** Folds one reading in; only in-situ water temperature feeds the heat-stress features. */
  observe(reading: BuoyReading): void;
  /** The latest cloud feature vector for this site: fills what the agent cannot compute. */
  setCloudContext(vector: FeatureVector): void;
  /** Feature values as of the latest reading: CRW products as of the last complete UTC day. */
  values(): Record<string, number | null>;
  asOf(): string | null;
  /** One model input row in the card's feature order (NaN = unknown). */
  row(card: ModelCard): Float32Array;
  save(): Promise<void>;
}

interface DayAggregate {
  day: number;
  sum: number;
  count: number;
  max: number;
}

/**
 * The agent's own heat-stress features, computed with core's incremental CRW code from its
 * own water-temperature readings: daily mean and max per UTC day, then at each day's end one
 * CRW step (HotSpot, DHW, alert level) and the 7-day rolling mean. Values the readings cannot
 * give come from the latest cloud context, never from a guess.
 */
export async function createLocalFeatures(options: LocalFeaturesOptions): Promise<LocalFeatures> {
  let mmmC = options.mmmC;
  let state: CrwState | null = null;
  const stored = options.statePath ? await readFile(options.statePath).catch(() => null) : null;
  if (stored) state = restoreCrwState(new Uint8Array(stored));
  const out = createCrwDayOutput(1);
  const sstOfDay = new Float64Array(1);
  let today: DayAggregate | null = null;
  const closedDays: { day: number; mean: number }[] = [];
  let crw: { hotspot: number; dhw: number; alertLevel: number } | null = null;
  let cloud: FeatureVector | null = null;
  let latest: string | null = null;

  function ensureState() {
    if (!state && mmmC !== undefined) state = createCrwState(Float64Array.of(mmmC));
    return state;
  }

  function closeDay(aggregate: DayAggregate) {
    const mean = aggregate.sum / aggregate.count;
    closedDays.push({ day: aggregate.day, mean });
    while (closedDays.length > ROLLING_DAYS) closedDays.shift();
    const crwState = ensureState();
    if (!crwState || aggregate.day <= crwState.day) return;
    sstOfDay[0] = mean;
    stepCrwDay(crwState, aggregate.day, sstOfDay, out);
    const level = out.alertLevel[0] as number;
    crw = {
      hotspot: out.hotspot[0] as number,
      dhw: out.dhw[0] as number,
      alertLevel: level === ALERT_LEVEL_MISSING ? Number.NaN : level,
    };
  }

  function climatologyOn(time: string): number | null {
    if (options.monthlyClimatologyC?.length === 12) {
      return dailyClimatology(options.monthlyClimatologyC, new Date(time));
    }
    return cloud?.values.sst_clim_mean ?? null;
  }

  const finite = (value: number | undefined | null) =>
    value === undefined || value === null || Number.isNaN(value) ? null : value;

  const features: LocalFeatures = {
    observe(reading) {
      if (reading.parameter !== 'water_temperature' || reading.site_id !== options.siteId) return;
      const day = Math.floor(Date.parse(reading.observed_at) / DAY_MS);
      if (today && day < today.day) return; // late reading of a closed day: the cloud has it
      if (today && day > today.day) {
        closeDay(today);
        today = null;
      }
      today ??= { day, sum: 0, count: 0, max: Number.NEGATIVE_INFINITY };
      today.sum += reading.value;
      today.count++;
      today.max = Math.max(today.max, reading.value);
      latest = reading.observed_at;
    },
    setCloudContext(vector) {
      if (vector.site_id !== options.siteId) return;
      cloud = vector;
      const mmm = vector.values.mmm;
      if (mmmC === undefined && typeof mmm === 'number') mmmC = mmm;
    },
    values() {
      const values: Record<string, number | null> = { ...(cloud?.values ?? {}) };
      if (today) {
        const mean = today.sum / today.count;
        values.sst_daily_mean = mean;
        values.sst_daily_max = today.max;
        const days = [
          ...closedDays.filter((d) => d.day > today!.day - ROLLING_DAYS).map((d) => d.mean),
          mean,
        ];
        values.sst_rolling_avg_7d = days.reduce((a, b) => a + b, 0) / days.length;
        const clim = latest ? climatologyOn(latest) : null;
        values.sst_anomaly = clim === null ? null : mean - clim;
      }
      if (crw) {
        values.hotspot = finite(crw.hotspot);
        values.dhw = finite(crw.dhw);
        values.alert_level = finite(crw.alertLevel);
      }
      if (mmmC !== undefined) values.mmm = mmmC;
      return values;
    },
    asOf: () => latest,
    row(card) {
      const values = features.values();
      return Float32Array.from(card.features.map((f) => values[f.name] ?? Number.NaN));
    },
    async save() {
      if (!options.statePath || !state) return;
      const tmp = `${options.statePath}.tmp`;
      await writeFile(tmp, serializeCrwState(state));
      await rename(tmp, options.statePath);
    },
  };
  return features;
}
