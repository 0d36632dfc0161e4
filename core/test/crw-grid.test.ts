import { describe, expect, it } from 'vitest';
import { crwStateData } from '../src/crw/crw-state.js';
import {
  ALERT_LEVEL_MISSING,
  CRW_MIN_PIXELS_PER_THREAD,
  CRW_STATE_BYTES_PER_PIXEL,
  type CrwDayOutput,
  computeHeatStress,
  computeHeatStressInParallel,
  createCrwDayOutput,
  createCrwGridUpdater,
  createCrwState,
  DHW_WINDOW_DAYS,
  restoreCrwState,
  serializeCrwState,
  sharedArray,
  stepCrwDay,
  ValidationError,
} from '../src/index.js';

/**
 * A grid of `width` x `height` pixels with a land block (NaN MMM) at the start of each row,
 * hot summers, 3 % missing SST and a few skipped calendar days (gaps of 2..12 days).
 */
function grid(width: number, height: number, rows: number) {
  let seed = 11;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pixels = width * height;
  const mmmC = Float64Array.from({ length: pixels }, (_, p) =>
    p % width < width / 4 ? Number.NaN : 28 + random(),
  );
  const days = new Int32Array(rows);
  let day = 16_000;
  for (let t = 0; t < rows; t++) {
    days[t] = day;
    day += random() < 0.03 ? 2 + Math.floor(random() * 11) : 1;
  }
  const sstC = new Float32Array(rows * pixels);
  for (let t = 0; t < rows; t++) {
    const season = 1.8 * Math.sin((2 * Math.PI * t) / 365);
    for (let p = 0; p < pixels; p++) {
      sstC[t * pixels + p] = random() < 0.03 ? Number.NaN : 28.2 + season + 1.5 * random();
    }
  }
  return { days, sstC, mmmC, pixels };
}

/** Positions where two outputs differ (NaN equals NaN); typed arrays compared in one pass. */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let count = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) count++;
  return count;
}

/** Differences over all four products. */
const differences = (a: CrwDayOutput, b: CrwDayOutput) =>
  differing(a.hotspot, b.hotspot) +
  differing(a.dhw, b.dhw) +
  differing(a.alertLevel, b.alertLevel) +
  differing(a.alertLevel7dMax, b.alertLevel7dMax);

const row = (series: CrwDayOutput, t: number, n: number) => ({
  hotspot: series.hotspot.subarray(t * n, (t + 1) * n),
  dhw: series.dhw.subarray(t * n, (t + 1) * n),
  alertLevel: series.alertLevel.subarray(t * n, (t + 1) * n),
  alertLevel7dMax: series.alertLevel7dMax.subarray(t * n, (t + 1) * n),
});

