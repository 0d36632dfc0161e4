import { ValidationError } from '../errors.js';
import { DHW_WINDOW_DAYS } from './alert-level.js';
import { type CrwDayOutput, type CrwStateArrays, stepCrwRange } from './crw-step.js';
import {
  KELVIN_DETECT_THRESHOLD,
  KELVIN_OFFSET,
  SST_VALID_MAX_C,
  SST_VALID_MIN_C,
} from './units.js';

export type { CrwDayOutput } from './crw-step.js';

/** Incremental daily CRW update for many pixels (streaming, edge): O(1) per pixel per day. */
export interface CrwState {
  readonly pixels: number;
  /** Days since 1970-01-01 UTC of the last step, or NaN before the first. */
  readonly day: number;
}

/** The state behind `CrwState`: shared arrays (see `CrwStateArrays`) and the last day. */
export interface CrwStateData extends CrwState, CrwStateArrays {
  day: number;
}

/** Bytes of state per pixel with an MMM: 84 ring slots, MMM, window and history words. */
export const CRW_STATE_BYTES_PER_PIXEL = 2 * DHW_WINDOW_DAYS + 8 + 4 + 4;

type SharedArrayType =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor;

/** A typed array of `length` elements on a SharedArrayBuffer (visible to worker threads). */
export function sharedArray<C extends SharedArrayType>(type: C, length: number): InstanceType<C> {
  const make = type as unknown as new (buffer: SharedArrayBuffer) => InstanceType<C>;
  return new make(new SharedArrayBuffer(length * type.BYTES_PER_ELEMENT));
}

/** Runs of consecutive pixels that have an MMM, as [gridStart, gridEnd, stateStart] triples. */
function runsOf(mmmC: Float64Array): Int32Array {
  const runs: number[] = [];
  let state = 0;
  let start = -1;
  for (let p = 0; p <= mmmC.length; p++) {
    const sea = p < mmmC.length && !Number.isNaN(mmmC[p]!);
    if (sea && start < 0) start = p;
    if (!sea && start >= 0) {
      runs.push(start, p, state);
      state += p - start;
      start = -1;
    }
  }
  return Int32Array.from(runs);
}

/** MMM in degC (Kelvin converted, like SST); non-finite = no climatology; implausible throws. */
function mmmInCelsius(value: number, pixel: number): number {
  if (!Number.isFinite(value)) return Number.NaN;
  const c = value > KELVIN_DETECT_THRESHOLD ? value - KELVIN_OFFSET : value;
  if (c < SST_VALID_MIN_C || c > SST_VALID_MAX_C) {
    throw new ValidationError(
      `MMM ${value} of pixel ${pixel} is no sea temperature (degC or Kelvin); use NaN for land`,
      'crw-mmm',
    );
  }
  return c;
}

/**
 * A fresh state for `mmmC.length` pixels; NaN MMM marks a pixel without climatology (land),
 * which then takes no state memory (CRW_STATE_BYTES_PER_PIXEL = 184 bytes per sea pixel).
 * The arrays live on SharedArrayBuffers, so `createCrwGridUpdater` can step it on threads.
 */
export function createCrwState(mmmC: Float32Array | Float64Array): CrwState {
  const pixels = mmmC.length;
  const celsius = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) celsius[p] = mmmInCelsius(mmmC[p]!, p);
  const runs = runsOf(celsius);
  const statePixels =
    runs.length === 0
      ? 0
      : runs[runs.length - 2]! + runs[runs.length - 1]! - runs[runs.length - 3]!;
  const mmm = sharedArray(Float64Array, statePixels);
  for (let r = 0; r < runs.length; r += 3) {
    mmm.set(celsius.subarray(runs[r]!, runs[r + 1]!), runs[r + 2]!);
  }
  const state: CrwStateData = {
    pixels,
    statePixels,
    day: Number.NaN,
    runs,
    mmmC: mmm,
    // Zeroed memory is MISSING_SLOT everywhere: pages are touched only when a day is written.
    ring: sharedArray(Uint16Array, DHW_WINDOW_DAYS * statePixels),
    window: sharedArray(Int32Array, statePixels),
    levels: sharedArray(Uint32Array, statePixels),
  };
  return state;
}

