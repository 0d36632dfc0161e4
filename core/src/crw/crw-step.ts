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

/**
 * The arrays behind a CRW state, all on SharedArrayBuffers so worker threads can step pixel
 * ranges of the same state. Only pixels with an MMM (sea) have state: `runs` lists them as
 * runs of grid pixels, so land costs a bulk fill per run and no memory.
 */
export interface CrwStateArrays {
  /** Grid pixels. */
  readonly pixels: number;
  /** Pixels with an MMM, the ones that carry state. */
  readonly statePixels: number;
  /** Per run r: grid pixels [runs[3r], runs[3r+1]) are state pixels from runs[3r+2] on. */
  readonly runs: Int32Array;
  /** MMM per state pixel, degC. */
  readonly mmmC: Float64Array;
  /**
   * Slot-major ring: slot `day % 84` (statePixels values from `slot * statePixels`) holds each
   * pixel's DHW contribution of that day in hundredths of degC plus one (1 below 1 degC,
   * MISSING_SLOT = 0 when missing, so fresh zeroed memory is an empty window), so a step reads
   * and writes one contiguous plane; the 84-day sums stay exact.
   */
  readonly ring: Uint16Array;
  /**
   * Per state pixel, the 84-day sum of contributions (hundredths, at most 84 x 65534 < 2^24) plus
   * 2^24 per day with data: one word read and written per step.
   */
  readonly window: Int32Array;
  /** Alert level + 1 (0 = missing) of the last 7 days, 4 bits a day, today lowest. */
  readonly levels: Uint32Array;
}

/** A ring slot that holds no data (the day was missing). Others hold hundredths of degC + 1. */
export const MISSING_SLOT = 0;
/** The largest contribution a slot holds (655 degC: only fill values come near). */
const MAX_HUNDREDTHS = 0xfffe;
const DHW_MIN_HUNDREDTHS = HOTSPOT_DHW_MIN_C * 100;
/** 7 days x 4 bits of alert-level history. */
const SEVEN_DAYS_MASK = 0x0fffffff;
/** The window word: sum of hundredths in the low 24 bits, days with data from bit 24. */
const ONE_DAY = 1 << 24;
const SUM_MASK = ONE_DAY - 1;
/** What a present slot (contribution + 1) adds to the window word: the contribution and a day. */
export const SLOT_TO_WINDOW = ONE_DAY - 1;
/** DHW hundredths = round(sum / 7) = floor((2 sum + 7) / 14): 2 sum + 7 is odd, never a tie. */
const ONE_FOURTEENTH = 1 / 14;
/** Alert levels 2..7 by DHW hundredths / 400 (thresholds 4, 8, 12, 16, 20 degC-weeks). */
const DHW_STEP_HUNDREDTHS = 400;
const DHW_TOP_HUNDREDTHS = 2000;

const slotOf = (day: number): number =>
  ((day % DHW_WINDOW_DAYS) + DHW_WINDOW_DAYS) % DHW_WINDOW_DAYS;

/**
 * Advances grid pixels [from, to) of a state from `previousDay` (NaN before the first step) to
 * `day`: clears the slots of skipped days, then steps today. The caller validates `day` and
 * records it; pixel ranges of one day are independent, so threads may step disjoint ranges.
 */
export function stepCrwRange(
  s: CrwStateArrays,
  day: number,
  previousDay: number,
  sstC: Float32Array | Float64Array,
  out: CrwDayOutput,
  from: number,
  to: number,
): void {
  const fresh = Number.isNaN(previousDay);
  const gap = fresh ? Number.POSITIVE_INFINITY : day - previousDay;
  // A state never stepped holds no day: nothing to clear (84 planes would be a full pass).
  const skipped = fresh ? 0 : Math.min(gap - 1, DHW_WINDOW_DAYS);
  const keep = gap < ALERT_LEVEL_COMPOSITE_DAYS;
  const runs = s.runs;
  // First run that ends after `from` (runs are sorted and disjoint).
  let lo = 0;
  let hi = runs.length / 3;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[3 * mid + 1]! <= from) lo = mid + 1;
    else hi = mid;
  }
  let at = from;
  for (let r = lo; r < runs.length / 3 && runs[3 * r]! < to; r++) {
    const a = Math.max(runs[3 * r]!, from);
    const b = Math.min(runs[3 * r + 1]!, to);
    if (a > at) fillMissing(out, at, a);
    const offset = runs[3 * r + 2]! - runs[3 * r]!;
    for (let d = day - skipped; d < day; d++) clearSlot(s, slotOf(d), a + offset, b + offset);
    stepRun(
      s,
      slotOf(day),
      keep ? 4 * gap : 0,
      keep ? SEVEN_DAYS_MASK : 0,
      sstC,
      out,
      a,
      b,
      offset,
    );
    at = b;
  }
  if (at < to) fillMissing(out, at, to);
}

/** Outputs of pixels without state (no MMM): missing. */
function fillMissing(out: CrwDayOutput, from: number, to: number): void {
  out.hotspot.fill(Number.NaN, from, to);
  out.dhw.fill(Number.NaN, from, to);
  out.alertLevel.fill(ALERT_LEVEL_MISSING, from, to);
  out.alertLevel7dMax.fill(ALERT_LEVEL_MISSING, from, to);
}

