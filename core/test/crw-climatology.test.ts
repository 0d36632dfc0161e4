import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLIMATOLOGY_CENTER_YEAR,
  type Climatology,
  computeClimatology,
  parseVirtualStation,
} from '../src/index.js';

// NOAA CRW's Kenya virtual station (public domain): 13,379 daily rows 1985-01-01..2021-08-18 of
// the polygon's SST minimum, maximum and the SST at its 90th-percentile HotSpot pixel, with the
// polygon's averaged monthly means and MMM in the header. The header comes from NOAA's own
// pipeline: each 5 km pixel's monthly means regressed on 1985-2012 and evaluated at 1988.2857,
// then averaged over the polygon's pixels. The file has no polygon-mean SST, so the best we can
// rebuild is the climatology of a proxy series; these tests pin how close each proxy gets.
const station = parseVirtualStation(
  readFileSync(
    resolve(import.meta.dirname, '../../test/fixtures/crw/virtual_station_kenya_2021-08-20.txt'),
    'utf8',
  ),
);
const yearOf = (day: number) => new Date(day * 864e5).getUTCFullYear();
/** Mid-range of the polygon, (SST_MIN + SST_MAX) / 2, between two years inclusive. */
function midRange(fromYear = 0, toYear = 9999) {
  const days: number[] = [];
  const sstC: number[] = [];
  station.days.forEach((day, i) => {
    if (yearOf(day) < fromYear || yearOf(day) > toYear) return;
    days.push(day);
    sstC.push((station.sstMinC[i]! + station.sstMaxC[i]!) / 2);
  });
  return { days, sstC };
}
const differences = (c: Climatology) =>
  Array.from(c.monthlyMeanC, (value, m) => value - station.monthlyMeanC[m]!);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const largest = (values: number[]) => Math.max(...values.map(Math.abs));

describe('crw climatology - real SST of the Kenya virtual station against NOAA', () => {
  it('the polygon mid-range 1985-2012 gives NOAA MMM within 0.002 degC and every monthly mean within 0.13', () => {
    const c = computeClimatology(midRange());
    expect(c.complete).toBe(true);
    expect(Array.from(c.yearsPerMonth)).toEqual(new Array(12).fill(28));
    expect(c.representsYear[0]).toBe(CLIMATOLOGY_CENTER_YEAR);
    // NOAA: MMM 28.7719 in April; ours 28.7733 in April.
    expect(station.mmmC).toBe(28.7719);
    expect(c.mmmMonth).toBe(4);
    expect(Math.abs(c.mmmC - station.mmmC)).toBeLessThan(0.002);
    const d = differences(c);
    // Largest in January-February (0.09, 0.13): in the north-east monsoon the polygon's SST is
    // skewed (a few cool pixels), so the mid-range sits above the pixel mean NOAA averages.
    expect(largest(d)).toBeLessThan(0.13);
    expect(largest(d.slice(2))).toBeLessThan(0.07);
    expect(Math.abs(mean(d))).toBeLessThan(0.05);
  });

  it('the SST at the 90th-percentile HotSpot pixel is warm-biased by 0.1-0.6 degC in every month', () => {
    // That pixel is chosen each day for its high anomaly, so its climatology is no pixel's.
    const c = computeClimatology({ days: station.days, sstC: station.sst90thHsC });
    const d = differences(c);
    expect(Math.min(...d)).toBeGreaterThan(0.1);
    expect(Math.max(...d)).toBeLessThan(0.6);
    expect(c.mmmC - station.mmmC).toBeCloseTo(0.197, 3);
  });

  it('with 24 of the 28 base years the trend still applies and stays within 0.23 degC', () => {
    const c = computeClimatology(midRange(1989, 2012));
    expect(c.complete).toBe(false);
    expect(c.yearsPerMonth[3]).toBe(24);
    expect(c.representsYear[3]).toBe(CLIMATOLOGY_CENTER_YEAR);
    expect(largest(differences(c))).toBeLessThan(0.23);
  });

  it('with fewer than 20 years each month is the plain mean of its years, which runs warm', () => {
    // 2003-2012: a trend from these 10 years extrapolated to 1988.29 misses by up to 1.5 degC;
    // the plain mean stands for 2007.5 and is warmer than NOAA's by the warming since 1988.
    const ten = computeClimatology(midRange(2003, 2012));
    expect(ten.representsYear[3]).toBe(2007.5);
    const d = differences(ten);
    expect(mean(d)).toBeGreaterThan(0.2);
    expect(largest(d)).toBeLessThan(0.9);
    const trend = computeClimatology(midRange(2003, 2012), { minTrendYears: 10 });
    expect(largest(differences(trend))).toBeGreaterThan(1.4);
  });

  it('with no year of the base period it uses every year the series has', () => {
    const c = computeClimatology(midRange(2013, 2021));
    expect(Array.from(c.yearsPerMonth)).toEqual([9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8]);
    expect(c.representsYear[0]).toBe(2017);
    expect(c.complete).toBe(false);
    expect(c.mmmC - station.mmmC).toBeGreaterThan(0.3);
  });
});
