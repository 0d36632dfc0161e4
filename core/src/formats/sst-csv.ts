import { toCelsius } from '../crw/units.js';
import { InputFormatError } from '../errors.js';
import { epochDayOf, type SstSeries } from './sst-series.js';

/** A CSV file as named columns of text cells (comma separated, optional double quotes). */
export function parseCsvColumns(text: string): Map<string, string[]> {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const split = (line: string) =>
    line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
  const header = split(lines[0] ?? '').map((name) => name.toLowerCase());
  const columns = new Map<string, string[]>(header.map((name) => [name, []]));
  for (let i = 1; i < lines.length; i++) {
    const cells = split(lines[i]!);
    header.forEach((name, j) => {
      columns.get(name)!.push(cells[j] ?? '');
    });
  }
  return columns;
}

/** A numeric CSV cell: empty, "NaN" or "NA" -> NaN. */
export const csvNumber = (cell: string | undefined): number =>
  cell === undefined || cell === '' || /^(nan|na|null)$/i.test(cell) ? Number.NaN : Number(cell);

const pick = (columns: Map<string, string[]>, names: string[]) =>
  names.map((name) => columns.get(name)).find((column) => column !== undefined);

/**
 * An SST series from a CSV with a `date` (or `time`) column and an `sst` (or `crw_sst`) column
 * in degC or Kelvin, optionally `lat`/`latitude` and `lon`/`longitude` for many sites. Each
 * distinct (lat, lon) is a pixel; days absent for a pixel are NaN.
 */
export function readSstCsv(text: string): SstSeries {
  const columns = parseCsvColumns(text);
  const dates = pick(columns, ['date', 'time']);
  const sst = pick(columns, ['sst', 'crw_sst', 'sst_c']);
  if (!dates || !sst) {
    throw new InputFormatError(
      `CSV needs a "date" and an "sst" column; it has ${[...columns.keys()].join(', ')}`,
    );
  }
  const lats = pick(columns, ['lat', 'latitude']);
  const lons = pick(columns, ['lon', 'longitude']);
  const pixelOf = new Map<string, number>();
  const latDeg: number[] = [];
  const lonDeg: number[] = [];
  const rowDay = dates.map(epochDayOf);
  const rowPixel = dates.map((_, i) => {
    const key = `${lats?.[i] ?? ''},${lons?.[i] ?? ''}`;
    let pixel = pixelOf.get(key);
    if (pixel === undefined) {
      pixel = pixelOf.size;
      pixelOf.set(key, pixel);
      latDeg.push(csvNumber(lats?.[i]));
      lonDeg.push(csvNumber(lons?.[i]));
    }
    return pixel;
  });
  const bad = rowDay.findIndex((day) => Number.isNaN(day));
  if (bad >= 0) throw new InputFormatError(`CSV row ${bad + 2}: "${dates[bad]}" is not a date`);
  const days = Int32Array.from(new Set(rowDay)).sort();
  const rowOf = new Map(Array.from(days, (day, t) => [day, t]));
  const pixels = pixelOf.size;
  const sstC = new Float64Array(days.length * pixels).fill(Number.NaN);
  rowDay.forEach((day, i) => {
    sstC[rowOf.get(day)! * pixels + rowPixel[i]!] = toCelsius(csvNumber(sst[i]));
  });
  return {
    days,
    sstC,
    pixels,
    latDeg: Float64Array.from(latDeg),
    lonDeg: Float64Array.from(lonDeg),
  };
}