/**
 * Output arrays for `pixels` pixels (or `days` rows of them), reused day after day. With
 * `shared`, they live on SharedArrayBuffers and worker threads write them in place.
 */
export function createCrwDayOutput(
  pixels: number,
  options: { days?: number; shared?: boolean } = {},
): CrwDayOutput {
  const n = pixels * (options.days ?? 1);
  if (options.shared) {
    return {
      hotspot: sharedArray(Float32Array, n),
      dhw: sharedArray(Float32Array, n),
      alertLevel: sharedArray(Uint8Array, n),
      alertLevel7dMax: sharedArray(Uint8Array, n),
    };
  }
  return {
    hotspot: new Float32Array(n),
    dhw: new Float32Array(n),
    alertLevel: new Uint8Array(n),
    alertLevel7dMax: new Uint8Array(n),
  };
}

/**
 * Makes `into` the same state as `from` (same pixels and MMMs) without allocating: a caller
 * that steps a kept state for one day and throws the result away copies it into a scratch state
 * (a few hundred bytes per pixel) instead of restoring it from bytes on fresh buffers.
 */
export function copyCrwState(into: CrwState, from: CrwState): void {
  const a = crwStateData(into);
  const b = crwStateData(from);
  if (a.pixels !== b.pixels || a.statePixels !== b.statePixels || a.runs.length !== b.runs.length) {
    throw new ValidationError(
      `CRW state copy: ${b.pixels} pixels (${b.statePixels} with an MMM) into ${a.pixels} (${a.statePixels})`,
      'crw-pixels',
    );
  }
  a.runs.set(b.runs);
  a.mmmC.set(b.mmmC);
  a.ring.set(b.ring);
  a.window.set(b.window);
  a.levels.set(b.levels);
  a.day = b.day;
}

export function crwStateData(state: CrwState): CrwStateData {
  const data = state as CrwStateData;
  if (!(data.window instanceof Int32Array) || !(data.runs instanceof Int32Array)) {
    throw new ValidationError(
      'not a CRW state: create it with createCrwState or restoreCrwState',
      'crw-state',
    );
  }
  return data;
}

/** Throws unless `days` follow the state's last day in order and the arrays fit them. */
export function checkCrwStep(
  s: CrwStateData,
  days: ArrayLike<number>,
  sstLength: number,
  out: CrwDayOutput,
): void {
  let previous = s.day;
  for (let t = 0; t < days.length; t++) {
    const day = days[t]!;
    if (!Number.isInteger(day) || day <= previous) {
      throw new ValidationError(
        `CRW day ${day} must be a whole day after the last step (${previous}); feed days in order`,
        'crw-day-order',
      );
    }
    previous = day;
  }
  const rows = days.length;
  const n = s.pixels * rows;
  const { hotspot, dhw, alertLevel, alertLevel7dMax } = out;
  if (
    sstLength !== n ||
    hotspot.length < n ||
    dhw.length < n ||
    alertLevel.length < n ||
    alertLevel7dMax.length < n
  ) {
    throw new ValidationError(
      `CRW step got ${sstLength} SST values and ${hotspot.length} outputs for ${rows} day(s) of ${s.pixels} pixels`,
      'crw-pixels',
    );
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
 * Runs on the calling thread; `createCrwGridUpdater` splits large grids over threads.
 */
export function stepCrwDay(
  state: CrwState,
  day: number,
  sstC: Float32Array | Float64Array,
  out: CrwDayOutput,
): void {
  const s = crwStateData(state);
  checkCrwStep(s, [day], sstC.length, out);
  stepCrwRange(s, day, s.day, sstC, out, 0, s.pixels);
  s.day = day;
}
