import { InputFormatError } from '../errors.js';
import { DHW_WINDOW_DAYS } from './alert-level.js';
import { type CrwState, type CrwStateData, createCrwState, crwStateData } from './crw-state.js';

const MAGIC = 0x53575243; // "CRWS" little-endian
const VERSION = 2;
const HEADER_BYTES = 24;
const RUN_BYTES = 6;
const MISSING_SLOT = 0xffff;

/**
 * Persists a CRW state (for restarts of the edge agent / stream processor). Layout, little
 * endian: "CRWS", version, pixels, run count (u32 each), last day (f64), MMM (f64 per pixel),
 * the 4-bit 7-day alert-level history (u32 per pixel), then the 84 contribution slots run-length encoded as
 * (u32 length, u16 value): land and calm sea form long runs, so a global grid stays small.
 */
export function serializeCrwState(state: CrwState): Uint8Array {
  const s = crwStateData(state);
  const n = s.pixels;
  let runs = 0;
  let previous = -1;
  for (const slot of s.contributions) {
    for (let p = 0; p < n; p++) {
      if (slot[p] !== previous) {
        runs++;
        previous = slot[p]!;
      }
    }
  }
  const levelsAt = HEADER_BYTES + 8 * n;
  const runsAt = levelsAt + 4 * n;
  const bytes = new Uint8Array(runsAt + RUN_BYTES * runs);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, n, true);
  view.setUint32(12, runs, true);
  view.setFloat64(16, s.day, true);
  for (let p = 0; p < n; p++) view.setFloat64(HEADER_BYTES + 8 * p, s.mmmC[p]!, true);
  for (let p = 0; p < n; p++) view.setUint32(levelsAt + 4 * p, s.levels[p]!, true);
  let at = runsAt;
  let length = 0;
  previous = -1;
  const flush = () => {
    if (length === 0) return;
    view.setUint32(at, length, true);
    view.setUint16(at + 4, previous, true);
    at += RUN_BYTES;
  };
  for (const slot of s.contributions) {
    for (let p = 0; p < n; p++) {
      const value = slot[p]!;
      if (value !== previous) {
        flush();
        previous = value;
        length = 0;
      }
      length++;
    }
  }
  flush();
  return bytes;
}

/** Restores a state written by `serializeCrwState`; sums are rebuilt, so they stay exact. */
export function restoreCrwState(bytes: Uint8Array): CrwState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) {
    throw new InputFormatError('not a serialized CRW state: write it with serializeCrwState');
  }
  if (view.getUint32(4, true) !== VERSION) {
    throw new InputFormatError(`CRW state version ${view.getUint32(4, true)} is not ${VERSION}`);
  }
  const n = view.getUint32(8, true);
  const runs = view.getUint32(12, true);
  const levelsAt = HEADER_BYTES + 8 * n;
  const runsAt = levelsAt + 4 * n;
  if (bytes.byteLength !== runsAt + RUN_BYTES * runs) {
    throw new InputFormatError('serialized CRW state is truncated or corrupt (length mismatch)');
  }
  const mmm = new Float64Array(n);
  for (let p = 0; p < n; p++) mmm[p] = view.getFloat64(HEADER_BYTES + 8 * p, true);
  const s = createCrwState(mmm) as CrwStateData;
  s.day = view.getFloat64(16, true);
  for (let p = 0; p < n; p++) s.levels[p] = view.getUint32(levelsAt + 4 * p, true);
  let slot = 0;
  let p = 0;
  for (let r = 0; r < runs; r++) {
    let length = view.getUint32(runsAt + r * RUN_BYTES, true);
    const value = view.getUint16(runsAt + r * RUN_BYTES + 4, true);
    while (length > 0) {
      const take = Math.min(length, n - p);
      s.contributions[slot]!.fill(value, p, p + take);
      length -= take;
      p += take;
      if (p === n) {
        p = 0;
        slot++;
      }
    }
  }
  if (slot !== DHW_WINDOW_DAYS) {
    throw new InputFormatError('serialized CRW state holds the wrong number of days');
  }
  for (const ring of s.contributions) {
    for (let q = 0; q < n; q++) {
      const value = ring[q]!;
      if (value !== MISSING_SLOT) s.window[q] = s.window[q]! + value + (1 << 24);
    }
  }
  return s;
}
