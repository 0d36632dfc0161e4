import { toCelsius } from '../crw/units.js';
import { InputFormatError } from '../errors.js';
import { epochDayOf, type SstSeries } from './sst-series.js';

/**
 * The records of a CSV text (RFC 4180): comma-separated cells, double-quoted cells may hold
 * commas, line breaks and doubled quotes (`"Lizard Island, ""north"""`); CRLF or LF line ends;
 * blank lines skipped. Unquoted cells are trimmed. An unterminated quote throws.
 */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let quoteLine = 0;
  const endCell = () => {
    record.push(quoted ? cell : cell.trim());
    cell = '';
    quoted = false;
  };
  const endRecord = () => {
    endCell();
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' && cell.trim() === '' && !quoted) {
      // Opening quote: read up to the closing one, "" standing for one quote.
      quoted = true;
      quoteLine = line;
      cell = '';
      let closed = false;
      for (i++; i < text.length; i++) {
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i++;
          } else {
            closed = true;
            break;
          }
        } else {
          if (q === '\n') line++;
          cell += q;
        }
      }
      if (!closed) {
        throw new InputFormatError(`CSV line ${quoteLine}: a quoted cell is never closed`);
      }
    } else if (c === ',') {
      endCell();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      endRecord();
    } else if (!quoted) {
      cell += c;
    } else if (c.trim() !== '') {
      throw new InputFormatError(
        `CSV line ${line}: "${c}" after a closing quote; quote the whole cell, doubling quotes inside`,
      );
    }
  }
  if (cell !== '' || record.length > 0 || quoted) endRecord();
  return records;
}

/** A CSV file as named columns of text cells (header names lower-cased). */
export function parseCsvColumns(text: string): Map<string, string[]> {
  const [header = [], ...rows] = parseCsvRecords(text);
  const names = header.map((name) => name.toLowerCase());
  const columns = new Map<string, string[]>(names.map((name) => [name, []]));
  for (const cells of rows) {
    names.forEach((name, j) => {
      columns.get(name)!.push(cells[j] ?? '');
    });
  }
  return columns;
}

const isMissingCell = (cell: string | undefined): boolean =>
  cell === undefined || cell === '' || /^(nan|na|null)$/i.test(cell);

/** A numeric CSV cell: empty, "NaN", "NA" or "null" -> NaN. */
export const csvNumber = (cell: string | undefined): number =>
  isMissingCell(cell) ? Number.NaN : Number(cell);

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
  // Empty, NaN and NA are missing values; anything else that is no number is a broken file.
  const badSst = sst.findIndex((cell) => Number.isNaN(csvNumber(cell)) && !isMissingCell(cell));
  if (badSst >= 0) {
    throw new InputFormatError(`CSV row ${badSst + 2}: sst "${sst[badSst]}" is not a number`);
  }
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
