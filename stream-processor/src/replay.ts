import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { computeHeatStress, dailyClimatologyOnDay, InputFormatError } from '@reefguard/core';
import { seasonalMonthlyMeans } from './gbr-sites.js';
import { createReplayFileWriter } from './replay-writer.js';
import { modisL3mFileName } from './satellite-ingest.js';

/**
 * Replay: a bleaching season written as MODIS L3m-style daily SST files, physically grounded
 * on the shipped GBR data. Each reef pixel follows its own seasonal cycle (cosine from
 * MT_SST_MIN to MT_SST_MIN + MT_SST_SR, the latter its MMM) plus a marine heatwave
 * A_p * exp(-((day - peak) / width)^2); A_p is found by bisection so that core's CRW DHW of
 * the series reaches the shipped annual maximum DHW of that pixel and year.
 */
export const REPLAY_GRID_DEG = 0.01;
export const HEATWAVE_PEAK_MONTH_DAY = '03-01';
export const HEATWAVE_WIDTH_DAYS = 30;
const BISECTION_STEPS = 20;
const MAX_AMPLITUDE_C = 12;

export interface ReplayPixel {
  siteId: string;
  lat: number;
  lon: number;
  minC: number;
  rangeC: number;
  /** Shipped annual maximum DHW of the season's year (degC-weeks). */
  targetDhw: number;
  /** Mean diffuse attenuation at 490 nm (SW_K490_AV, 1/m); NaN where not shipped. */
  k490: number;
}