describe('crw grid - worker threads give the single-thread numbers', () => {
  // 96 x 60 pixels, 4,320 of them sea: two threads once the threshold allows 1,024 per thread.
  const input = grid(96, 60, 150);
  const options = { threads: 2, minPixelsPerThread: 1_024 };
  const single = computeHeatStress(input);

  it('the series has real heat stress, land and missing days to agree on', () => {
    expect(
      single.alertLevel7dMax.reduce(
        (max, v) => (v === ALERT_LEVEL_MISSING ? max : Math.max(max, v)),
        0,
      ),
    ).toBe(7);
    expect(single.alertLevel.filter((v) => v === 3).length).toBeGreaterThan(10_000);
    expect(single.dhw.filter(Number.isNaN).length).toBeGreaterThan(150 * 24 * 60);
  });

  it('createCrwGridUpdater with 2 threads, day by day, copying plain arrays; refuses misuse', async () => {
    const updater = createCrwGridUpdater(createCrwState(input.mmmC), options);
    expect(updater.threads).toBe(2);
    const out = createCrwDayOutput(input.pixels);
    const sstOf = (t: number) => input.sstC.subarray(t * input.pixels, (t + 1) * input.pixels);
    try {
      for (let t = 0; t < input.days.length; t++) {
        await updater.step(input.days[t]!, sstOf(t), out);
        expect(differences(out, row(single, t, input.pixels))).toBe(0);
      }
      const last = input.days.at(-1)!;
      expect(updater.state.day).toBe(last);
      const next = updater.step(last + 1, sstOf(0), out);
      await expect(updater.step(last + 2, sstOf(0), out)).rejects.toThrow(/await each step/);
      await next;
      await expect(updater.step(last + 1, sstOf(0), out)).rejects.toThrow(ValidationError);
      await expect(
        updater.stepDays([last + 2, last + 2], input.sstC.subarray(0, 2 * input.pixels), out),
      ).rejects.toThrow(/in order/);
      await expect(updater.step(last + 2, sstOf(0).subarray(1), out)).rejects.toThrow(/SST values/);
    } finally {
      await updater.close();
    }
    await expect(updater.step(input.days.at(-1)! + 9, sstOf(0), out)).rejects.toThrow(/closed/);
    expect(() => createCrwGridUpdater(createCrwState(input.mmmC), { threads: 0 })).toThrow(
      /threads/,
    );
  });

  it('blocks of days on shared memory, then serialized and continued on one thread; the whole series in parallel', async () => {
    const state = createCrwState(input.mmmC);
    const updater = createCrwGridUpdater(state, options);
    const block = 40;
    const threaded = 3 * block;
    const sst = sharedArray(Float32Array, block * input.pixels);
    const out = createCrwDayOutput(input.pixels, { days: block, shared: true });
    try {
      for (let t = 0; t < threaded; t += block) {
        const days = input.days.subarray(t, t + block);
        const n = days.length * input.pixels;
        sst.set(input.sstC.subarray(t * input.pixels, t * input.pixels + n));
        await updater.stepDays(days, sst.subarray(0, n), out);
        const rows = (series: CrwDayOutput, at: number) => ({
          hotspot: series.hotspot.subarray(at, at + n),
          dhw: series.dhw.subarray(at, at + n),
          alertLevel: series.alertLevel.subarray(at, at + n),
          alertLevel7dMax: series.alertLevel7dMax.subarray(at, at + n),
        });
        expect(differences(rows(out, 0), rows(single, t * input.pixels))).toBe(0);
      }
    } finally {
      await updater.close();
    }
    const restored = restoreCrwState(serializeCrwState(state));
    const day = createCrwDayOutput(input.pixels);
    for (let t = threaded; t < input.days.length; t++) {
      const sstOfDay = input.sstC.subarray(t * input.pixels, (t + 1) * input.pixels);
      stepCrwDay(restored, input.days[t]!, sstOfDay, day);
      expect(differences(day, row(single, t, input.pixels))).toBe(0);
    }
    const parallel = await computeHeatStressInParallel(input, options);
    expect(differences(parallel, single)).toBe(0);
    expect(parallel.dhw.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('small states stay on the calling thread', async () => {
    const updater = createCrwGridUpdater(
      createCrwState(new Float64Array(CRW_MIN_PIXELS_PER_THREAD).fill(28)),
      {
        threads: 8,
      },
    );
    expect(updater.threads).toBe(1);
    await updater.close();
  });
});

describe('crw state - memory and persistence', () => {
  it('land pixels (NaN MMM) take no state: 184 bytes per sea pixel', () => {
    const mmm = Float32Array.from({ length: 1000 }, (_, p) => (p % 10 < 4 ? Number.NaN : 28));
    const s = crwStateData(createCrwState(mmm));
    expect(CRW_STATE_BYTES_PER_PIXEL).toBe(184);
    expect(s.statePixels).toBe(600);
    const bytes = s.ring.byteLength + s.mmmC.byteLength + s.window.byteLength + s.levels.byteLength;
    expect(bytes).toBe(600 * CRW_STATE_BYTES_PER_PIXEL);
    expect(s.ring.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('MMM in Kelvin is converted, an impossible MMM is refused', () => {
    const out = createCrwDayOutput(1);
    stepCrwDay(createCrwState(Float64Array.of(301.15)), 1, Float64Array.of(30), out);
    expect(out.hotspot[0]).toBe(2);
    expect(() => createCrwState(Float64Array.of(-40))).toThrow(/no sea temperature/);
  });

  it('reads states written by the previous format (version 2: every pixel stored)', () => {
    // Two pixels, the second without MMM; day 20,000; pixel 0 had HotSpot 1.5 on day 20,000
    // (slot 20,000 % 84 = 8) and alert level 2 (code 3) today; all other slots missing.
    const n = 2;
    const slots = new Uint16Array(DHW_WINDOW_DAYS * n).fill(0xffff);
    slots[(20_000 % DHW_WINDOW_DAYS) * n] = 150;
    const runs: [number, number][] = [];
    for (const v of slots) {
      const last = runs.at(-1);
      if (last && last[1] === v) last[0]++;
      else runs.push([1, v]);
    }
    const bytes = new Uint8Array(24 + 8 * n + 4 * n + 6 * runs.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0x53575243, true);
    view.setUint32(4, 2, true);
    view.setUint32(8, n, true);
    view.setUint32(12, runs.length, true);
    view.setFloat64(16, 20_000, true);
    view.setFloat64(24, 28, true);
    view.setFloat64(32, Number.NaN, true);
    view.setUint32(40, 3, true);
    runs.forEach(([length, value], r) => {
      view.setUint32(48 + 6 * r, length, true);
      view.setUint16(48 + 6 * r + 4, value, true);
    });
    const state = restoreCrwState(bytes);
    expect(state.day).toBe(20_000);
    const out = createCrwDayOutput(2);
    stepCrwDay(state, 20_001, Float64Array.of(29.2, 29.2), out);
    // (1.5 + 1.2) / 7 = 0.3857 -> 0.39
    expect(Array.from(out.dhw)).toEqual([Math.fround(0.39), Number.NaN]);
    expect(Array.from(out.alertLevel7dMax)).toEqual([2, ALERT_LEVEL_MISSING]);
    // The same state written again is version 3 and reads back identically.
    const again = serializeCrwState(state);
    expect(new DataView(again.buffer).getUint32(4, true)).toBe(3);
    expect(serializeCrwState(restoreCrwState(again))).toEqual(again);
  });
});
