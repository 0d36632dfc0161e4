/**
 * CRW heat stress at scale, ours against a straightforward reference in the same run.
 *
 * 1. Full daily DHW history of a GBR grid at 0.05 degrees (200 x 250 pixels) over 40 years
 *    (14,610 days), day by day through `stepCrwDay`; memory is the 84-day state, not the
 *    history. The reference keeps each pixel's last 84 HotSpots and re-sums them every day,
 *    with the alert level and the 7-day maximum recomputed the obvious way. It runs on the
 *    first 2 years only (it is ~80x slower) and its outputs are compared value by value.
 *    Goal: under 20 s, at least 20x the reference.
 * 2. One incremental day on the global 7200 x 3600 grid (25.9 M pixels, a third of them land
 *    without climatology). Goal: under 0.3 s a day.
 *
 *   node_modules/.bin/tsx benchmarks/heat-stress.ts [--skip-global]
 */
import { loadavg } from 'node:os';
import {
  ALERT_LEVEL_MISSING,
  createCrwDayOutput,
  createCrwState,
  DHW_WINDOW_DAYS,
  stepCrwDay,
} from '@reefguard/core';

const GBR_PIXELS = 200 * 250;
const YEARS = 40;
const DAYS = Math.round(YEARS * 365.25);
const REFERENCE_DAYS = 2 * 365;
const POOL_DAYS = 3 * 365;
const FIRST_DAY = Date.UTC(1985, 0, 1) / 86_400_000;

let seed = 1;
const random = () => {
  seed = (seed * 16_807) % 2_147_483_647;
  return seed / 2_147_483_647;
};

