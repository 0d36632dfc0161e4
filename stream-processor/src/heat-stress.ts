import {
  ALERT_LEVEL_MISSING,
  computeHeatStress,
  dailyClimatologyOnDay,
  type HeatStressOfDay,
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

/**
 * Heat stress from the CRW update of `core`, replayed over the site's window of daily means
 * (92 days: the 84-day DHW window plus 7 for the trend). Replaying from the window rather
 * than keeping a CrwState per site keeps instances stateless: the window lives in Redis.
 */
export function createCrwHeatStress(): HeatStress {
  return {
    ofDay(site, meanC, day) {
      const n = meanC.length;
      if (n === 0) return null;
      const days = new Int32Array(n);
      for (let i = 0; i < n; i++) days[i] = day - n + 1 + i;
      const series = computeHeatStress({
        days,
        sstC: meanC,
        pixels: 1,
        mmmC: Float64Array.of(site.mmmC),
      });
      const level = series.alertLevel[n - 1] as number;
      return {
        hotspot: hundredths(series.hotspot[n - 1] as number),
        dhw: hundredths(series.dhw[n - 1] as number),
        alertLevel: level === ALERT_LEVEL_MISSING ? Number.NaN : level,
        dhw7dAgo: n > 7 ? hundredths(series.dhw[n - 8] as number) : Number.NaN,
      };
    },
    climatologyC: (site, day) => dailyClimatologyOnDay(site.monthlyMeanC, day),
  };
}

/** CRW products are 0.01 resolution, held in Float32: give them back as the decimals they are. */
const hundredths = (value: number): number => Math.round(value * 100) / 100;
