import { extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputFormatError } from '@reefguard/core';
import type { ObservationSource } from './observation.js';

/** A file read as text cells, whatever its format, so both formats validate the same way. */
export interface ObservationTable {
  readonly path: string;
  readonly format: 'csv' | 'parquet';
  readonly source: ObservationSource;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** Index of a column by name (or the first of several spellings), case-insensitive; -1 when absent. */
  column(name: string | readonly string[]): number;
}

const GBR_BLEACH_COLUMN = /^bleach_(\d{4})$/i;

/** Columns only the GCBD survey format has. */
const GCBD_MARKER_COLUMNS = ['average_bleaching', 'latitude_degrees', 'tsa_dhw', 'date2'] as const;

/** Spellings of the GBR position columns (the shipped tables use lon/lat and LONG/LAT). */
export const LON_COLUMNS = ['lon', 'long', 'longitude'] as const;
export const LAT_COLUMNS = ['lat', 'latitude'] as const;

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function readerSql(path: string, format: 'csv' | 'parquet'): string {
  return format === 'csv'
    ? `read_csv(${sqlString(path)}, header = true, all_varchar = true)`
    : `read_parquet(${sqlString(path)})`;
}

/** Which format a file is in, from its column names; throws naming what is missing. */
export function detectSource(path: string, columns: readonly string[]): ObservationSource {
  const lower = new Set(columns.map((c) => c.toLowerCase()));
  if (columns.some((c) => GBR_BLEACH_COLUMN.test(c))) {
    const hasPosition =
      LON_COLUMNS.some((c) => lower.has(c)) && LAT_COLUMNS.some((c) => lower.has(c));
    if (!lower.has('pixel_id') && !hasPosition) {
      throw new InputFormatError(
        `${path}: a GBR aerial file needs PIXEL_ID or lon and lat columns next to bleach_YYYY`,
      );
    }
    return 'gbr-aerial';
  }
  // A GCBD file is recognised by any of its own columns, so one without the label column is
  // refused naming that column (parseGcbd) rather than as "not an observation file".
  if (GCBD_MARKER_COLUMNS.some((c) => lower.has(c))) return 'gcbd';
  throw new InputFormatError(
    `${path}: not an observation file: expected bleach_YYYY columns (GBR aerial) or Average_Bleaching (GCBD survey rows); found ${columns.join(', ')}`,
  );
}

/** The year of a `bleach_YYYY` column, or null for any other column. */
export function bleachColumnYear(column: string): number | null {
  const match = GBR_BLEACH_COLUMN.exec(column);
  return match ? Number(match[1]) : null;
}

/**
 * Reads a CSV or Parquet observation file with DuckDB, every cell as text in file order.
 * Throws InputFormatError for an unreadable, truncated or unrecognised file.
 */
export async function readObservationTable(
  connection: DuckDBConnection,
  path: string,
): Promise<ObservationTable> {
  // DuckDB reads gzip-compressed CSV by its extension, as archives ship survey tables.
  const name = path.toLowerCase();
  const format = /\.csv(\.gz)?$/.test(name) ? 'csv' : name.endsWith('.parquet') ? 'parquet' : null;
  if (format === null) {
    throw new InputFormatError(
      `${path}: observation files are .csv, .csv.gz or .parquet (found ${extname(path) || 'no extension'})`,
    );
  }
  const from = readerSql(path, format);
  try {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
    const raw = described.getRowObjectsJS().map((row) => String(row.column_name));
    // Names as a spreadsheet may save them: a byte-order mark or padding around a header.
    const columns = raw.map((c) => c.replace(/^\uFEFF/, '').trim());
    const source = detectSource(path, columns);
    const select = raw.map((c) => `CAST("${c.replaceAll('"', '""')}" AS VARCHAR)`).join(', ');
    const reader = await connection.runAndReadAll(`SELECT ${select} FROM ${from}`);
    const rows = reader.getRowsJS() as (string | null)[][];
    const byName = new Map(columns.map((c, i) => [c.toLowerCase(), i]));
    return {
      path,
      format,
      source,
      columns,
      rows,
      column: (name) => {
        for (const spelling of typeof name === 'string' ? [name] : name) {
          const index = byName.get(spelling.toLowerCase());
          if (index !== undefined) return index;
        }
        return -1;
      },
    };
  } catch (cause) {
    if (cause instanceof InputFormatError) throw cause;
    throw new InputFormatError(`${path}: cannot read it as ${format}: ${String(cause)}`, { cause });
  }
}