/** Forgets a day of state pixels [from, to): it has left the window or was skipped. */
function clearSlot(s: CrwStateArrays, slot: number, from: number, to: number): void {
  const ring = s.ring;
  const window = s.window;
  const base = slot * s.statePixels;
  for (let q = from; q < to; q++) {
    const old = ring[base + q]!;
    if (old !== MISSING_SLOT) {
      window[q] = window[q]! - old - SLOT_TO_WINDOW;
      ring[base + q] = MISSING_SLOT;
    }
  }
}

/**
 * The hot loop over grid pixels [from, to), state pixel = grid pixel + offset. Per pixel: one
 * SST, MMM, ring slot, window word and history word read; integer arithmetic after the HotSpot.
 */
function stepRun(
  s: CrwStateArrays,
  slot: number,
  shift: number,
  historyMask: number,
  sstC: Float32Array | Float64Array,
  out: CrwDayOutput,
  from: number,
  to: number,
  offset: number,
): void {
  const ring = s.ring;
  const base = slot * s.statePixels + offset;
  const mmm = s.mmmC;
  const window = s.window;
  const levels = s.levels;
  const { hotspot, dhw, alertLevel, alertLevel7dMax } = out;
  // Module constants as locals: imported and module-level bindings are loaded (and checked for
  // initialisation) on every use; locals are registers and fold into the compare instructions.
  const kelvinAbove = KELVIN_DETECT_THRESHOLD;
  const kelvin = KELVIN_OFFSET;
  const validMin = SST_VALID_MIN_C;
  const validMax = SST_VALID_MAX_C;
  const missing = MISSING_SLOT;
  const slotToWindow = SLOT_TO_WINDOW;
  const dhwMin = DHW_MIN_HUNDREDTHS;
  const maxHundredths = MAX_HUNDREDTHS;
  const oneDay = ONE_DAY;
  const sumMask = SUM_MASK;
  const oneFourteenth = ONE_FOURTEENTH;
  const dhwStep = DHW_STEP_HUNDREDTHS;
  const dhwTop = DHW_TOP_HUNDREDTHS;
  for (let p = from; p < to; p++) {
    const q = p + offset;
    let sst = sstC[p]!;
    if (sst > kelvinAbove) sst -= kelvin;
    let w = window[q]!;
    // Today's slot still holds the day 84 days ago: it leaves the window now.
    const old = ring[base + p]!;
    if (old !== missing) w -= old + slotToWindow;
    const anomaly = (sst - mmm[q]!) * 100;
    let code = 0; // alert level + 1 of today, 0 when missing
    // NaN fails every comparison: missing SST and fill values take the `else`.
    if (sst >= validMin && sst <= validMax) {
      const hs = Math.round(anomaly) | 0;
      const contribution = hs < dhwMin ? 0 : Math.min(hs, maxHundredths);
      ring[base + p] = contribution + 1;
      w += contribution + oneDay;
      hotspot[p] = hs > 0 ? hs * 0.01 : 0;
      const dhwHundredths = ((2 * (w & sumMask) + 7) * oneFourteenth) | 0;
      dhw[p] = dhwHundredths * 0.01;
      code =
        hs <= 0
          ? 1
          : hs < dhwMin
            ? 2
            : dhwHundredths < dhwTop
              ? 3 + ((dhwHundredths / dhwStep) | 0)
              : 8;
    } else {
      ring[base + p] = missing;
      hotspot[p] = Number.NaN;
      dhw[p] = w >= oneDay ? (((2 * (w & sumMask) + 7) * oneFourteenth) | 0) * 0.01 : Number.NaN;
    }
    window[q] = w;
    // code - 1 wraps 0 (missing) to 255 = ALERT_LEVEL_MISSING in the Uint8Array.
    alertLevel[p] = code - 1;
    // The 7-day maximum from the 4-bit history: register operations, no further loads.
    let history = ((levels[q]! << shift) & historyMask) | code;
    levels[q] = history;
    let max = code;
    history >>>= 4;
    max = Math.max(max, history & 15);
    history >>>= 4;
    max = Math.max(max, history & 15);
    history >>>= 4;
    max = Math.max(max, history & 15);
    history >>>= 4;
    max = Math.max(max, history & 15);
    history >>>= 4;
    max = Math.max(max, history & 15);
    history >>>= 4;
    max = Math.max(max, history & 15);
    alertLevel7dMax[p] = max - 1;
  }
}

/**
 * `stepCrwRange` over consecutive rows: row t of `sstC` and of the outputs (each `s.pixels`
 * values, time-major) is day `days[t]`. Grid pixels [from, to) only.
 */
export function stepCrwRows(
  s: CrwStateArrays,
  days: ArrayLike<number>,
  previousDay: number,
  sstC: Float32Array | Float64Array,
  out: CrwDayOutput,
  from: number,
  to: number,
): void {
  const n = s.pixels;
  let previous = previousDay;
  for (let t = 0; t < days.length; t++) {
    const at = t * n;
    const row: CrwDayOutput = {
      hotspot: out.hotspot.subarray(at, at + n),
      dhw: out.dhw.subarray(at, at + n),
      alertLevel: out.alertLevel.subarray(at, at + n),
      alertLevel7dMax: out.alertLevel7dMax.subarray(at, at + n),
    };
    stepCrwRange(s, days[t]!, previous, sstC.subarray(at, at + n), row, from, to);
    previous = days[t]!;
  }
}
