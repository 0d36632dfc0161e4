/**
 * CRW heat stress at scale, ours against a straightforward reference in the same run.
 *
 * 1. Full daily DHW history of a GBR grid at 0.05 degrees (200 x 250 pixels) over 40 years
 *    (14,610 days): ours on worker threads (`createCrwGridUpdater`, blocks of 73 days, SST and
 *    outputs in shared memory), ours on one thread (`stepCrwDay` day by day), and the reference,
 *    which keeps each pixel's last 84 HotSpots and re-sums them every day, with the alert level
 *    and the 7-day maximum recomputed the obvious way. Memory is the 84-day state and one block
 *    of outputs, not the history. The reference runs on the first 2 years only (it is much
 *    slower); all three are compared value by value there, ours with each other over 40 years by
 *    checksums. Goal: under 20 s on 2 cores, at least 20x the reference.
 * 2. One incremental day on the global 7200 x 3600 grid (25.9 M pixels, a third of them land
 *    without climatology) on threads and on one thread. Goal: under 0.3 s a day.
 *
 *   node_modules/.bin/tsx benchmarks/heat-stress.ts [--skip-gbr] [--skip-global] [--threads N]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  ALERT_LEVEL_MISSING,
  CRW_STATE_BYTES_PER_PIXEL,
  type CrwDayOutput,
  createCrwDayOutput,
  createCrwGridUpdater,
  createCrwState,
  DHW_WINDOW_DAYS,
  sharedArray,
  stepCrwDay,
} from '@reefguard/core';

const { values: options } = parseArgs({
  options: {
    'skip-gbr': { type: 'boolean', default: false },
    'skip-global': { type: 'boolean', default: false },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const threads = Number(options.threads);
const GBR_PIXELS = 200 * 250;
const YEARS = 40;
const DAYS = Math.round(YEARS * 365.25);
const REFERENCE_DAYS = 2 * 365;
const POOL_DAYS = 3 * 365;
/** Days per message to the threads; divides POOL_DAYS, so a block never wraps the pool. */
const BLOCK_DAYS = 73;
const FIRST_DAY = Date.UTC(1985, 0, 1) / 86_400_000;

let seed = 1;
const random = () => {
  seed = (seed * 16_807) % 2_147_483_647;
  return seed / 2_147_483_647;
};

