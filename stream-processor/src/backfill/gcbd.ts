import { type FeatureName, InputFormatError } from '@reefguard/core';
import {
  countOnce,
  isEmptyRow,
  type Observation,
  type ParsedObservations,
  parseNumber,
  type QuarantinedRow,
} from './observation.js';
import type { ObservationTable } from './observation-file.js';

/** Moderate-or-worse bleaching in survey data: at least 10 % of corals bleached. */
export const GCBD_LABEL_MIN_PERCENT = 10;

const KELVIN_OFFSET = 273.15;
/** Sea-surface temperatures in Kelvin lie well inside this range. */
const KELVIN_RANGE = [263.15, 318.15] as const;
/** Below this a "Kelvin" column holds Celsius (or Fahrenheit): the file is mislabelled. */
const CELSIUS_LIKE_MAX = 150;

const REQUIRED = ['Latitude_Degrees', 'Longitude_Degrees', 'Date', 'Average_Bleaching', 'TSA_DHW'];
const KELVIN_COLUMNS = ['ClimSST', 'Temperature_Kelvin'];
const HEAT_STRESS_COLUMN = 'TSA_DHW';
const NUMERIC_COLUMNS = ['Depth', 'SSTA', 'TSA', 'TSA_DHW', 'Windspeed', ...KELVIN_COLUMNS];

function compactDate(value: string | null): string | null {
  const match = value === null ? null : /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  return match ? `${match[1]}-${match[2]}-${match[3]}` : null;
}

/** Parses M/D/YYYY (the CSV) or YYYY-MM-DD[...] (Parquet dates) into an ISO date. */
export function parseSurveyDate(value: string | null): string | null {
  if (value === null) return null;
  const text = value.trim();
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$/.exec(text);
  const [year, month, day] = us
    ? [Number(us[3]), Number(us[1]), Number(us[2])]
    : iso
      ? [Number(iso[1]), Number(iso[2]), Number(iso[3])]
      : [Number.NaN, Number.NaN, Number.NaN];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    Number.isNaN(date.getTime()) ||
    date.getUTCDate() !== day ||
    date.getUTCMonth() !== month - 1
  ) {
    return null;
  }
  return date.toISOString().slice(0, 10);
}

/**
 * Harmonises one survey row's CoRTAD statistics onto catalogue features. Only values of the
 * survey week are used: the record-wide columns (`*_Maximum`, `*_Mean`, `*_DHWMax`,
 * `*_Frequency*`) summarise 1982-2017 and would leak later years into the row.
 */
export function harmoniseGcbd(
  values: Readonly<Record<string, number | null>>,
  latDeg: number,
): Partial<Record<FeatureName, number | null>> {
  const kelvin = (v: number | null | undefined) =>
    v === null || v === undefined ? null : v - KELVIN_OFFSET;
  const sst = values.Temperature_Kelvin ?? null;
  const tsa = values.TSA ?? null;
  return {
    // CoRTAD TSA_DHW: 12-week sum of TSA >= 1 degC / 7 on weekly SST; CRW's DHW is the same
    // construction on daily CoralTemp. Only the survey week's value is known, so it is also
    // the (lower-bound) dhw_max_ytd.
    dhw: values.TSA_DHW ?? null,
    dhw_max_ytd: values.TSA_DHW ?? null,
    // TSA = SST - maximum weekly climatological SST, i.e. HotSpot before clipping at 0.
    hotspot: tsa === null ? null : Math.max(tsa, 0),
    sst_anomaly: values.SSTA ?? null,
    sst_daily_mean: kelvin(sst),
    // CoRTAD's maximum of the weekly climatology (SST - TSA); CRW's MMM uses monthly means.
    mmm: sst === null || tsa === null ? null : sst - tsa - KELVIN_OFFSET,
    sst_clim_mean: kelvin(values.ClimSST),
    depth_m: values.Depth ?? null,
    wind_speed_ms: values.Windspeed ?? null,
    latitude: latDeg,
  };
}

interface GcbdRow {
  lat: number;
  lon: number;
  asOf: string;
  percent: number;
  values: Record<string, number | null>;
  /** Why columns were read as missing: `${column}_fill_value` or `${column}_not_a_number`. */
  filled: string[];
  /** How the date was read when Date and Date2 did not simply agree. */
  dateNote?: string;
}

/**
 * The survey date: `Date` (M/D/YYYY, the documented field; a re-dated file edits it), else
 * `Date2` (YYYYMMDD, the same date as a number in every shipped row) when Date is missing.
 * When both are valid and disagree, Date wins, counted `date2_disagrees_date_used`. An
 * unreadable Date is not replaced by Date2: a file re-dated in another spelling (9/8/19)
 * still carries the old Date2, and scoring its rows on that year would judge another season.
 */
