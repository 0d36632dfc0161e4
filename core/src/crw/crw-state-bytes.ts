import { InputFormatError } from '../errors.js';
import { DHW_WINDOW_DAYS } from './alert-level.js';
import { type CrwState, type CrwStateData, createCrwState, crwStateData } from './crw-state.js';
import { MISSING_SLOT, SLOT_TO_WINDOW } from './crw-step.js';

const MAGIC = 0x53575243; // "CRWS" little-endian
const VERSION = 3;
/** Version 2 (before land pixels were left out of the state) is still read. */
const VERSION_ALL_PIXELS = 2;
const HEADER_BYTES = 24;
const RUN_BYTES = 6;
/** Version 2 marked a missing day 0xffff and stored contributions as they are. */
const VERSION_2_MISSING = 0xffff;

/**
 * Persists a CRW state (for restarts of the edge agent / stream processor). Layout, little
 * endian: "CRWS", version 3, grid pixels, run count (u32 each), last day (f64), MMM (f64 per
 * grid pixel, NaN = no state), the 4-bit 7-day alert-level history (u32 per pixel with an MMM),
 * then the 84 ring slots of those pixels (0 = missing day, else hundredths of degC + 1), slot
 * after slot, run-length encoded as
 * (u32 length, u16 value): calm sea forms long runs, so a global grid stays small.
 */
export function serializeCrwState(state: CrwState): Uint8Array {
  const s = crwStateData(state);
  const { pixels, statePixels, ring } = s;
  let runs = 0;
  for (let i = 0; i < ring.length; i++) if (i === 0 || ring[i] !== ring[i - 1]) runs++;
  const levelsAt = HEADER_BYTES + 8 * pixels;
  const runsAt = levelsAt + 4 * statePixels;
  const bytes = new Uint8Array(runsAt + RUN_BYTES * runs);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, pixels, true);
  view.setUint32(12, runs, true);
  view.setFloat64(16, s.day, true);
  const mmm = gridMmm(s);
  for (let p = 0; p < pixels; p++) view.setFloat64(HEADER_BYTES + 8 * p, mmm[p]!, true);
  for (let q = 0; q < statePixels; q++) view.setUint32(levelsAt + 4 * q, s.levels[q]!, true);
  let at = runsAt;
  for (let i = 0; i < ring.length; ) {
    const value = ring[i]!;
    let end = i + 1;
    while (end < ring.length && ring[end] === value) end++;
    view.setUint32(at, end - i, true);
    view.setUint16(at + 4, value, true);
    at += RUN_BYTES;
    i = end;
  }
  return bytes;
}

/** MMM per grid pixel, NaN where the state holds none. */
function gridMmm(s: CrwStateData): Float64Array {
  const mmm = new Float64Array(s.pixels).fill(Number.NaN);
  for (let r = 0; r < s.runs.length; r += 3) {
    const from = s.runs[r + 2]!;
    mmm.set(s.mmmC.subarray(from, from + s.runs[r + 1]! - s.runs[r]!), s.runs[r]!);
  }
  return mmm;
}

/** Restores a state written by `serializeCrwState`; sums are rebuilt, so they stay exact. */
export function restoreCrwState(bytes: Uint8Array): CrwState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) {
    throw new InputFormatError('not a serialized CRW state: write it with serializeCrwState');
  }
  const version = view.getUint32(4, true);
  if (version !== VERSION && version !== VERSION_ALL_PIXELS) {
    throw new InputFormatError(`CRW state version ${version} is not ${VERSION}`);
  }
  const n = view.getUint32(8, true);
  const runs = view.getUint32(12, true);
  const levelsAt = HEADER_BYTES + 8 * n;
  if (bytes.byteLength < levelsAt) {
    throw new InputFormatError('serialized CRW state is truncated or corrupt (length mismatch)');
  }
  const mmm = new Float64Array(n);
  for (let p = 0; p < n; p++) mmm[p] = view.getFloat64(HEADER_BYTES + 8 * p, true);
  const s = createCrwState(mmm) as CrwStateData;
  // Version 2 stored every grid pixel; keep those that have state.
  const stored = version === VERSION ? s.statePixels : n;
  const runsAt = levelsAt + 4 * stored;
  if (bytes.byteLength !== runsAt + RUN_BYTES * runs) {
    throw new InputFormatError('serialized CRW state is truncated or corrupt (length mismatch)');
  }
  const keep = version === VERSION ? null : statePixelOf(s);
  const levels = new Uint32Array(stored);
  for (let q = 0; q < stored; q++) levels[q] = view.getUint32(levelsAt + 4 * q, true);
  const ring = keep ? new Uint16Array(DHW_WINDOW_DAYS * stored) : s.ring;
  let i = 0;
  for (let r = 0; r < runs; r++) {
    const length = view.getUint32(runsAt + r * RUN_BYTES, true);
    if (i + length > ring.length) break;
    ring.fill(view.getUint16(runsAt + r * RUN_BYTES + 4, true), i, i + length);
    i += length;
  }
  if (i !== ring.length) {
    throw new InputFormatError('serialized CRW state holds the wrong number of days');
  }
  if (keep) {
    for (let p = 0; p < n; p++) {
      const q = keep[p]!;
      if (q < 0) continue;
      s.levels[q] = levels[p]!;
      for (let slot = 0; slot < DHW_WINDOW_DAYS; slot++) {
        const value = ring[slot * n + p]!;
        s.ring[slot * s.statePixels + q] = value === VERSION_2_MISSING ? MISSING_SLOT : value + 1;
      }
    }
  } else {
    s.levels.set(levels);
  }
  s.day = view.getFloat64(16, true);
  const window = s.window;
  for (let slot = 0; slot < DHW_WINDOW_DAYS; slot++) {
    const base = slot * s.statePixels;
    for (let q = 0; q < s.statePixels; q++) {
      const value = s.ring[base + q]!;
      if (value !== MISSING_SLOT) window[q] = window[q]! + value + SLOT_TO_WINDOW;
    }
  }
  return s;
}

/** State pixel of each grid pixel, -1 where it has no MMM. */
function statePixelOf(s: CrwStateData): Int32Array {
  const index = new Int32Array(s.pixels).fill(-1);
  for (let r = 0; r < s.runs.length; r += 3) {
    for (let p = s.runs[r]!; p < s.runs[r + 1]!; p++) index[p] = s.runs[r + 2]! + p - s.runs[r]!;
  }
  return index;
}
