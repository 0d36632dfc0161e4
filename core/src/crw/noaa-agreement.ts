import { ALERT_DHW_STEP, ALERT_LEVEL_COMPOSITE_DAYS, DHW_WINDOW_DAYS } from './alert-level.js';
import type { HeatStressSeries } from './heat-stress.js';

/** NOAA's published values for the same rows (NaN or fill = missing). */
export interface NoaaHeatStress {
  /** CRW_HOTSPOT as published on ERDDAP: SST - MMM, not clipped at 0. */
  hotspot: ArrayLike<number>;
  dhw: ArrayLike<number>;
  /** CRW_BAA and CRW_BAA_7D_MAX. */
  alertLevel: ArrayLike<number>;
  alertLevel7dMax: ArrayLike<number>;
}

export interface AgreementCount {
  compared: number;
  matching: number;
  /** matching / compared. */
  rate: number;
}

export interface Mismatch {
  day: number;
  pixel: number;
  product: 'hotspot' | 'dhw' | 'alert_level' | 'alert_level_7d_max';
  ours: number;
  noaa: number;
  reason: string;
}

export interface NoaaAgreement {
  /** HotSpot equal (to 0.005 degC) to max(CRW_HOTSPOT, 0). */
  hotspot: AgreementCount;
  /** DHW within 0.01 degC-weeks on days whose 84-day window has every calendar day. */
  dhwFullWindow: AgreementCount;
  /** DHW within 0.01 on every day, full window or not. */
  dhwAllDays: AgreementCount;
  maxDhwDifferenceFullWindow: number;
  alertLevel: AgreementCount;
  alertLevel7dMax: AgreementCount;
  /** Every mismatch with the reason found for it ("unexplained" if none). */
  mismatches: Mismatch[];
}

/** DHW agreement tolerance, degC-weeks: NOAA publishes DHW to 0.01. */
export const NOAA_DHW_TOLERANCE = 0.01;
const HOTSPOT_TOLERANCE_C = 0.005;

const count = (): AgreementCount => ({ compared: 0, matching: 0, rate: Number.NaN });
function tally(c: AgreementCount, ok: boolean): void {
  c.compared++;
  if (ok) c.matching++;
}

/**
 * Compares our CRW products with NOAA's published ones row by row (time-major, `pixels` per
 * day) and explains each mismatch: a window or 7-day composite that spans calendar days absent
 * from the input (NOAA had them), a DHW within 0.01 of an alert threshold (NOAA decides on its
 * own rounding), or NOAA's 0-4 scale capping levels above Alert Level 2.
 */
export function measureNoaaAgreement(
  days: Int32Array,
  pixels: number,
  ours: HeatStressSeries,
  noaa: NoaaHeatStress,
): NoaaAgreement {
  const present = new Set(days);
  const missingBefore = (day: number, span: number) => {
    for (let d = day - span + 1; d <= day; d++) if (!present.has(d)) return true;
    return false;
  };
  const result: NoaaAgreement = {
    hotspot: count(),
    dhwFullWindow: count(),
    dhwAllDays: count(),
    maxDhwDifferenceFullWindow: 0,
    alertLevel: count(),
    alertLevel7dMax: count(),
    mismatches: [],
  };
  const first = days[0] ?? 0;
  for (let t = 0; t < days.length; t++) {
    const day = days[t]!;
    const windowGap = day - first < DHW_WINDOW_DAYS - 1 || missingBefore(day, DHW_WINDOW_DAYS);
    const compositeGap = missingBefore(day, ALERT_LEVEL_COMPOSITE_DAYS);
    for (let p = 0; p < pixels; p++) {
      const i = t * pixels + p;
      const miss = (product: Mismatch['product'], o: number, n: number, reason: string) =>
        result.mismatches.push({ day, pixel: p, product, ours: o, noaa: n, reason });
      const hsNoaa = noaa.hotspot[i]!;
      if (Number.isFinite(hsNoaa)) {
        const expected = Math.max(hsNoaa, 0);
        const ok = Math.abs(ours.hotspot[i]! - expected) < HOTSPOT_TOLERANCE_C;
        tally(result.hotspot, ok);
        if (!ok) miss('hotspot', ours.hotspot[i]!, expected, 'unexplained');
      }
      const dhwNoaa = noaa.dhw[i]!;
      const dhwOurs = ours.dhw[i]!;
      if (Number.isFinite(dhwNoaa)) {
        const difference = Math.abs(dhwOurs - dhwNoaa);
        const ok = difference <= NOAA_DHW_TOLERANCE + 1e-6;
        tally(result.dhwAllDays, ok);
        if (!windowGap) {
          tally(result.dhwFullWindow, ok);
          result.maxDhwDifferenceFullWindow = Math.max(
            result.maxDhwDifferenceFullWindow,
            difference,
          );
        }
        if (!ok) {
          miss(
            'dhw',
            dhwOurs,
            dhwNoaa,
            windowGap ? 'the 84-day window spans days absent from the input' : 'unexplained',
          );
        }
      }
      const reasonFor = (o: number, n: number, gap: boolean, gapReason: string) => {
        if (n === 4 && o > 4)
          return "NOAA's 0-4 scale (before December 2023) caps at Alert Level 2";
        if (gap) return gapReason;
        const nearThreshold = Math.abs(
          dhwNoaa / ALERT_DHW_STEP - Math.round(dhwNoaa / ALERT_DHW_STEP),
        );
        if (nearThreshold * ALERT_DHW_STEP <= NOAA_DHW_TOLERANCE + 1e-6) {
          return 'DHW within 0.01 of an alert threshold';
        }
        return 'unexplained';
      };
      const levelNoaa = noaa.alertLevel[i]!;
      if (Number.isFinite(levelNoaa)) {
        const o = ours.alertLevel[i]!;
        tally(result.alertLevel, o === levelNoaa);
        if (o !== levelNoaa) {
          const gapReason = 'DHW window spans days absent from the input';
          miss('alert_level', o, levelNoaa, reasonFor(o, levelNoaa, windowGap, gapReason));
        }
      }
      const maxNoaa = noaa.alertLevel7dMax[i]!;
      if (Number.isFinite(maxNoaa)) {
        const o = ours.alertLevel7dMax[i]!;
        tally(result.alertLevel7dMax, o === maxNoaa);
        if (o !== maxNoaa) {
          const gapReason = 'the 7 days or their DHW windows span days absent from the input';
          miss(
            'alert_level_7d_max',
            o,
            maxNoaa,
            reasonFor(o, maxNoaa, compositeGap || windowGap || missingBefore(day, 90), gapReason),
          );
        }
      }
    }
  }
  for (const c of [
    result.hotspot,
    result.dhwFullWindow,
    result.dhwAllDays,
    result.alertLevel,
    result.alertLevel7dMax,
  ]) {
    c.rate = c.compared === 0 ? Number.NaN : c.matching / c.compared;
  }
  return result;
}