function readSurveyDate(cell: (name: string) => string | null): {
  asOf: string | null;
  note?: string;
} {
  const rawDate = cell('Date');
  const date2 = parseSurveyDate(compactDate(cell('Date2')));
  if (parseNumber(rawDate) === null) return { asOf: date2 };
  const asOf = parseSurveyDate(rawDate);
  return asOf !== null && date2 !== null && date2 !== asOf
    ? { asOf, note: 'date2_disagrees_date_used' }
    : { asOf };
}

/** The checked values of one survey row, or the first column at fault and why. */
function readGcbdRow(
  cell: (name: string) => string | null,
): GcbdRow | { column: string; reason: string } {
  const lat = parseNumber(cell('Latitude_Degrees'));
  const lon = parseNumber(cell('Longitude_Degrees'));
  if (lat === null || Number.isNaN(lat) || Math.abs(lat) > 90) {
    return { column: 'Latitude_Degrees', reason: 'invalid_coordinates' };
  }
  if (lon === null || Number.isNaN(lon) || Math.abs(lon) > 180) {
    return { column: 'Longitude_Degrees', reason: 'invalid_coordinates' };
  }
  const { asOf, note } = readSurveyDate(cell);
  if (asOf === null) return { column: 'Date', reason: 'invalid_date' };
  const percent = parseNumber(cell('Average_Bleaching'));
  if (percent === null) return { column: 'Average_Bleaching', reason: 'missing_label' };
  if (Number.isNaN(percent) || percent < 0 || percent > 100) {
    return { column: 'Average_Bleaching', reason: 'invalid_label' };
  }
  const values: Record<string, number | null> = {};
  const filled: string[] = [];
  for (const name of NUMERIC_COLUMNS) {
    const value = parseNumber(cell(name));
    if (Number.isNaN(value)) {
      // TSA_DHW is the heat stress every score needs; a garbled optional statistic (depth,
      // wind, anomaly) is one unknown feature, not a reason to drop the survey.
      if (name === HEAT_STRESS_COLUMN) return { column: name, reason: 'not_a_number' };
      values[name] = null;
      filled.push(`${name}_not_a_number`);
      continue;
    }
    if (value !== null && KELVIN_COLUMNS.includes(name)) {
      if (value < CELSIUS_LIKE_MAX) return { column: name, reason: 'temperature_not_kelvin' };
      if (value < KELVIN_RANGE[0] || value > KELVIN_RANGE[1]) {
        // The published file uses 262.15 K (-11 degC) as a fill value for ClimSST.
        values[name] = null;
        filled.push(`${name}_fill_value`);
        continue;
      }
    }
    values[name] = value;
  }
  return { lat, lon, asOf, percent, values, filled, ...(note ? { dateNote: note } : {}) };
}

/** Turns GCBD survey rows (van Woesik and Kratochwil 2022 columns) into observations. */
export function parseGcbd(table: ObservationTable): ParsedObservations {
  const observations: Observation[] = [];
  const quarantined: QuarantinedRow[] = [];
  const skipped: Record<string, number> = {};
  const adjusted: Record<string, number> = {};
  const missing = REQUIRED.filter((name) => table.column(name) < 0);
  if (missing.length > 0) {
    throw new InputFormatError(
      `${table.path}: GCBD survey rows need the column(s) ${missing.join(', ')}`,
    );
  }
  const cell = (cells: readonly (string | null)[], name: string) => {
    const index = table.column(name);
    return index < 0 ? null : (cells[index] ?? null);
  };

  table.rows.forEach((cells, i) => {
    const row = i + 1;
    if (isEmptyRow(cells)) {
      countOnce(skipped, 'empty_row');
      return;
    }
    const read = readGcbdRow((name) => cell(cells, name));
    if ('reason' in read) {
      quarantined.push({ path: table.path, row, ...read, value: cell(cells, read.column) });
      return;
    }
    const { lat, lon, asOf, percent, values, filled } = read;
    for (const why of filled) countOnce(adjusted, `${why}_read_as_missing`);
    if (read.dateNote) countOnce(adjusted, read.dateNote);
    const year = Number(asOf.slice(0, 4));
    observations.push({
      source: 'gcbd',
      siteId: `gcbd-${lat.toFixed(4)}_${lon.toFixed(4)}`,
      event: `gcbd-${year}`,
      year,
      asOf,
      lat,
      lon,
      label: percent >= GCBD_LABEL_MIN_PERCENT ? 1 : 0,
      severity: percent,
      features: harmoniseGcbd(values, lat),
      origin: { path: table.path, row },
    });
  });
  return { observations, quarantined, skipped, adjusted };
}