/** Three years of daily SST fields (seasonal cycle, noise, one hot summer), time-major, shared. */
function sstPool(pixels: number): Float32Array {
  const base = Float32Array.from({ length: pixels }, () => 27 + 2 * random());
  const pool = sharedArray(Float32Array, POOL_DAYS * pixels);
  for (let d = 0; d < POOL_DAYS; d++) {
    const season = 2 * Math.cos((2 * Math.PI * (d - 45)) / 365);
    const hot = d > 365 && d < 500 ? 1.5 : 0;
    for (let p = 0; p < pixels; p++) {
      pool[d * pixels + p] = base[p]! + season + hot + (random() - 0.5);
    }
  }
  return pool;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const rowOf = (out: CrwDayOutput, t: number, n: number): CrwDayOutput => ({
  hotspot: out.hotspot.subarray(t * n, (t + 1) * n),
  dhw: out.dhw.subarray(t * n, (t + 1) * n),
  alertLevel: out.alertLevel.subarray(t * n, (t + 1) * n),
  alertLevel7dMax: out.alertLevel7dMax.subarray(t * n, (t + 1) * n),
});

// --- 1. GBR grid, 40 years -------------------------------------------------------------------
/** 40 years of daily CRW on the GBR grid: threads, one thread and the reference. */
async function benchmarkGbr(): Promise<void> {
  const pool = sstPool(GBR_PIXELS);
  const mmm = Float64Array.from({ length: GBR_PIXELS }, (_, p) => 28.6 + (p % 7) * 0.05);

  /** What each run keeps: the first 2 years of DHW and 7-day max, and checksums of 40 years. */
  function recorder() {
    const dhw = new Float32Array(GBR_PIXELS * REFERENCE_DAYS);
    const max7 = new Uint8Array(GBR_PIXELS * REFERENCE_DAYS);
    let checksum = 0;
    return {
      dhw,
      max7,
      get checksum() {
        return checksum;
      },
      add(d: number, out: CrwDayOutput) {
        if (d < REFERENCE_DAYS) {
          dhw.set(out.dhw, d * GBR_PIXELS);
          max7.set(out.alertLevel7dMax, d * GBR_PIXELS);
        }
        checksum += out.dhw[d % GBR_PIXELS]! + out.alertLevel7dMax[(7 * d) % GBR_PIXELS]!;
      },
    };
  }

  // Ours on threads: one message per thread per block of 73 days.
  const threaded = recorder();
  const updater = createCrwGridUpdater(createCrwState(mmm), { threads });
  const block = createCrwDayOutput(GBR_PIXELS, { days: BLOCK_DAYS, shared: true });
  let cpu = process.cpuUsage();
  let started = performance.now();
  for (let d = 0; d < DAYS; d += BLOCK_DAYS) {
    const rows = Math.min(BLOCK_DAYS, DAYS - d);
    const from = (d % POOL_DAYS) * GBR_PIXELS;
    const days = Int32Array.from({ length: rows }, (_, t) => FIRST_DAY + d + t);
    await updater.stepDays(days, pool.subarray(from, from + rows * GBR_PIXELS), block);
    for (let t = 0; t < rows; t++) threaded.add(d + t, rowOf(block, t, GBR_PIXELS));
  }
  const threadedS = (performance.now() - started) / 1000;
  const threadedCpuS = process.cpuUsage(cpu).user / 1e6;
  const threadsUsed = updater.threads;
  await updater.close();
  const rssThreaded = peakRss();

  // Ours on the calling thread, day by day.
  const single = recorder();
  const state = createCrwState(mmm);
  const out = createCrwDayOutput(GBR_PIXELS);
  cpu = process.cpuUsage();
  started = performance.now();
  for (let d = 0; d < DAYS; d++) {
    const from = (d % POOL_DAYS) * GBR_PIXELS;
    stepCrwDay(state, FIRST_DAY + d, pool.subarray(from, from + GBR_PIXELS), out);
    single.add(d, out);
  }
  const singleS = (performance.now() - started) / 1000;
  const singleCpuS = process.cpuUsage(cpu).user / 1e6;
  const ourDhw = threaded.dhw;
  const ourMax = threaded.max7;
  let mismatches = 0;
  for (let i = 0; i < ourDhw.length; i++) {
    if (ourDhw[i] !== single.dhw[i] || ourMax[i] !== single.max7[i]) mismatches++;
  }
  if (threaded.checksum !== single.checksum) mismatches++;

  // Reference: ring of the last 84 HotSpots per pixel, re-summed every day.
  const ring = new Float64Array(GBR_PIXELS * DHW_WINDOW_DAYS);
  const levels = new Uint8Array(GBR_PIXELS * 7);
  cpu = process.cpuUsage();
  started = performance.now();
  for (let d = 0; d < REFERENCE_DAYS; d++) {
    const sst = pool.subarray(d * GBR_PIXELS, (d + 1) * GBR_PIXELS);
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

  const pixelDays = GBR_PIXELS * DAYS;
  const threadedRate = pixelDays / threadedS;
  const singleRate = pixelDays / singleS;
  const referenceRate = (GBR_PIXELS * REFERENCE_DAYS) / referenceS;
  const rate = (r: number) => `${(r / 1e6).toFixed(2).padStart(6)} M pixel-days/s`;
  console.log(
    `machine: ${availableParallelism()} cores, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} (1/5/15 min) at the end; shared with other work`,
  );
  console.log(
    `\nGBR grid 200 x 250, ${YEARS} years = ${DAYS} days, ${(pixelDays / 1e6).toFixed(0)} M pixel-days (goal: < 20 s, >= 20x the reference)`,
  );
  console.log(
    `  ours, ${threadsUsed} threads   ${threadedS.toFixed(2).padStart(7)} s   ${rate(threadedRate)}   ${(threadedRate / referenceRate).toFixed(1)}x the reference   (cpu ${threadedCpuS.toFixed(2)} s, all threads)`,
  );
  console.log(
    `  ours, 1 thread    ${singleS.toFixed(2).padStart(7)} s   ${rate(singleRate)}   ${(singleRate / referenceRate).toFixed(1)}x the reference   (cpu ${singleCpuS.toFixed(2)} s)   threads / 1 thread ${(singleS / threadedS).toFixed(2)}x`,
  );
  console.log(
    `  reference         ${(pixelDays / referenceRate).toFixed(0).padStart(7)} s   ${rate(referenceRate)}   (measured on the first ${REFERENCE_DAYS} days: ${referenceS.toFixed(2)} s, cpu ${referenceCpuS.toFixed(2)} s)`,
  );
  console.log(
    `  memory            state ${mb(GBR_PIXELS * CRW_STATE_BYTES_PER_PIXEL)}, one block of outputs ${mb(GBR_PIXELS * BLOCK_DAYS * 10)}, SST pool ${mb(pool.byteLength)}; peak RSS ${mb(rssThreaded)} after the threaded run, ${mb(peakRss())} after all three (incl. the 2-year copies kept for comparison)`,
  );
  // Cpu seconds per pixel-day do not depend on how many other processes share the cores;
  // on a busy machine they are the fairer comparison (the wall-clock ratios above mix loads).
  const cpuPerPixelDay = (seconds: number, n: number) => (seconds / n) * 1e9;
  const ourCpuNs = cpuPerPixelDay(singleCpuS, pixelDays);
  const referenceCpuNs = cpuPerPixelDay(referenceCpuS, GBR_PIXELS * REFERENCE_DAYS);
  console.log(
    `  cpu per pixel-day ours ${ourCpuNs.toFixed(1)} ns (threads ${cpuPerPixelDay(threadedCpuS, pixelDays).toFixed(1)} ns), reference ${referenceCpuNs.toFixed(1)} ns: ${(referenceCpuNs / ourCpuNs).toFixed(1)}x per core; 40 years on ${threadsUsed} idle cores would take ~${(threadedCpuS / threadsUsed).toFixed(1)} s`,
  );
  console.log(
    `  outputs differing (threads vs 1 thread vs reference, first 2 years; 40-year checksums): ${mismatches}`,
  );
  if (mismatches > 0) process.exitCode = 1;
}

// --- 2. Global grid, one incremental day ----------------------------------------------------
/** One incremental day on the global grid. */
async function benchmarkGlobal(): Promise<void> {
  const width = 7200;
  const height = 3600;
  const pixels = width * height;
  // Land (a third of the rows' columns) has no climatology: NaN MMM and NaN SST.
  const globalMmm = new Float32Array(pixels);
  const sst = sharedArray(Float32Array, pixels);
  for (let p = 0; p < pixels; p++) {
    const land = p % width < width / 3;
    globalMmm[p] = land ? Number.NaN : 28 + (p % 13) * 0.1;
    sst[p] = land ? Number.NaN : 27 + (p % 29) * 0.12;
  }
  let t0 = performance.now();
  const globalState = createCrwState(globalMmm);
  const globalOut = createCrwDayOutput(pixels, { shared: true });
  const createS = (performance.now() - t0) / 1000;
  const globalUpdater = createCrwGridUpdater(globalState, { threads });
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const times: number[] = [];
  let day = FIRST_DAY;
  const cpuTimes: number[] = [];
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  for (let d = 0; d < 12; d++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    await globalUpdater.step(day++, sst, globalOut);
    times.push((performance.now() - t0) / 1000);
    cpuTimes.push(cpuSeconds(c0));
  }
  await globalUpdater.close();
  const threadedChecksum = globalOut.dhw.reduce((a, v) => (Number.isNaN(v) ? a : a + v), 0);
  const singleTimes: number[] = [];
  const singleCpuTimes: number[] = [];
  for (let d = 0; d < 5; d++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    stepCrwDay(globalState, day++, sst, globalOut);
    singleTimes.push((performance.now() - t0) / 1000);
    singleCpuTimes.push(cpuSeconds(c0));
  }
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
  const seaPixels = globalMmm.filter((v) => !Number.isNaN(v)).length;
  console.log(
    `\nglobal grid 7200 x 3600 = ${(pixels / 1e6).toFixed(1)} M pixels (${(seaPixels / 1e6).toFixed(1)} M with an MMM), one day (goal: < 0.3 s); load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`,
  );
  console.log(
    `  ours, ${globalUpdater.threads} threads   ${median(times).toFixed(3)} s per day (median of 12; first ${times[0]!.toFixed(3)} s)   cpu ${median(cpuTimes).toFixed(3)} s per day, all threads`,
  );
  console.log(
    `  ours, 1 thread    ${median(singleTimes).toFixed(3)} s per day (median of 5)   cpu ${median(singleCpuTimes).toFixed(3)} s per day`,
  );
  console.log(
    `  reference         ${referenceDayS.toFixed(3)} s per day (re-summing, measured on a tenth of the grid)   ratio ${(referenceDayS / median(times)).toFixed(1)}x`,
  );
  console.log(
    `  memory            state ${mb(seaPixels * CRW_STATE_BYTES_PER_PIXEL)} (${CRW_STATE_BYTES_PER_PIXEL} bytes per sea pixel, none for land), created in ${createS.toFixed(1)} s; peak RSS ${mb(peakRss())}`,
  );
  console.log(
    `  check             DHW sum after the threaded days ${threadedChecksum.toFixed(1)}; missing alert levels (land) ${globalOut.alertLevel.filter((v) => v === ALERT_LEVEL_MISSING).length}`,
  );
}

if (!options['skip-gbr']) await benchmarkGbr();
if (!options['skip-global']) await benchmarkGlobal();
