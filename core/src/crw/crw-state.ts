import { ValidationError } from '../errors.js';
import {
  ALERT_LEVEL_COMPOSITE_DAYS,
  ALERT_LEVEL_MISSING,
  DHW_WINDOW_DAYS,
  HOTSPOT_DHW_MIN_C,
} from './alert-level.js';
import {
  KELVIN_DETECT_THRESHOLD,
  KELVIN_OFFSET,
  SST_VALID_MAX_C,
  SST_VALID_MIN_C,
} from './units.js';

/** Incremental daily CRW update for many pixels (streaming, edge): O(1) per pixel per day. */
export interface CrwState {
  readonly pixels: number;
  /** Days since 1970-01-01 UTC of the last step, or NaN before the first. */
  readonly day: number;
}

/** One day's CRW products for every pixel of a state. */
export interface CrwDayOutput {
  /** max(SST - MMM, 0) in degC, 0.01 degC resolution; NaN where SST or MMM is missing. */
  hotspot: Float32Array;
  /**
   * Degree Heating Weeks in degC-weeks at 0.01, as NOAA publishes it and compares it with the
   * alert thresholds; NaN where no day of the 84-day window has data.
   */
  dhw: Float32Array;
  /** 0..7 (December 2023 scale), ALERT_LEVEL_MISSING where today's SST is missing. */
  alertLevel: Uint8Array;
  /** Maximum alert level of the last 7 calendar days, ALERT_LEVEL_MISSING if none has data. */
  alertLevel7dMax: Uint8Array;
}

/** A ring slot that holds no data (the day was missing). Valid slots hold hundredths of degC. */
const MISSING_SLOT = 0xffff;
const MAX_HUNDREDTHS = 0xfffe;
const HUNDREDTHS_PER_C = 100;
const DHW_MIN_HUNDREDTHS = HOTSPOT_DHW_MIN_C * HUNDREDTHS_PER_C;
/** 7 days x 4 bits of alert-level history. */
const SEVEN_DAYS_MASK = 0x0fffffff;
/** The window word: sum of hundredths in the low 24 bits, days with data from bit 24. */
const ONE_DAY = 1 << 24;
const SUM_MASK = ONE_DAY - 1;

/**
 * The state behind `CrwState`. Day-major rings: slot `day % 84` holds each pixel's DHW
 * contribution of that day in hundredths of degC (0 below 1 degC, MISSING_SLOT when missing),
 * so one step touches one contiguous slot; the 84-day sums are exact integers.
 */
export interface CrwStateData extends CrwState {
  day: number;
  readonly mmmC: Float64Array;
  readonly contributions: Uint16Array[];
  /**
   * Per pixel, the 84-day sum of contributions (hundredths, at most 84 x 65534 < 2^24) plus
   * 2^24 per day with data: one word read and written per step.
   */
  readonly window: Int32Array;
  /**
   * Alert level + 1 (0 = missing) of the last 7 days per pixel, 4 bits a day, today lowest:
   * the 7-day maximum then costs register operations, not 7 array reads.
   */
  readonly levels: Uint32Array;
}

/** A fresh state for `mmmC.length` pixels; NaN MMM marks a pixel without climatology (land). */
export function createCrwState(mmmC: Float32Array | Float64Array): CrwState {
  const pixels = mmmC.length;
  const contributions = Array.from({ length: DHW_WINDOW_DAYS }, () =>
    new Uint16Array(pixels).fill(MISSING_SLOT),
  );
  const levels = new Uint32Array(pixels);
  const state: CrwStateData = {
    pixels,
    day: Number.NaN,
    mmmC: Float64Array.from(mmmC),
    contributions,
    window: new Int32Array(pixels),
    levels,
  };
  return state;
}

/** Output arrays for `pixels` pixels, reused day after day. */
export function createCrwDayOutput(pixels: number): CrwDayOutput {
  return {
    hotspot: new Float32Array(pixels),
    dhw: new Float32Array(pixels),
    alertLevel: new Uint8Array(pixels),
    alertLevel7dMax: new Uint8Array(pixels),
  };
}

export function crwStateData(state: CrwState): CrwStateData {
  const data = state as CrwStateData;
  if (!(data.window instanceof Int32Array)) {
    throw new ValidationError(
      'not a CRW state: create it with createCrwState or restoreCrwState',
      'crw-state',
    );
  }
  return data;
}

const slotOf = (day: number, slots: number) => ((day % slots) + slots) % slots;

/** Forgets day `day`'s slot: the day has left the window or is missing. */
function clearDay(s: CrwStateData, day: number): void {
  const ring = s.contributions[slotOf(day, DHW_WINDOW_DAYS)]!;
  const window = s.window;
  for (let p = 0; p < s.pixels; p++) {
    const old = ring[p]!;
    if (old !== MISSING_SLOT) {
      window[p] = window[p]! - old - ONE_DAY;
      ring[p] = MISSING_SLOT;
    }
  }
}

