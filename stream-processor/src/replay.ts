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
 * the series reaches the shipped annual maximum DHW of that pixel and year. DHW counts only
 * days with HotSpot >= 1 degC, so as A_p grows it jumps by 1/7 or more each time a day crosses
 * that line (2/7 when the two flanks of the pulse cross together): more than 10 % of a target
 * under ~3. So the amplitude is the largest one below the target, and the days that already
 * count at it are raised by a common trim T_p, found by a second bisection: raising counted
 * days moves DHW continuously, so every pixel lands on its target (where none counts yet, the
 * trim is the level of a short plateau of the year's hottest days: `trimDays`).
 * No day is left within 0.01 degC of the HotSpot line, so the files' 0.005 degC storage does not
 * change which days count.
 */
export const REPLAY_GRID_DEG = 0.01;
export const HEATWAVE_PEAK_MONTH_DAY = '03-01';
export const HEATWAVE_WIDTH_DAYS = 30;
const BISECTION_STEPS = 20;
const MAX_AMPLITUDE_C = 12;
/** Trims searched (degC): above the largest DHW jump one more counted day can make. */
const MAX_TRIM_C = 8;
/** Largest trim added to the counted days (degC); past it the trim makes a plateau instead. */
const MAX_ADDED_TRIM_C = 1;
/** A day counts toward DHW from this anomaly over the MMM on (HotSpot >= 1 at core's 0.01). */
const HOTSPOT_LINE_C = 0.995;
/**
 * No day is left this close to that line (degC): the files store SST to 0.005 degC, and a day
 * that crossed it in either direction on the way would move DHW by 1/7.
 */
const LINE_MARGIN_C = 0.01;

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

/** Each pixel's MMM (degC): the top of its seasonal cycle, MT_SST_MIN + MT_SST_SR. */
export function replayMmmC(pixels: readonly ReplayPixel[]): Float64Array {
  return Float64Array.from(pixels, (p) => p.minC + p.rangeC);
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

/** Each pixel's heatwave: the pulse's amplitude and its trim (degC), see {@link calibrateHeatwave}. */
export interface Heatwave {
  amplitudeC: Float64Array;
  trimC: Float64Array;
  /** 0: the trim is added to the days counted at the amplitude; m > 0: a plateau of m days. */
  plateauDays: Uint8Array;
}

/** The heatwaves of pixels `from` to `to` (exclusive), e.g. the buoys among the first pixels. */
export function heatwaveSlice(heatwave: Heatwave, from: number, to: number): Heatwave {
  return {
    amplitudeC: heatwave.amplitudeC.slice(from, to),
    trimC: heatwave.trimC.slice(from, to),
    plateauDays: heatwave.plateauDays.slice(from, to),
  };
}

/** Daily SST (time-major, days x pixels) of the season with each pixel's heatwave. */
export function seasonSst(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  heatwave: Heatwave,
  year: number,
): Float32Array {
  const base = seasonClimatology(pixels, days);
  const sst = clearOfLine(addHeatwave(base, days, heatwave.amplitudeC, year), pixels);
  const marks = trimDays(sst, pixels, days, year, heatwave.plateauDays);
  return addTrim(sst, pixels, heatwave.trimC, marks);
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
    mmmC: replayMmmC(pixels),
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

/**
 * `sst` (changed in place) with every day within LINE_MARGIN_C of the HotSpot line lowered to
 * that margin below it (at most 0.02 degC): stored to 0.005 degC, no day then counts toward DHW
 * in the files unless it did here.
 */
function clearOfLine(sst: Float32Array, pixels: readonly ReplayPixel[]): Float32Array {
  const n = pixels.length;
  const mmm = replayMmmC(pixels);
  for (let i = 0; i < sst.length; i++) {
    const line = (mmm[i % n] as number) + HOTSPOT_LINE_C;
    const v = sst[i] as number;
    if (v >= line - LINE_MARGIN_C && v < line + LINE_MARGIN_C) sst[i] = line - LINE_MARGIN_C;
  }
  return sst;
}

/** Per season day and pixel (time-major): how the pixel's trim applies to the day. */
const RAISED = 1;
const PLATEAU = 2;

/**
 * Where each pixel's trim goes (per season day and pixel, time-major). With `plateauDays` 0,
 * added to the days of `year` that count toward DHW before it (RAISED; clear of the line, so
 * raising them makes no day cross it and DHW moves continuously). With m > 0, the year's m
 * hottest days are brought up to the trim as a common anomaly (PLATEAU; counted whole from the
 * start). Decided on the SST without trim, so the days are the same whatever the trim.
 */
function trimDays(
  sst: Float32Array,
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  year: number,
  plateauDays: Uint8Array,
): Uint8Array {
  const n = pixels.length;
  const firstOfYear = Date.UTC(year, 0, 1) / 86_400_000;
  const inYear = days.flatMap((day, t) => (day >= firstOfYear ? [t] : []));
  const marks = new Uint8Array(sst.length);
  for (let p = 0; p < n; p++) {
    const pixel = pixels[p] as ReplayPixel;
    const mmm = pixel.minC + pixel.rangeC;
    const m = plateauDays[p] as number;
    if (m === 0) {
      for (const t of inYear) {
        if ((sst[t * n + p] as number) - mmm >= HOTSPOT_LINE_C + LINE_MARGIN_C) {
          marks[t * n + p] = RAISED;
        }
      }
      continue;
    }
    const hottest = [...inYear].sort(
      (a, b) => (sst[b * n + p] as number) - (sst[a * n + p] as number),
    );
    for (const t of hottest.slice(0, m)) marks[t * n + p] = PLATEAU;
  }
  return marks;
}

/** `sst` with each pixel's trim on its days (`marks`, see {@link trimDays}). */
function addTrim(
  sst: Float32Array,
  pixels: readonly ReplayPixel[],
  trimC: Float64Array,
  marks: Uint8Array,
): Float32Array {
  const n = pixels.length;
  const mmm = replayMmmC(pixels);
  const out = Float32Array.from(sst);
  for (let i = 0; i < out.length; i++) {
    const trim = trimC[i % n] as number;
    if (marks[i] === RAISED) out[i] = (out[i] as number) + trim;
    else if (marks[i] === PLATEAU) {
      out[i] = Math.max(out[i] as number, (mmm[i % n] as number) + trim);
    }
  }
  return out;
}

/** Heatwave per pixel whose recomputed annual max DHW meets the shipped one. */
export function calibrateHeatwave(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  year: number,
): Heatwave {
  const n = pixels.length;
  const base = seasonClimatology(pixels, days);
  // 1. The amplitude: the largest found below the target (`lo`), the smallest at or above (`hi`).
  const lo = new Float64Array(n);
  const hi = new Float64Array(n).fill(MAX_AMPLITUDE_C);
  bisect(pixels, lo, hi, (a) => seasonMaxDhw(pixels, days, addHeatwave(base, days, a, year), year));
  // Pixels without heat stress that year get no heatwave at all.
  const amplitudeC = Float64Array.from(lo, (a, p) =>
    (pixels[p] as ReplayPixel).targetDhw > 0 ? a : 0,
  );
  // 2. The trim. Added to the days counted at that amplitude while that takes at most
  // MAX_ADDED_TRIM_C; else (no counted day, or a few that the next crossing would have joined
  // by many at once) a plateau of the year's hottest days at 1.2-2.4 degC over the MMM.
  const pulsed = clearOfLine(addHeatwave(base, days, amplitudeC, year), pixels);
  const reached = seasonMaxDhw(pixels, days, pulsed, year);
  const counted = new Float64Array(n);
  trimDays(pulsed, pixels, days, year, new Uint8Array(n)).forEach((mark, i) => {
    if (mark === RAISED) counted[i % n] = (counted[i % n] as number) + 1;
  });
  const plateauDays = Uint8Array.from(pixels, (pixel, p) => {
    const weeks = 7 * pixel.targetDhw;
    const added = (7 * (pixel.targetDhw - (reached[p] as number))) / (counted[p] as number);
    if (pixel.targetDhw <= 0 || ((counted[p] as number) > 0 && added <= MAX_ADDED_TRIM_C)) return 0;
    return weeks < 0.5 ? 0 : Math.min(255, Math.max(1, Math.floor(weeks / 1.2)));
  });
  const marks = trimDays(pulsed, pixels, days, year, plateauDays);
  // A plateau starts clear of the line (counted whole), an added trim at 0; none without days.
  const low = Float64Array.from(plateauDays, (m) => (m > 0 ? HOTSPOT_LINE_C + LINE_MARGIN_C : 0));
  const high = Float64Array.from(pixels, (pixel, p) =>
    pixel.targetDhw > 0 && ((plateauDays[p] as number) > 0 || (counted[p] as number) > 0)
      ? MAX_TRIM_C
      : (low[p] as number),
  );
  bisect(pixels, low, high, (t) =>
    seasonMaxDhw(pixels, days, addTrim(pulsed, pixels, t, marks), year),
  );
  return { amplitudeC, trimC: high, plateauDays };
}

/**
 * Per pixel, narrows [`low`, `high`] (in place) to where `reach` (the annual max DHW of each
 * pixel for a value per pixel) crosses the pixel's target: `low` below it, `high` at or above.
 */
function bisect(
  pixels: readonly ReplayPixel[],
  low: Float64Array,
  high: Float64Array,
  reach: (values: Float64Array) => Float64Array,
): void {
  const mid = new Float64Array(low.length);
  for (let step = 0; step < BISECTION_STEPS; step++) {
    for (let p = 0; p < mid.length; p++) mid[p] = ((low[p] as number) + (high[p] as number)) / 2;
    const dhw = reach(mid);
    for (let p = 0; p < mid.length; p++) {
      if ((dhw[p] as number) < (pixels[p] as ReplayPixel).targetDhw) low[p] = mid[p] as number;
      else high[p] = mid[p] as number;
    }
  }
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
): Promise<{ files: string[]; heatwave: Heatwave; grid: ReplayGrid; days: number[] }> {
  let started = performance.now();
  const days = seasonDays(year);
  const heatwave = calibrateHeatwave(pixels, days, year);
  const sst = seasonSst(pixels, days, heatwave, year);
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
  return { files, heatwave, grid, days };
}