/** Three years of daily SST fields (seasonal cycle, noise, one hot summer), cycled. */
function sstPool(pixels: number): Float32Array[] {
  const base = Float32Array.from({ length: pixels }, () => 27 + 2 * random());
  return Array.from({ length: POOL_DAYS }, (_, d) => {
    const season = 2 * Math.cos((2 * Math.PI * (d - 45)) / 365);
    const hot = d > 365 && d < 500 ? 1.5 : 0;
    return Float32Array.from(base, (b) => b + season + hot + (random() - 0.5));
  });
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

// --- 1. GBR grid, 40 years -------------------------------------------------------------------
const pool = sstPool(GBR_PIXELS);
const mmm = Float64Array.from({ length: GBR_PIXELS }, (_, p) => 28.6 + (p % 7) * 0.05);
const state = createCrwState(mmm);
const out = createCrwDayOutput(GBR_PIXELS);
const ourDhw = new Float32Array(GBR_PIXELS * REFERENCE_DAYS);
const ourMax = new Uint8Array(GBR_PIXELS * REFERENCE_DAYS);
let checksum = 0;
let cpu = process.cpuUsage();
let started = performance.now();
for (let d = 0; d < DAYS; d++) {
  stepCrwDay(state, FIRST_DAY + d, pool[d % POOL_DAYS]!, out);
  if (d < REFERENCE_DAYS) {
    ourDhw.set(out.dhw, d * GBR_PIXELS);
    ourMax.set(out.alertLevel7dMax, d * GBR_PIXELS);
  }
  checksum += out.dhw[d % GBR_PIXELS]!;
}
const oursS = (performance.now() - started) / 1000;
const oursCpuS = process.cpuUsage(cpu).user / 1e6;
const heapAfter = process.memoryUsage();

// Reference: ring of the last 84 HotSpots per pixel, re-summed every day.
const ring = new Float64Array(GBR_PIXELS * DHW_WINDOW_DAYS);
const levels = new Uint8Array(GBR_PIXELS * 7);
let mismatches = 0;
cpu = process.cpuUsage();
started = performance.now();
for (let d = 0; d < REFERENCE_DAYS; d++) {
  const sst = pool[d % POOL_DAYS]!;
  for (let p = 0; p < GBR_PIXELS; p++) {
    const hotspot = Math.max(Math.round((sst[p]! - mmm[p]!) * 100) / 100, 0);
    ring[p * DHW_WINDOW_DAYS + (d % DHW_WINDOW_DAYS)] = hotspot;
    let sum = 0;
    for (let k = 0; k < Math.min(d + 1, DHW_WINDOW_DAYS); k++) {
      const h = ring[p * DHW_WINDOW_DAYS + k]!;
      if (h >= 1) sum += h;
    }
    const dhw = Math.round((sum / 7) * 100) / 100;
    const raw = sst[p]! - mmm[p]!;
    const level =
      Math.round(raw * 100) <= 0
        ? 0
        : hotspot < 1
          ? 1
          : 2 + Math.min(5, Math.floor(dhw / 4 + 1e-9));
    levels[p * 7 + (d % 7)] = level;
    let max = 0;
    for (let k = 0; k < Math.min(d + 1, 7); k++) max = Math.max(max, levels[p * 7 + k]!);
    const i = d * GBR_PIXELS + p;
    if (Math.abs(ourDhw[i]! - dhw) > 1e-4 || ourMax[i] !== max) mismatches++;
  }
}
const referenceS = (performance.now() - started) / 1000;
const referenceCpuS = process.cpuUsage(cpu).user / 1e6;

const oursRate = (GBR_PIXELS * DAYS) / oursS;
const referenceRate = (GBR_PIXELS * REFERENCE_DAYS) / referenceS;
console.log(`machine: ${loadavg()[0]!.toFixed(2)} load average (1 min), shared with other work`);
console.log(
  `\nGBR grid 200 x 250, ${YEARS} years = ${DAYS} days, ${((GBR_PIXELS * DAYS) / 1e6).toFixed(0)} M pixel-days`,
);
console.log(
  `  ours       ${oursS.toFixed(2)} s (cpu ${oursCpuS.toFixed(2)} s)   ${(oursRate / 1e6).toFixed(1)} M pixel-days/s   heap ${mb(heapAfter.heapUsed)}, typed arrays ${mb(heapAfter.arrayBuffers)} (state ${mb(GBR_PIXELS * (DHW_WINDOW_DAYS * 2 + 7 + 4 + 1 + 8))})`,
);
console.log(
  `  reference  ${referenceS.toFixed(2)} s (cpu ${referenceCpuS.toFixed(2)} s) for ${REFERENCE_DAYS} days   ${(referenceRate / 1e6).toFixed(2)} M pixel-days/s   (40 years would take ~${((GBR_PIXELS * DAYS) / referenceRate).toFixed(0)} s)`,
);
console.log(
  `  ratio      ${(oursRate / referenceRate).toFixed(1)}x   outputs differing on the reference days: ${mismatches}`,
);
if (mismatches > 0) process.exitCode = 1;

// --- 2. Global grid, one incremental day ----------------------------------------------------
if (!process.argv.includes('--skip-global')) {
  const width = 7200;
  const height = 3600;
  const pixels = width * height;
  // Land (a third of the rows' columns) has no climatology: NaN MMM and NaN SST.
  const globalMmm = new Float32Array(pixels);
  const sst = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const land = p % width < width / 3;
    globalMmm[p] = land ? Number.NaN : 28 + (p % 13) * 0.1;
    sst[p] = land ? Number.NaN : 27 + (p % 29) * 0.12;
  }
  let t0 = performance.now();
  const globalState = createCrwState(globalMmm);
  const globalOut = createCrwDayOutput(pixels);
  const createS = (performance.now() - t0) / 1000;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let d = 0; d < 12; d++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    stepCrwDay(globalState, FIRST_DAY + d, sst, globalOut);
    cpuTimes.push(process.cpuUsage(c0).user / 1e6);
    times.push((performance.now() - t0) / 1000);
  }
  const cpuMedian = [...cpuTimes].sort((a, b) => a - b)[6]!;
  const median = [...times].sort((a, b) => a - b)[6]!;
  // Reference day: the re-summing update on a tenth of the grid (its 84 x float64 ring for the
  // whole grid would be 17 GB), scaled to the full grid.
  const part = pixels / 10;
  const partRing = new Float64Array(part * DHW_WINDOW_DAYS);
  const partDhw = new Float32Array(part);
  partRing.fill(0); // touch its pages first, as ours were touched by the warm-up days
  t0 = performance.now();
  for (let p = 0; p < part; p++) {
    const hotspot = Math.max(Math.round((sst[p]! - globalMmm[p]!) * 100) / 100, 0);
    partRing[p * DHW_WINDOW_DAYS + 5] = hotspot;
    let sum = 0;
    for (let k = 0; k < DHW_WINDOW_DAYS; k++) {
      const h = partRing[p * DHW_WINDOW_DAYS + k]!;
      if (h >= 1) sum += h;
    }
    partDhw[p] = sum / 7;
  }
  const referenceDayS = ((performance.now() - t0) / 1000) * 10;
  const memory = process.memoryUsage();
  console.log(`\nglobal grid 7200 x 3600 = ${(pixels / 1e6).toFixed(1)} M pixels, one day`);
  console.log(
    `  ours       ${median.toFixed(3)} s per day, cpu ${cpuMedian.toFixed(3)} s (median of 12; first ${times[0]!.toFixed(3)} s)   state created in ${createS.toFixed(1)} s   rss ${mb(memory.rss)}`,
  );
  console.log(
    `  reference  ${referenceDayS.toFixed(3)} s per day (re-summing, measured on a tenth of the grid)`,
  );
  console.log(
    `  ratio      ${(referenceDayS / median).toFixed(1)}x   missing alert levels (land): ${globalOut.alertLevel.filter((v) => v === ALERT_LEVEL_MISSING).length}`,
  );
}
console.log(`\n(checksum ${checksum.toFixed(2)})`);