/**
 * Advances every pixel by one calendar day (NOAA CRW v3.1, Skirving et al. 2020):
 *   HotSpot = max(SST - MMM, 0) degC, at 0.01 degC;
 *   DHW = sum over the last 84 calendar days (today included) of HotSpot / 7 where HotSpot >= 1,
 *   in degC-weeks, rounded to 0.01; alert level from today's HotSpot and that DHW (NOAA
 *   thresholds the rounded value: 7.9986 is 8.00, Alert Level 2); its maximum over 7 days.
 * `sstC` holds the day's SST per pixel (NaN = missing; Kelvin values are detected and
 * converted). `day` = whole days since 1970-01-01 UTC, later than the last step; skipped days
 * count as missing. A missing day adds nothing to DHW, which then sums the days that exist.
 */
export function stepCrwDay(
  state: CrwState,
  day: number,
  sstC: Float32Array | Float64Array,
  out: CrwDayOutput,
): void {
  const s = crwStateData(state);
  const pixels = s.pixels;
  if (!Number.isInteger(day) || day <= s.day) {
    throw new ValidationError(
      `CRW day ${day} must be a whole day after the last step (${s.day}); feed days in order`,
      'crw-day-order',
    );
  }
  if (sstC.length !== pixels || out.hotspot.length !== pixels) {
    throw new ValidationError(
      `CRW step got ${sstC.length} SST values and ${out.hotspot.length} outputs for ${pixels} pixels`,
      'crw-pixels',
    );
  }
  // Days since the last step: skipped days leave the window, the 7-day history shifts.
  const gap = Number.isNaN(s.day) ? Number.POSITIVE_INFINITY : day - s.day;
  const skipped = Math.min(gap - 1, DHW_WINDOW_DAYS);
  for (let d = day - skipped; d < day; d++) clearDay(s, d);
  const keepHistory = gap < ALERT_LEVEL_COMPOSITE_DAYS;
  const shift = keepHistory ? 4 * gap : 0;
  s.day = day;

  const ring = s.contributions[slotOf(day, DHW_WINDOW_DAYS)]!;
  const mmm = s.mmmC;
  const window = s.window;
  const levels = s.levels;
  const { hotspot, dhw, alertLevel, alertLevel7dMax } = out;

  for (let p = 0; p < pixels; p++) {
    let sst = sstC[p]!;
    if (sst > KELVIN_DETECT_THRESHOLD) sst -= KELVIN_OFFSET;
    let w = window[p]!;
    // Today's slot still holds the day 84 days ago: it leaves the window now.
    const old = ring[p]!;
    if (old !== MISSING_SLOT) w -= old + ONE_DAY;
    const anomaly = (sst - mmm[p]!) * 100;
    let code = 0; // alert level + 1 of today, 0 when missing
    // NaN fails every comparison, so missing SST, missing MMM and fill values land in `else`.
    if (sst >= SST_VALID_MIN_C && sst <= SST_VALID_MAX_C && !Number.isNaN(anomaly)) {
      const hs = Math.round(anomaly) | 0;
      const contribution = hs < DHW_MIN_HUNDREDTHS ? 0 : Math.min(hs, MAX_HUNDREDTHS);
      ring[p] = contribution;
      w += contribution + ONE_DAY;
      hotspot[p] = hs > 0 ? hs / 100 : 0;
      if (hs <= 0) code = 1;
      else if (hs < DHW_MIN_HUNDREDTHS) code = 2;
      else {
        // DHW in hundredths = round(sum / 7) (no ties: 7 is odd), thresholds 4, 8, 12, 16, 20.
        const dhwHundredths = ((2 * (w & SUM_MASK) + 7) / 14) | 0;
        code =
          dhwHundredths < 400
            ? 3
            : dhwHundredths < 800
              ? 4
              : dhwHundredths < 1200
                ? 5
                : dhwHundredths < 1600
                  ? 6
                  : dhwHundredths < 2000
                    ? 7
                    : 8;
      }
    } else {
      ring[p] = MISSING_SLOT;
      hotspot[p] = Number.NaN;
    }
    window[p] = w;
    dhw[p] = w >= ONE_DAY ? (((2 * (w & SUM_MASK) + 7) / 14) | 0) / HUNDREDTHS_PER_C : Number.NaN;
    alertLevel[p] = code === 0 ? ALERT_LEVEL_MISSING : code - 1;
    // The 7-day maximum from the 4-bit history, unrolled: no loads beyond one word.
    let history = keepHistory ? ((levels[p]! << shift) & SEVEN_DAYS_MASK) | code : code;
    levels[p] = history;
    let max = code;
    history >>>= 4;
    let c = history & 15;
    if (c > max) max = c;
    history >>>= 4;
    c = history & 15;
    if (c > max) max = c;
    history >>>= 4;
    c = history & 15;
    if (c > max) max = c;
    history >>>= 4;
    c = history & 15;
    if (c > max) max = c;
    history >>>= 4;
    c = history & 15;
    if (c > max) max = c;
    history >>>= 4;
    c = history & 15;
    if (c > max) max = c;
    alertLevel7dMax[p] = max === 0 ? ALERT_LEVEL_MISSING : max - 1;
  }
}