/** The days of a season: 1 December of the previous year to 30 April. */
export function seasonDays(year: number): number[] {
  const from = Date.UTC(year - 1, 11, 1) / 86_400_000;
  const to = Date.UTC(year, 3, 30) / 86_400_000;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Pixels of the shipped GBR data with their annual maximum DHW of `year`. */
export async function loadReplayPixels(dataDir: string, year: number): Promise<ReplayPixel[]> {
  if (!Number.isInteger(year) || year < 1986 || year > 2017) {
    throw new RangeError(`season ${year}: the shipped annual maximum DHW covers 1985-2017`);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(
      `SELECT 'pixel-' || e.PIXEL_ID AS id, e.lat, e.lon, e.MT_SST_MIN AS min_c,
         e.MT_SST_SR AS range_c, d.annMaxDHW_${year} AS dhw, e.SW_K490_AV AS k490
       FROM read_parquet('${join(dataDir, 'gbr_environmental.parquet')}') e
       JOIN read_parquet('${join(dataDir, 'gbr_dhw_annual_max_1985_2017.parquet')}') d
         USING (PIXEL_ID)
       WHERE e.MT_SST_MIN IS NOT NULL AND d.annMaxDHW_${year} IS NOT NULL
       ORDER BY e.PIXEL_ID::INT`,
    );
    return reader.getRowObjectsJson().map((r) => ({
      siteId: String(r.id),
      lat: Number(r.lat),
      lon: Number(r.lon),
      minC: Number(r.min_c),
      rangeC: Number(r.range_c),
      targetDhw: Number(r.dhw),
      k490: r.k490 === null ? Number.NaN : Number(r.k490),
    }));
  } catch (cause) {
    throw new InputFormatError(`cannot read the shipped GBR data in ${dataDir}`, { cause });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Daily SST (time-major, days x pixels) of the season with heatwave amplitudes `amplitudeC`. */
export function seasonSst(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  amplitudeC: Float64Array,
  year: number,
): Float32Array {
  return addHeatwave(seasonClimatology(pixels, days), days, amplitudeC, year);
}

/** Each pixel's daily climatology over the season (time-major). */
export function seasonClimatology(pixels: readonly ReplayPixel[], days: readonly number[]) {
  const n = pixels.length;
  const monthly = pixels.map((p) => seasonalMonthlyMeans(p.minC, p.rangeC));
  const base = new Float32Array(days.length * n);
  days.forEach((day, t) => {
    for (let p = 0; p < n; p++) {
      base[t * n + p] = dailyClimatologyOnDay(monthly[p] as number[], day);
    }
  });
  return base;
}

function addHeatwave(
  base: Float32Array,
  days: readonly number[],
  amplitudeC: Float64Array,
  year: number,
): Float32Array {
  const n = amplitudeC.length;
  const peak = Date.parse(`${year}-${HEATWAVE_PEAK_MONTH_DAY}T00:00:00Z`) / 86_400_000;
  const sst = new Float32Array(base.length);
  days.forEach((day, t) => {
    const pulse = Math.exp(-(((day - peak) / HEATWAVE_WIDTH_DAYS) ** 2));
    for (let p = 0; p < n; p++) {
      sst[t * n + p] = (base[t * n + p] as number) + (amplitudeC[p] as number) * pulse;
    }
  });
  return sst;
}

/** Annual maximum (days of `year` only) of core's CRW DHW for every pixel. */
export function seasonMaxDhw(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  sstC: Float32Array,
  year: number,
): Float64Array {
  const n = pixels.length;
  const series = computeHeatStress({
    days: Int32Array.from(days),
    sstC,
    pixels: n,
    mmmC: Float64Array.from(pixels, (p) => p.minC + p.rangeC),
  });
  const firstOfYear = Date.UTC(year, 0, 1) / 86_400_000;
  const max = new Float64Array(n);
  days.forEach((day, t) => {
    if (day < firstOfYear) return;
    for (let p = 0; p < n; p++) {
      const v = series.dhw[t * n + p] as number;
      if (v > (max[p] as number)) max[p] = v;
    }
  });
  return max;
}

/** Heatwave amplitude per pixel whose recomputed annual max DHW meets the shipped one. */
export function calibrateHeatwave(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  year: number,
): Float64Array {
  const n = pixels.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n).fill(MAX_AMPLITUDE_C);
  const mid = new Float64Array(n);
  const base = seasonClimatology(pixels, days);
  for (let step = 0; step < BISECTION_STEPS; step++) {
    for (let p = 0; p < n; p++) mid[p] = ((lo[p] as number) + (hi[p] as number)) / 2;
    const dhw = seasonMaxDhw(pixels, days, addHeatwave(base, days, mid, year), year);
    for (let p = 0; p < n; p++) {
      if ((dhw[p] as number) < (pixels[p] as ReplayPixel).targetDhw) lo[p] = mid[p] as number;
      else hi[p] = mid[p] as number;
    }
  }
  // Pixels without heat stress that year get no heatwave at all.
  return Float64Array.from(hi, (a, p) => ((pixels[p] as ReplayPixel).targetDhw > 0 ? a : 0));
}

export interface ReplayGrid {
  lat: Float64Array;
  lon: Float64Array;
  /** Grid cell of every pixel (row-major index). */
  cellOf: Int32Array;
}

/** A 0.01-degree grid over the pixels, north to south as OBPG writes it; one pixel per cell. */
export function replayGrid(pixels: readonly ReplayPixel[]): ReplayGrid {
  const latMax = Math.max(...pixels.map((p) => p.lat));
  const latMin = Math.min(...pixels.map((p) => p.lat));
  const lonMin = Math.min(...pixels.map((p) => p.lon));
  const lonMax = Math.max(...pixels.map((p) => p.lon));
  const rows = Math.round((latMax - latMin) / REPLAY_GRID_DEG) + 1;
  const cols = Math.round((lonMax - lonMin) / REPLAY_GRID_DEG) + 1;
  const lat = Float64Array.from({ length: rows }, (_, i) => latMax - i * REPLAY_GRID_DEG);
  const lon = Float64Array.from({ length: cols }, (_, j) => lonMin + j * REPLAY_GRID_DEG);
  const cellOf = Int32Array.from(pixels, (p) => {
    const i = Math.round((latMax - p.lat) / REPLAY_GRID_DEG);
    const j = Math.round((p.lon - lonMin) / REPLAY_GRID_DEG);
    return i * cols + j;
  });
  return { lat, lon, cellOf };
}

/** Where a replay's time goes (ms). */
export interface ReplayTimings {
  calibrateMs: number;
  writeMs: number;
}

/**
 * Writes one L3m-style file per season day into `outDir` (on worker threads for a large grid,
 * `threads` to choose); returns the file names in day order.
 */
export async function writeReplaySeason(
  pixels: readonly ReplayPixel[],
  year: number,
  outDir: string,
  options: {
    threads?: number;
    timings?: ReplayTimings;
    onProgress?: (written: number, of: number) => void;
  } = {},
): Promise<{ files: string[]; amplitudeC: Float64Array; grid: ReplayGrid; days: number[] }> {
  let started = performance.now();
  const days = seasonDays(year);
  const amplitudeC = calibrateHeatwave(pixels, days, year);
  const sst = seasonSst(pixels, days, amplitudeC, year);
  const grid = replayGrid(pixels);
  if (options.timings) options.timings.calibrateMs += performance.now() - started;
  started = performance.now();
  await mkdir(outDir, { recursive: true });
  let written = 0;
  const writer = createReplayFileWriter(grid, {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    onWritten: () => options.onProgress?.(++written, days.length),
  });
  const files = days.map((day) => modisL3mFileName(day));
  const n = pixels.length;
  try {
    for (const [t, day] of days.entries()) {
      const cells = new Float32Array(grid.lat.length * grid.lon.length).fill(Number.NaN);
      for (let p = 0; p < n; p++) cells[grid.cellOf[p] as number] = sst[t * n + p] as number;
      await writer.write({
        path: join(outDir, files[t] as string),
        productName: files[t] as string,
        timeCoverageStart: new Date(day * 86_400_000).toISOString(),
        sstC: cells,
      });
    }
    await writer.drain();
  } finally {
    await writer.close();
  }
  if (options.timings) options.timings.writeMs += performance.now() - started;
  return { files, amplitudeC, grid, days };
}
