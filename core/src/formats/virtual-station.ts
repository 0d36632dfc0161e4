import { InputFormatError } from '../errors.js';
import type { SstSeries } from './sst-series.js';

/** A NOAA CRW (Regional) Virtual Station time series file. */
export interface VirtualStation {
  name: string;
  lonDeg: number;
  latDeg: number;
  /** "Averaged Maximum Monthly Mean", degC. */
  mmmC: number;
  /** "Averaged Monthly Mean (Jan-Dec)", degC. */
  monthlyMeanC: Float64Array;
  /** First valid DHW / BAA dates, whole days since 1970-01-01 (written YYYY DD MM). */
  firstValidDhwDay: number;
  firstValidBaaDay: number;
  /** Daily rows (written YYYY MM DD), days since 1970-01-01 UTC. */
  days: Int32Array;
  sstMinC: Float64Array;
  sstMaxC: Float64Array;
  /** SST and anomaly at the pixel of the 90th-percentile HotSpot. */
  sst90thHsC: Float64Array;
  ssta90thHsC: Float64Array;
  hotspot90th: Float64Array;
  dhw90th: Float64Array;
  alertLevel7dMax: Float64Array;
}

const COLUMNS = 10;
const headerValue = (lines: string[], label: string): string => {
  const at = lines.findIndex((line) => line.trim().startsWith(label));
  const value = at >= 0 ? lines[at + 1]?.trim() : undefined;
  if (!value) throw new InputFormatError(`virtual station header has no "${label}" value`);
  return value;
};

/** "YYYY DD MM" (the order of the header's first-valid dates) to a day since 1970. */
function headerDay(text: string): number {
  const [year, day, month] = text.split(/\s+/).map(Number);
  return Date.UTC(year!, month! - 1, day!) / 86_400_000;
}

/**
 * Parses the CRW virtual-station text format: a header block of "Label:" lines each followed
 * by its value (name, polygon middle lon/lat, averaged MMM, 12 monthly means, first valid DHW
 * and BAA dates written YYYY DD MM), then the column header "YYYY MM DD SST_MIN ..." and one
 * whitespace-separated row per day.
 */
export function parseVirtualStation(text: string): VirtualStation {
  const lines = text.split(/\r?\n/);
  const columnsAt = lines.findIndex((line) => line.trim().startsWith('YYYY MM DD'));
  if (columnsAt < 0)
    throw new InputFormatError('no "YYYY MM DD ..." column header: not a CRW virtual station file');
  const header = lines.slice(0, columnsAt);
  const monthlyMeanC = Float64Array.from(
    headerValue(header, 'Averaged Monthly Mean').split(/\s+/).map(Number),
  );
  if (monthlyMeanC.length !== 12)
    throw new InputFormatError('virtual station header needs 12 monthly means');
  const rows = lines.slice(columnsAt + 1).filter((line) => line.trim() !== '');
  const n = rows.length;
  const station: VirtualStation = {
    name: headerValue(header, 'Name:'),
    lonDeg: Number(headerValue(header, 'Polygon Middle Longitude')),
    latDeg: Number(headerValue(header, 'Polygon Middle Latitude')),
    mmmC: Number(headerValue(header, 'Averaged Maximum Monthly Mean')),
    monthlyMeanC,
    firstValidDhwDay: headerDay(headerValue(header, 'First Valid DHW Date')),
    firstValidBaaDay: headerDay(headerValue(header, 'First Valid BAA Date')),
    days: new Int32Array(n),
    sstMinC: new Float64Array(n),
    sstMaxC: new Float64Array(n),
    sst90thHsC: new Float64Array(n),
    ssta90thHsC: new Float64Array(n),
    hotspot90th: new Float64Array(n),
    dhw90th: new Float64Array(n),
    alertLevel7dMax: new Float64Array(n),
  };
  const series = [
    station.sstMinC,
    station.sstMaxC,
    station.sst90thHsC,
    station.ssta90thHsC,
    station.hotspot90th,
    station.dhw90th,
    station.alertLevel7dMax,
  ];
  rows.forEach((row, i) => {
    const cells = row.trim().split(/\s+/).map(Number);
    if (cells.length !== COLUMNS || cells.some(Number.isNaN)) {
      throw new InputFormatError(
        `virtual station row ${columnsAt + 2 + i} has not ${COLUMNS} numbers: "${row}"`,
      );
    }
    station.days[i] = Date.UTC(cells[0]!, cells[1]! - 1, cells[2]!) / 86_400_000;
    series.forEach((column, j) => {
      column[i] = cells[3 + j]!;
    });
  });
  return station;
}

/** The station's SST at its 90th-percentile HotSpot pixel as a one-pixel series. */
export function virtualStationSeries(station: VirtualStation): SstSeries {
  return {
    days: station.days,
    sstC: station.sst90thHsC,
    pixels: 1,
    latDeg: Float64Array.of(station.latDeg),
    lonDeg: Float64Array.of(station.lonDeg),
  };
}
