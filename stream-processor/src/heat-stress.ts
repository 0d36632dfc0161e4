import {
  ALERT_LEVEL_MISSING,
  type CrwDayOutput,
  type CrwState,
  computeHeatStress,
  copyCrwState,
  createCrwDayOutput,
  createCrwState,
  dailyClimatologyOnDay,
  type HeatStressOfDay,
  stepCrwDay,
} from '@reefguard/core';
import type { SiteProfile } from './sites.js';

/**
 * Heat stress of a site on a day from its daily mean SST: the CRW incremental update of
 * `core` run over the window (see `createCrwHeatStress`). Kept behind this interface so the
 * processor does not care whether the state is replayed or restored.
 */
export interface HeatStress {
  /**
   * `meanC` holds daily means oldest first, the last one being `day` (days since epoch);
   * returns null when the window has too little data for a DHW.
   */
  ofDay(site: SiteProfile, meanC: Float64Array, day: number): HeatStressOfDay | null;
  /** The site's daily climatology (degC) on `day`. */
  climatologyC(site: SiteProfile, day: number): number;
}

/** Windows whose state before the last day is kept (a few per site: today and recomputes). */
export const HEAT_PREFIX_CACHE_SIZE = 4096;

/** The CRW state after every day of a window but the last, and what the last step needs. */
interface Prefix {
  /** The daily means it was stepped over: reused only while they are the same. */
  meanC: Float64Array;
  mmmC: number;
  /** Never stepped again: each batch steps a copy of it (`copyCrwState` into a scratch state). */
  state: CrwState;
  /** DHW seven days before the window's last day (NaN when the window is shorter). */
  dhw7dAgo: number;
}

/**
 * Heat stress from the CRW update of `core`, replayed over the site's window of daily means
 * (92 days: the 84-day DHW window plus 7 for the trend). Replaying from the window rather
 * than keeping a CrwState per site keeps instances stateless: the window lives in Redis.
 *
 * A live batch changes only the last day of a site's window, so the state stepped over the
 * days before it is kept (keyed by site and window) and reused while those days'
 * means are unchanged: one CRW step per site and batch instead of 92, the same numbers. Any
 * change before the last day (late data, a new day) replays the window.
 */
export function createCrwHeatStress(): HeatStress {
  const prefixes = new Map<string, Prefix>();
  const out = createCrwDayOutput(1);
  const today = new Float64Array(1);
  // Scratch states to step the last day on, by site kind (with an MMM or without): copying a
  // kept state into one costs no allocation, where restoring it from bytes took four shared
  // buffers per site and batch (a twentieth of the processor's time at 10,000 readings/s).
  const scratch = new Map<boolean, CrwState>();
  const scratchFor = (mmmC: number): CrwState => {
    const sea = !Number.isNaN(mmmC);
    let state = scratch.get(sea);
    if (!state) {
      state = createCrwState(Float64Array.of(mmmC));
      scratch.set(sea, state);
    }
    return state;
  };
  return {
    ofDay(site, meanC, day) {
      const n = meanC.length;
      if (n === 0) return null;
      if (n === 1) return fromSeries(computeOver(site, meanC, day), 1);
      const key = `${site.siteId}/${day - n + 1}/${day}`;
      let prefix = prefixes.get(key);
      if (!prefix || prefix.mmmC !== site.mmmC || !samePrefix(prefix.meanC, meanC)) {
        prefix = buildPrefix(site, meanC, day);
        prefixes.delete(key);
        prefixes.set(key, prefix);
        if (prefixes.size > HEAT_PREFIX_CACHE_SIZE) {
          prefixes.delete(prefixes.keys().next().value as string);
        }
      }
      const state = scratchFor(site.mmmC);
      copyCrwState(state, prefix.state);
      today[0] = meanC[n - 1] as number;
      stepCrwDay(state, day, today, out);
      const level = out.alertLevel[0] as number;
      return {
        hotspot: hundredths(out.hotspot[0] as number),
        dhw: hundredths(out.dhw[0] as number),
        alertLevel: level === ALERT_LEVEL_MISSING ? Number.NaN : level,
        dhw7dAgo: prefix.dhw7dAgo,
      };
    },
    climatologyC: (site, day) => dailyClimatologyOnDay(site.monthlyMeanC, day),
  };
}

function computeOver(site: SiteProfile, meanC: Float64Array, lastDay: number): CrwDayOutput {
  const n = meanC.length;
  const days = new Int32Array(n);
  for (let i = 0; i < n; i++) days[i] = lastDay - n + 1 + i;
  return computeHeatStress({ days, sstC: meanC, pixels: 1, mmmC: Float64Array.of(site.mmmC) });
}

/** Steps a fresh state over every day of the window but the last. */
function buildPrefix(site: SiteProfile, meanC: Float64Array, day: number): Prefix {
  const n = meanC.length;
  const state = createCrwState(Float64Array.of(site.mmmC));
  const out = createCrwDayOutput(1);
  const sst = new Float64Array(1);
  let dhw7dAgo = Number.NaN;
  for (let i = 0; i < n - 1; i++) {
    sst[0] = meanC[i] as number;
    stepCrwDay(state, day - n + 1 + i, sst, out);
    if (i === n - 8) dhw7dAgo = hundredths(out.dhw[0] as number);
  }
  return {
    meanC: meanC.slice(0, n - 1),
    mmmC: site.mmmC,
    state,
    dhw7dAgo,
  };
}

/** Same means (NaN equal to NaN) on every day before the window's last. */
function samePrefix(kept: Float64Array, meanC: Float64Array): boolean {
  if (kept.length !== meanC.length - 1) return false;
  for (let i = 0; i < kept.length; i++) {
    const a = kept[i] as number;
    const b = meanC[i] as number;
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) return false;
  }
  return true;
}

function fromSeries(series: CrwDayOutput, n: number): HeatStressOfDay {
  const level = series.alertLevel[n - 1] as number;
  return {
    hotspot: hundredths(series.hotspot[n - 1] as number),
    dhw: hundredths(series.dhw[n - 1] as number),
    alertLevel: level === ALERT_LEVEL_MISSING ? Number.NaN : level,
    dhw7dAgo: n > 7 ? hundredths(series.dhw[n - 8] as number) : Number.NaN,
  };
}

/** CRW products are 0.01 resolution, held in Float32: give them back as the decimals they are. */
const hundredths = (value: number): number => Math.round(value * 100) / 100;
