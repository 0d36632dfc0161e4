import { ValidationError } from '../errors.js';
import { toCelsius } from './units.js';

/** CRW v3.1 climatology base period (Skirving et al. 2020, Remote Sensing 12:3856). */
export const CLIMATOLOGY_START_YEAR = 1985;
export const CLIMATOLOGY_END_YEAR = 2012;
/** Every monthly mean trend line is evaluated here, keeping v3.1 consistent with v1.0. */
export const CLIMATOLOGY_CENTER_YEAR = 1988.2857;
/**
 * Fewer years than this in a month: the plain mean of those years, no trend. A trend fitted
 * to fewer years and extrapolated back to 1988.29 follows interannual swings (ENSO, the Indian
 * Ocean Dipole): from the Kenya virtual station's 2003-2012 alone it puts monthly means up to
 * 1.5 degC off NOAA's, while the plain mean runs warm by the trend since 1988 (0.2-0.5 degC);
 * from 24 years (1989-2012) the trend is within 0.23 degC of NOAA's monthly means.
 */
export const CLIMATOLOGY_MIN_TREND_YEARS = 20;
/** A month of a year counts when it has at least this many days of SST. */
export const CLIMATOLOGY_MIN_DAYS_PER_MONTH = 15;

export interface ClimatologyOptions {
  startYear?: number;
  endYear?: number;
  centerYear?: number;
  minTrendYears?: number;
  minDaysPerMonth?: number;
}

export interface Climatology {
  /** Monthly mean climatology (MM) of January..December, degC (NaN when a month has no year). */
  monthlyMeanC: Float64Array;
  /** Maximum of the monthly means (MMM), degC. */
  mmmC: number;
  /** 1..12, the month holding the MMM. */
  mmmMonth: number;
  /** Years that entered each month. */
  yearsPerMonth: Int32Array;
  /** Year each month's value stands for: the center year with a trend, else the mean year. */
  representsYear: Float64Array;
  /** Whether the base period was complete for every month, i.e. the exact CRW method applied. */
  complete: boolean;
}

/**
 * Climatology from daily SST (Skirving et al. 2020, CRW v3.1): for each calendar month, the
 * mean SST of each year 1985-2012 (a month counts with >= 15 days), regressed on year by
 * ordinary least squares and evaluated at 1988.2857; MMM = max of the 12 monthly means.
 * With fewer years: years of the base period that exist are used; a month with fewer than 20
 * years gets the plain mean of its years (a trend from few years extrapolates badly), which
 * stands for their mean year, not 1988.29, so it runs warm by the trend (about 0.1-0.2 degC a
 * decade); a month with no year in the base period uses every year the series has.
 * `days` are whole days since 1970-01-01 UTC; SST in degC or Kelvin, NaN = missing.
 */
export function computeClimatology(
  input: { days: ArrayLike<number>; sstC: ArrayLike<number> },
  options: ClimatologyOptions = {},
): Climatology {
  const {
    startYear = CLIMATOLOGY_START_YEAR,
    endYear = CLIMATOLOGY_END_YEAR,
    centerYear = CLIMATOLOGY_CENTER_YEAR,
    minTrendYears = CLIMATOLOGY_MIN_TREND_YEARS,
    minDaysPerMonth = CLIMATOLOGY_MIN_DAYS_PER_MONTH,
  } = options;
  const { days, sstC } = input;
  if (days.length !== sstC.length) {
    throw new ValidationError('climatology: days and sstC differ in length', 'climatology-shape');
  }
  // Sum and count of SST per (year, month).
  const sums = new Map<number, { sum: number; count: number }>();
  for (let i = 0; i < days.length; i++) {
    const sst = toCelsius(sstC[i] as number);
    if (Number.isNaN(sst)) continue;
    const date = new Date((days[i] as number) * 86_400_000);
    const key = date.getUTCFullYear() * 12 + date.getUTCMonth();
    const cell = sums.get(key) ?? { sum: 0, count: 0 };
    cell.sum += sst;
    cell.count++;
    sums.set(key, cell);
  }
  const monthlyMeanC = new Float64Array(12).fill(Number.NaN);
  const yearsPerMonth = new Int32Array(12);
  const representsYear = new Float64Array(12).fill(Number.NaN);
  let complete = true;
  for (let month = 0; month < 12; month++) {
    const all: [number, number][] = [];
    for (const [key, cell] of sums) {
      if (key % 12 === month && cell.count >= minDaysPerMonth) {
        all.push([Math.floor(key / 12), cell.sum / cell.count]);
      }
    }
    const base = all.filter(([year]) => year >= startYear && year <= endYear);
    if (base.length < endYear - startYear + 1) complete = false;
    const years = base.length > 0 ? base : all;
    yearsPerMonth[month] = years.length;
    if (years.length === 0) continue;
    const meanYear = years.reduce((a, [y]) => a + y, 0) / years.length;
    const meanSst = years.reduce((a, [, v]) => a + v, 0) / years.length;
    if (years.length < minTrendYears) {
      monthlyMeanC[month] = meanSst;
      representsYear[month] = meanYear;
      continue;
    }
    let sxy = 0;
    let sxx = 0;
    for (const [year, value] of years) {
      sxy += (year - meanYear) * (value - meanSst);
      sxx += (year - meanYear) ** 2;
    }
    monthlyMeanC[month] = meanSst + (sxy / sxx) * (centerYear - meanYear);
    representsYear[month] = centerYear;
  }
  let mmmMonth = 0;
  for (let month = 1; month < 12; month++) {
    if (!((monthlyMeanC[month] as number) <= (monthlyMeanC[mmmMonth] as number))) mmmMonth = month;
  }
  return {
    monthlyMeanC,
    mmmC: monthlyMeanC[mmmMonth] as number,
    mmmMonth: mmmMonth + 1,
    yearsPerMonth,
    representsYear,
    complete,
  };
}

const MID_MONTH_DAY = 15;
const DAY_MS = 86_400_000;

/**
 * Daily climatology (degC) on a date: linear interpolation between the monthly means placed
 * on the 15th of each month (December -> January across the year end), as CRW derives its
 * daily climatology for SST anomalies (Skirving et al. 2020). `date` is a Date, or a day of
 * year 1..365 taken in a non-leap year. SST anomaly = SST - dailyClimatology.
 */
export function dailyClimatology(monthlyMeanC: ArrayLike<number>, date: number | Date): number {
  const at = typeof date === 'number' ? Date.UTC(2001, 0, date) : date.getTime();
  const d = new Date(at);
  const year = d.getUTCFullYear();
  let month = d.getUTCMonth();
  // The mid-month on or before the date, and the next one.
  if (d.getUTCDate() < MID_MONTH_DAY) month--;
  const from = Date.UTC(year, month, MID_MONTH_DAY);
  const to = Date.UTC(year, month + 1, MID_MONTH_DAY);
  const a = monthlyMeanC[(month + 12) % 12] as number;
  const b = monthlyMeanC[(month + 13) % 12] as number;
  const t = (Math.floor(at / DAY_MS) * DAY_MS - from) / (to - from);
  return a + (b - a) * t;
}

/** `dailyClimatology` on a day given as whole days since 1970-01-01 UTC. */
export function dailyClimatologyOnDay(monthlyMeanC: ArrayLike<number>, day: number): number {
  return dailyClimatology(monthlyMeanC, new Date(day * DAY_MS));
}
