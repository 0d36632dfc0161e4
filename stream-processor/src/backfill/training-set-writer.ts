import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { chipLength, TRAINING_SET_FILES } from '@reefguard/core';
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  makeVector,
  Schema,
  Table,
  tableToIPC,
} from 'apache-arrow';
import type { QuarantinedRow } from './observation.js';
import { sqlString } from './observation-file.js';
import type { TrainingRows } from './training-rows.js';

/** Bad rows next to the training set, with their reasons. */
export const QUARANTINE_FILE = 'quarantine.parquet';

async function appendRows(connection: DuckDBConnection, set: TrainingRows): Promise<void> {
  const featureColumns = set.featureNames.map((name) => `"${name}" DOUBLE`).join(', ');
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE training_rows (row_id INTEGER, site_id VARCHAR, event VARCHAR,
     source VARCHAR, as_of VARCHAR, lat DOUBLE, lon DOUBLE, label INTEGER, severity DOUBLE,
     ${featureColumns})`,
  );
  const appender = await connection.createAppender('training_rows');
  for (const row of set.rows) {
    appender.appendInteger(row.rowId);
    appender.appendVarchar(row.siteId);
    appender.appendVarchar(row.event);
    appender.appendVarchar(row.source);
    appender.appendVarchar(row.asOf);
    appender.appendDouble(row.lat);
    appender.appendDouble(row.lon);
    appender.appendInteger(row.label);
    appender.appendDouble(row.severity);
    for (const value of row.values) {
      if (Number.isNaN(value)) appender.appendNull();
      else appender.appendDouble(value);
    }
    appender.endRow();
  }
  appender.closeSync();
}

/** Writes `training-set.parquet` (DuckDB COPY, zstd) in row_id order; returns its path. */
export async function writeTrainingTable(
  connection: DuckDBConnection,
  set: TrainingRows,
  outDir: string,
): Promise<string> {
  await appendRows(connection, set);
  const path = join(outDir, TRAINING_SET_FILES.table);
  const partial = `${path}.partial`;
  const features = set.featureNames.map((name) => `"${name}"`).join(', ');
  await connection.run(
    `COPY (SELECT row_id, site_id, event, source, CAST(as_of AS DATE) AS as_of, lat, lon, label,
       severity, ${features} FROM training_rows ORDER BY row_id)
     TO ${sqlString(partial)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  await rename(partial, path);
  return path;
}

/** Writes `chips.arrow`: Arrow IPC file, `row_id` int32 and `chip` fixed-size float32 lists. */
export async function writeChips(set: TrainingRows, outDir: string): Promise<string> {
  const size = chipLength(set.chipSpec);
  const chipType = new FixedSizeList(size, new Field('item', new Float32(), false));
  const chipData = makeData({
    type: chipType,
    length: set.rows.length,
    nullCount: 0,
    child: makeData({ type: new Float32(), length: set.chips.length, data: set.chips }),
  });
  const rowIds = Int32Array.from(set.rows, (row) => row.rowId);
  const metadata = new Map([
    ['channels', JSON.stringify(set.chipSpec.channels)],
    ['size_px', String(set.chipSpec.sizePx)],
    ['pixel_deg', String(set.chipSpec.pixelDeg)],
    ['layout', 'channels x size x size, row-major, row 0 north, site at [size/2, size/2]'],
  ]);
  const schema = new Schema(
    [new Field('row_id', new Int32(), false), new Field('chip', chipType, false)],
    metadata,
  );
  const table = new Table(schema, {
    row_id: makeVector(rowIds),
    chip: makeVector(chipData),
  });
  const path = join(outDir, TRAINING_SET_FILES.chips);
  await writeFile(`${path}.partial`, tableToIPC(table, 'file'));
  await rename(`${path}.partial`, path);
  return path;
}

/** Writes `quarantine.parquet`: path, row, column, reason, value of every rejected row. */
export async function writeQuarantine(
  connection: DuckDBConnection,
  quarantined: readonly QuarantinedRow[],
  outDir: string,
): Promise<string> {
  await connection.run(
    'CREATE OR REPLACE TEMP TABLE quarantine (path VARCHAR, "row" INTEGER, "column" VARCHAR, reason VARCHAR, value VARCHAR)',
  );
  const appender = await connection.createAppender('quarantine');
  for (const q of quarantined) {
    appender.appendVarchar(q.path);
    appender.appendInteger(q.row);
    appender.appendVarchar(q.column);
    appender.appendVarchar(q.reason);
    if (q.value === null) appender.appendNull();
    else appender.appendVarchar(q.value);
    appender.endRow();
  }
  appender.closeSync();
  const path = join(outDir, QUARANTINE_FILE);
  await connection.run(
    `COPY (SELECT * FROM quarantine ORDER BY path, "row", "column") TO ${sqlString(path)} (FORMAT parquet)`,
  );
  return path;
}

/** sha256 of the data files' contents, in the given order: the training set's data version. */
export async function hashContents(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(await readFile(path));
  return hash.digest('hex');
}
