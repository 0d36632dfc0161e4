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
/** DHW in hundredths of degC-weeks = round(sum of HotSpot hundredths / 7). */
const DAYS_PER_WEEK = 7;
/** An alert step of 4 degC-weeks, in hundredths of degC-weeks. */
const DHW_HUNDREDTHS_PER_ALERT_STEP = 400;

/**
 * The state behind `CrwState`. Day-major rings: slot `day % 84` holds each pixel's DHW
 * contribution of that day in hundredths of degC (0 below 1 degC, MISSING_SLOT when missing),
 * so one step touches one contiguous slot; the 84-day sums are exact integers.
 */
export interface CrwStateData extends CrwState {
  day: number;
  readonly mmmC: Float64Array;
  readonly contributions: Uint16Array[];
  readonly sumHundredths: Int32Array;
  readonly validDays: Uint8Array;
  /** Alert level + 1 of the last 7 days (0 = missing), slot `day % 7`. */
  readonly levels: Uint8Array[];
}

/** A fresh state for `mmmC.length` pixels; NaN MMM marks a pixel without climatology (land). */
export function createCrwState(mmmC: Float32Array | Float64Array): CrwState {
  const pixels = mmmC.length;
  const contributions = Array.from({ length: DHW_WINDOW_DAYS }, () =>
    new Uint16Array(pixels).fill(MISSING_SLOT),
  );
  const levels = Array.from({ length: ALERT_LEVEL_COMPOSITE_DAYS }, () => new Uint8Array(pixels));
  const state: CrwStateData = {
    pixels,
    day: Number.NaN,
    mmmC: Float64Array.from(mmmC),
    contributions,
    sumHundredths: new Int32Array(pixels),
    validDays: new Uint8Array(pixels),
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
  if (!(data.sumHundredths instanceof Int32Array)) {
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
  const sum = s.sumHundredths;
  const valid = s.validDays;
  for (let p = 0; p < s.pixels; p++) {
    const old = ring[p]!;
    if (old !== MISSING_SLOT) {
      sum[p] = sum[p]! - old;
      valid[p] = valid[p]! - 1;
      ring[p] = MISSING_SLOT;
    }
  }
  s.levels[slotOf(day, ALERT_LEVEL_COMPOSITE_DAYS)]!.fill(0);
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
  if (!Number.isNaN(s.day)) {
    const skipped = Math.min(day - s.day - 1, DHW_WINDOW_DAYS);
    for (let d = day - skipped; d < day; d++) clearDay(s, d);
  }
  s.day = day;

  const ring = s.contributions[slotOf(day, DHW_WINDOW_DAYS)]!;
  const levelSlot = slotOf(day, ALERT_LEVEL_COMPOSITE_DAYS);
  const todayLevels = s.levels[levelSlot]!;
  const [l0, l1, l2, l3, l4, l5, l6] = s.levels as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const mmm = s.mmmC;
  const sums = s.sumHundredths;
  const valid = s.validDays;
  const { hotspot, dhw, alertLevel, alertLevel7dMax } = out;

  for (let p = 0; p < pixels; p++) {
    let sst = sstC[p]!;
    if (sst > KELVIN_DETECT_THRESHOLD) sst -= KELVIN_OFFSET;
    // NaN fails both comparisons, so missing and fill values take the same branch.
    const hs =
      sst >= SST_VALID_MIN_C && sst <= SST_VALID_MAX_C
        ? Math.round((sst - mmm[p]!) * 100)
        : Number.NaN;
    let sum = sums[p]!;
    let days = valid[p]!;
    // Today's slot still holds the day 84 days ago: it leaves the window now.
    const old = ring[p]!;
    if (old !== MISSING_SLOT) {
      sum -= old;
      days--;
    }
    let level: number;
    if (!Number.isNaN(hs)) {
      const contribution = hs >= DHW_MIN_HUNDREDTHS ? Math.min(hs, MAX_HUNDREDTHS) : 0;
      ring[p] = contribution;
      sum += contribution;
      days++;
      hotspot[p] = hs > 0 ? hs / 100 : 0;
      level =
        hs <= 0
          ? 0
          : hs < DHW_MIN_HUNDREDTHS
            ? 1
            : 2 +
              Math.min(
                5,
                Math.floor(Math.round(sum / DAYS_PER_WEEK) / DHW_HUNDREDTHS_PER_ALERT_STEP),
              );
      todayLevels[p] = level + 1;
    } else {
      ring[p] = MISSING_SLOT;
      hotspot[p] = Number.NaN;
      level = ALERT_LEVEL_MISSING;
      todayLevels[p] = 0;
    }
    sums[p] = sum;
    valid[p] = days;
    dhw[p] = days > 0 ? Math.round(sum / DAYS_PER_WEEK) / HUNDREDTHS_PER_C : Number.NaN;
    alertLevel[p] = level;
    const max = Math.max(l0[p]!, l1[p]!, l2[p]!, l3[p]!, l4[p]!, l5[p]!, l6[p]!);
    alertLevel7dMax[p] = max === 0 ? ALERT_LEVEL_MISSING : max - 1;
  }
}
