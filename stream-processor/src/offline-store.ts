import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
import {
  type BuoyReading,
  InputFormatError,
  type SatelliteObservation,
  STREAM_DAILY_FEATURES,
} from '@reefguard/core';
import { appendRecordBatch, featuresRecordBatch, readingsRecordBatch } from './offline-arrow.js';
import type { QuarantinedItem } from './quarantine.js';

/**
 * The offline store: one DuckDB file per processor instance (DuckDB has one writer per file).
 * Every row carries its event time and its ingestion time (UTC TIMESTAMP), so "what did we
 * know about day D at time T" is one query ({@link OfflineStore.featuresAsOf}); rows are only
 * ever appended. Readings are keyed by their id: a redelivered batch inserts nothing new.
 */

/** The daily features the processor computes, one DOUBLE column each (core's one list). */
export const STREAM_FEATURES = STREAM_DAILY_FEATURES;

export type StreamFeature = (typeof STREAM_FEATURES)[number];

export interface StoredReading {
  reading: BuoyReading;
  observedMs: number;
  ingestedMs: number;
}

export interface LateReading extends StoredReading {
  watermarkMs: number;
  reason: string;
}

export interface FeatureRow {
  siteId: string;
  /** Day since epoch the features are as of. */
  day: number;
  ingestedMs: number;
  values: Partial<Record<StreamFeature, number | null>>;
}

/** One variable of a gridded product: values (time, lat, lon) row-major, NaN = missing. */
export interface GridLayer {
  product: string;
  variable: string;
  sourceUri: string;
  days: Int32Array;
  lat: Float64Array;
  lon: Float64Array;
  values: Float64Array;
}

/** Cell centres and their DHW chip channels, aligned. */
export interface GridDhwPoints {
  latDeg: Float64Array;
  lonDeg: Float64Array;
  dhwMaxYtd: Float64Array;
  dhwPrevYearMax: Float64Array;
}

/** Cell centres and one layer's values, aligned. */
export interface GridLayerPoints {
  latDeg: Float64Array;
  lonDeg: Float64Array;
  values: Float64Array;
}

export interface OfflineStore {
  /**
   * Appends readings. `fresh` ones were never applied before (the event state says so) and
   * are appended as they are; `repeated` ones may already be stored by a process that died
   * before its ack, so only those whose id is missing are inserted. Returns rows added.
   */
  appendReadings(
    fresh: readonly StoredReading[],
    repeated?: readonly StoredReading[],
  ): Promise<number>;
  appendLate(rows: readonly LateReading[]): Promise<void>;
  /** A processor batch's readings, quarantine, late readings and features in one commit. */
  appendBatch(batch: {
    fresh: readonly StoredReading[];
    repeated: readonly StoredReading[];
    quarantined: readonly QuarantinedItem[];
    late: readonly LateReading[];
    features: readonly FeatureRow[];
  }): Promise<void>;
  appendQuarantine(rows: readonly QuarantinedItem[]): Promise<void>;
  appendFeatures(rows: readonly FeatureRow[]): Promise<void>;
  /** Satellite values sampled at sites; a repeated id (re-ingested file) is ignored. */
  appendSatellite(rows: readonly SatelliteObservation[], ingestedMs: number): Promise<void>;
  /**
   * Gridded satellite layers kept for chip building (CRW DHW, SST anomaly ...): every finite
   * cell of every day. Re-ingesting a file replaces its cells (same product, variable, days and
   * extent) instead of doubling them. Returns the cells written.
   */
  appendGrid(layer: GridLayer, ingestedMs: number): Promise<number>;
  /**
   * Per grid cell, the year-to-date maximum DHW up to `day` and the previous calendar year's
   * maximum (the chip channels `dhw_max_ytd`, `dhw_prev_year_max`), from `product`'s `dhw`
   * layer as known at `knownAtMs` (default: now).
   */
  gridDhwChipPoints(product: string, day: number, knownAtMs?: number): Promise<GridDhwPoints>;
  /**
   * Per grid cell, the latest value of `product`'s `variable` layer in the `windowDays` days up
   * to `day`, as known at `knownAtMs` (default: now): points for core's `createChipRaster`
   * (e.g. Sentinel-2 turbidity, whose scenes come every few days).
   */
  gridLayerPoints(
    product: string,
    variable: string,
    day: number,
    options?: { windowDays?: number; knownAtMs?: number },
  ): Promise<GridLayerPoints>;
  /** The features of `siteId` for day `day` as known at `knownAtMs`, or null. */
  featuresAsOf(
    siteId: string,
    day: number,
    knownAtMs: number,
  ): Promise<Record<StreamFeature, number | null> | null>;
  /** Runs a read-only query; rows as plain JSON-like objects. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /**
   * Exports the daily features as known at `knownAtMs` (the latest row per site and day
   * ingested by then) to Parquet, ordered by site and day. The data version is a sha256 of the
   * rows' content (not of the file's bytes, which depend on the writer's version), stored in
   * the file's key-value metadata as `data_version`: the same rows give the same version
   * whenever and in whatever order they were ingested; any changed value changes it.
   */
  exportFeatureSet(
    path: string,
    options?: { knownAtMs?: number },
  ): Promise<{ path: string; rows: number; dataVersion: string }>;
  /** Writes a table or query to Parquet; returns the file's sha256, the data version. */
  exportParquet(tableOrQuery: string, path: string): Promise<string>;
  close(): Promise<void>;
}

const featureColumns = STREAM_FEATURES.map((f) => `${f} DOUBLE`).join(', ');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  id VARCHAR, site_id VARCHAR, station_id VARCHAR, parameter VARCHAR,
  value DOUBLE, unit VARCHAR, source VARCHAR, observed_at TIMESTAMP, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS late_readings (
  id VARCHAR PRIMARY KEY, site_id VARCHAR, parameter VARCHAR, value DOUBLE,
  observed_at TIMESTAMP, ingested_at TIMESTAMP, watermark TIMESTAMP, reason VARCHAR);
CREATE TABLE IF NOT EXISTS quarantine (
  source VARCHAR, reason VARCHAR, detail VARCHAR, payload VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS daily_features (
  site_id VARCHAR, as_of_day DATE, ingested_at TIMESTAMP, ${featureColumns});
CREATE TABLE IF NOT EXISTS satellite_samples (
  id VARCHAR PRIMARY KEY, product VARCHAR, variable VARCHAR, site_id VARCHAR, lat DOUBLE,
  lon DOUBLE, value DOUBLE, unit VARCHAR, quality DOUBLE, source_uri VARCHAR,
  observed_at TIMESTAMP, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging_satellite AS SELECT * FROM satellite_samples LIMIT 0;
CREATE TABLE IF NOT EXISTS grid_layers (
  product VARCHAR, variable VARCHAR, day DATE, lat DOUBLE, lon DOUBLE, value DOUBLE,
  source_uri VARCHAR, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging_readings (
  id VARCHAR, site_id VARCHAR, station_id VARCHAR, parameter VARCHAR, value DOUBLE,
  unit VARCHAR, source VARCHAR, observed_ms BIGINT, ingested_ms BIGINT);
`;

/**
 * How a batch's readings and feature rows reach DuckDB: `arrow` builds an Apache Arrow record
 * batch and appends it as whole-column DuckDB data chunks (`offline-arrow.ts`); `rows` calls the
 * appender once per value.
 */
export type AppendPath = 'arrow' | 'rows';

export interface OfflineStoreOptions {
  appendPath?: AppendPath;
  /**
   * The statement sequence before one appender per table and prepared transaction statements
   * were kept for the store's life: a new appender per call and BEGIN / COMMIT parsed and
   * planned on every batch; on the store thread, batches sent as objects, not packed. Same
   * rows; kept as `benchmarks/stream-offline-append.ts`'s baseline.
   */
  legacyStatements?: boolean;
  /**
   * DuckDB's worker threads (default DuckDB's own, one per core). A batch commit is a handful of
   * tiny statements, and handing each one's tasks to a worker pool costs more CPU (queue, wake-
   * ups, locks) than running it: the store on its own thread runs DuckDB on that thread alone.
   */
  threads?: number;
}

/** DuckDB worker threads of the store behind {@link openOfflineStoreThread}. */
export const OFFLINE_THREAD_DUCKDB_THREADS = 1;

export const DEFAULT_APPEND_PATH: AppendPath = 'rows';

/** Opens (creating) the offline store at `path` (`:memory:` for a throwaway one). */
export async function openOfflineStore(
  path: string,
  options: OfflineStoreOptions = {},
): Promise<OfflineStore> {
  const arrow = (options.appendPath ?? DEFAULT_APPEND_PATH) === 'arrow';
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`offline store threads: a positive integer, got ${threads}`);
  }
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  try {
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    instance = await DuckDBInstance.create(
      path,
      threads === undefined ? undefined : { threads: String(threads) },
    );
    conn = await instance.connect();
  } catch (cause) {
    throw new InputFormatError(
      `cannot open the offline store ${path}; another process may hold it (one writer per file)`,
      { cause },
    );
  }
  await conn.run(SCHEMA);
  for (const f of STREAM_FEATURES) {
    await conn.run(`ALTER TABLE daily_features ADD COLUMN IF NOT EXISTS ${f} DOUBLE`);
  }
  // One statement at a time on the one connection: callers may overlap, DuckDB may not.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  // Each statement DuckDB runs (an appender's flush is an INSERT planned like any other) costs
  // a fixed ~0.2-1 ms of CPU whatever its row count, and a live batch is small (~60 readings,
  // ~55 feature rows): so the per-batch work is kept to what cannot be avoided, the
  // transaction's own statements prepared once and one long-lived appender per table.
  const reuse = !options.legacyStatements;
  const transaction = reuse
    ? {
        begin: await conn.prepare('BEGIN TRANSACTION'),
        commit: await conn.prepare('COMMIT'),
        rollback: await conn.prepare('ROLLBACK'),
      }
    : null;
  const appenders = new Map<string, DuckDBAppender>();
  /** Runs `fill` on `table`'s appender and flushes it (into the open transaction, if any). */
  const append = async (table: string, fill: (appender: DuckDBAppender) => void) => {
    let appender = appenders.get(table);
    if (!appender) {
      appender = await conn.createAppender(table);
      if (reuse) appenders.set(table, appender);
    }
    try {
      fill(appender);
      if (reuse) appender.flushSync();
      else appender.closeSync();
    } catch (e) {
      // Drop what this call buffered (the transaction is rolled back anyway) and start the
      // next call on a fresh appender.
      appenders.delete(table);
      try {
        appender.clear();
        appender.closeSync();
      } catch {
        // The error that matters is the one thrown below.
      }
      throw e;
    }
  };
  const begin = () => (transaction ? transaction.begin.run() : conn.run('BEGIN TRANSACTION'));
  const commit = () => (transaction ? transaction.commit.run() : conn.run('COMMIT'));
  const rollback = () => (transaction ? transaction.rollback.run() : conn.run('ROLLBACK'));

  const insertReadings = async (
    fresh: readonly StoredReading[],
    repeated: readonly StoredReading[],
  ): Promise<number> => {
    let added = 0;
    if (fresh.length > 0) {
      await append('readings', (appender) => {
        if (arrow) appendRecordBatch(appender, readingsRecordBatch(fresh));
        else for (const row of fresh) appendReading(appender, row, true);
      });
      added += fresh.length;
    }
    if (repeated.length > 0) {
      await append('staging_readings', (appender) => {
        for (const row of repeated) appendReading(appender, row, false);
      });
      const result = await conn.run(
        `INSERT INTO readings
         SELECT DISTINCT ON (s.id) s.id, s.site_id, s.station_id, s.parameter, s.value, s.unit,
           s.source, epoch_ms(s.observed_ms), epoch_ms(s.ingested_ms)
         FROM staging_readings s ANTI JOIN readings r ON r.id = s.id`,
      );
      await conn.run('DELETE FROM staging_readings');
      added += Number(result.rowsChanged);
    }
    return added;
  };
  const insertLate = async (rows: readonly LateReading[]) => {
    if (rows.length === 0) return;
    const values = rows
      .map(
        (l) =>
          `(${sql(l.reading.id)}, ${sql(l.reading.site_id)}, ${sql(l.reading.parameter)}, ${l.reading.value}, epoch_ms(${l.observedMs}), epoch_ms(${l.ingestedMs}), epoch_ms(${l.watermarkMs}), ${sql(l.reason)})`,
      )
      .join(',');
    await conn.run(`INSERT OR IGNORE INTO late_readings VALUES ${values}`);
  };
  const insertQuarantine = async (rows: readonly QuarantinedItem[]) => {
    if (rows.length === 0) return;
    await append('quarantine', (appender) => {
      for (const q of rows) {
        appender.appendVarchar(q.source);
        appender.appendVarchar(q.reason);
        appender.appendVarchar(q.detail);
        appender.appendVarchar(q.payload);
        appender.appendTimestamp(
          new DuckDBTimestampValue(BigInt(Date.parse(q.quarantinedAt)) * 1000n),
        );
        appender.endRow();
      }
    });
  };
  const insertFeatures = async (rows: readonly FeatureRow[]) => {
    if (rows.length === 0) return;
    await append('daily_features', (appender) => {
      if (arrow) {
        appendRecordBatch(appender, featuresRecordBatch(rows, STREAM_FEATURES));
        return;
      }
      for (const row of rows) {
        appender.appendVarchar(row.siteId);
        appender.appendDate(new DuckDBDateValue(row.day));
        appender.appendTimestamp(new DuckDBTimestampValue(BigInt(row.ingestedMs) * 1000n));
        for (const f of STREAM_FEATURES) {
          const v = row.values[f];
          if (v === null || v === undefined) appender.appendNull();
          else appender.appendDouble(v);
        }
        appender.endRow();
      }
    });
  };

  const store: OfflineStore = {
    appendBatch: (batch) =>
      // One transaction, so one WAL sync per batch and all or nothing of it after a crash.
      serial(async () => {
        await begin();
        try {
          await insertReadings(batch.fresh, batch.repeated);
          await insertQuarantine(batch.quarantined);
          await insertLate(batch.late);
          await insertFeatures(batch.features);
          await commit();
        } catch (e) {
          await rollback().catch(() => undefined);
          throw e;
        }
      }),
    appendReadings: (fresh, repeated = []) => serial(() => insertReadings(fresh, repeated)),
    appendLate: (rows) => serial(() => insertLate(rows)),
    appendQuarantine: (rows) => serial(() => insertQuarantine(rows)),
    appendFeatures: (rows) => serial(() => insertFeatures(rows)),
    appendSatellite: (rows, ingestedMs) =>
      serial(async () => {
        if (rows.length === 0) return;
        const appender = await conn.createAppender('staging_satellite');
        for (const o of rows) {
          appender.appendVarchar(o.id);
          appender.appendVarchar(o.product);
          appender.appendVarchar(o.variable);
          appender.appendVarchar(o.site_id);
          appender.appendDouble(o.lat);
          appender.appendDouble(o.lon);
          appender.appendDouble(o.value);
          appender.appendVarchar(o.unit);
          if (o.quality === undefined) appender.appendNull();
          else appender.appendDouble(o.quality);
          appender.appendVarchar(o.source_uri);
          appender.appendTimestamp(
            new DuckDBTimestampValue(BigInt(Date.parse(o.observed_at)) * 1000n),
          );
          appender.appendTimestamp(new DuckDBTimestampValue(BigInt(ingestedMs) * 1000n));
          appender.endRow();
        }
        appender.closeSync();
        // A re-ingested file repeats its ids: keep the first value stored.
        await conn.run('INSERT OR IGNORE INTO satellite_samples SELECT * FROM staging_satellite');
        await conn.run('DELETE FROM staging_satellite');
      }),
    appendGrid: (layer, ingestedMs) =>
      serial(async () => {
        const { days, lat, lon, values } = layer;
        const pixels = lat.length * lon.length;
        if (values.length !== days.length * pixels) {
          throw new RangeError(
            `grid ${layer.variable}: ${values.length} values for ${days.length} x ${lat.length} x ${lon.length}`,
          );
        }
        if (days.length === 0 || pixels === 0) return 0;
        const range = (a: Float64Array | Int32Array) => [Math.min(...a), Math.max(...a)] as const;
        const [d0, d1] = range(days);
        const [la0, la1] = range(lat);
        const [lo0, lo1] = range(lon);
        await conn.run('BEGIN TRANSACTION');
        try {
          await conn.run(
            `DELETE FROM grid_layers WHERE product = ${sql(layer.product)} AND variable = ${sql(layer.variable)}
             AND day BETWEEN DATE '1970-01-01' + ${d0} AND DATE '1970-01-01' + ${d1}
             AND lat BETWEEN ${la0} AND ${la1} AND lon BETWEEN ${lo0} AND ${lo1}`,
          );
          const appender = await conn.createAppender('grid_layers');
          const ingested = new DuckDBTimestampValue(BigInt(ingestedMs) * 1000n);
          let written = 0;
          for (let t = 0; t < days.length; t++) {
            const date = new DuckDBDateValue(days[t] as number);
            for (let i = 0; i < lat.length; i++) {
              for (let j = 0; j < lon.length; j++) {
                const v = values[t * pixels + i * lon.length + j] as number;
                if (!Number.isFinite(v)) continue;
                appender.appendVarchar(layer.product);
                appender.appendVarchar(layer.variable);
                appender.appendDate(date);
                appender.appendDouble(lat[i] as number);
                appender.appendDouble(lon[j] as number);
                appender.appendDouble(v);
                appender.appendVarchar(layer.sourceUri);
                appender.appendTimestamp(ingested);
                appender.endRow();
                written += 1;
              }
            }
          }
          appender.closeSync();
          await conn.run('COMMIT');
          return written;
        } catch (e) {
          await conn.run('ROLLBACK');
          throw e;
        }
      }),
    gridDhwChipPoints: (product, day, knownAtMs = Date.now()) =>
      serial(async () => {
        const year = new Date(day * 86_400_000).getUTCFullYear();
        const reader = await conn.runAndReadAll(
          `SELECT lat, lon,
             max(value) FILTER (WHERE day >= make_date(${year}, 1, 1)) AS ytd,
             max(value) FILTER (WHERE day < make_date(${year}, 1, 1)) AS prev
           FROM grid_layers
           WHERE product = ${sql(product)} AND variable = 'dhw'
             AND day BETWEEN make_date(${year - 1}, 1, 1) AND DATE '1970-01-01' + ${day}
             AND ingested_at <= epoch_ms(${knownAtMs})
           GROUP BY lat, lon ORDER BY lat DESC, lon`,
        );
        const rows = reader.getRowObjectsJson();
        const column = (key: string) =>
          Float64Array.from(rows, (r) => (r[key] === null ? Number.NaN : Number(r[key])));
        return {
          latDeg: column('lat'),
          lonDeg: column('lon'),
          dhwMaxYtd: column('ytd'),
          dhwPrevYearMax: column('prev'),
        };
      }),
    gridLayerPoints: (product, variable, day, options = {}) =>
      serial(async () => {
        const windowDays = options.windowDays ?? 1;
        const knownAt = options.knownAtMs ?? Date.now();
        const reader = await conn.runAndReadAll(
          `SELECT lat, lon, arg_max(value, day) AS value FROM grid_layers
           WHERE product = ${sql(product)} AND variable = ${sql(variable)}
             AND day BETWEEN DATE '1970-01-01' + ${day - windowDays + 1} AND DATE '1970-01-01' + ${day}
             AND ingested_at <= epoch_ms(${knownAt})
           GROUP BY lat, lon ORDER BY lat DESC, lon`,
        );
        const rows = reader.getRowObjectsJson();
        const column = (key: string) => Float64Array.from(rows, (r) => Number(r[key]));
        return { latDeg: column('lat'), lonDeg: column('lon'), values: column('value') };
      }),
    featuresAsOf: (siteId, day, knownAtMs) =>
      serial(async () => {
        const reader = await conn.runAndReadAll(
          `SELECT ${STREAM_FEATURES.join(', ')} FROM daily_features
           WHERE site_id = ${sql(siteId)} AND as_of_day = DATE '1970-01-01' + ${day}
             AND ingested_at <= epoch_ms(${knownAtMs})
           ORDER BY ingested_at DESC LIMIT 1`,
        );
        const row = reader.getRowObjectsJson()[0];
        if (!row) return null;
        const values = {} as Record<StreamFeature, number | null>;
        for (const f of STREAM_FEATURES) {
          const v = row[f];
          values[f] = v === null || v === undefined ? null : Number(v);
        }
        return values;
      }),
    query: (text) =>
      serial(async () => {
        const reader = await conn.runAndReadAll(text);
        return reader.getRowObjectsJson() as Record<string, unknown>[];
      }),
    exportFeatureSet: (path, options = {}) =>
      serial(async () => {
        const knownAt = options.knownAtMs ?? Date.now();
        const columns = STREAM_FEATURES.join(', ');
        const rows = `SELECT site_id, as_of_day, ${columns} FROM (
            SELECT *, row_number() OVER (PARTITION BY site_id, as_of_day ORDER BY ingested_at DESC) AS rn
            FROM daily_features WHERE ingested_at <= epoch_ms(${knownAt}))
          WHERE rn = 1 ORDER BY site_id, as_of_day`;
        const text = ['site_id', 'CAST(as_of_day AS VARCHAR)', ...STREAM_FEATURES]
          .map((c) => `coalesce(CAST(${c} AS VARCHAR), 'null')`)
          .join(", '|', ");
        const reader = await conn.runAndReadAll(
          `SELECT count(*)::INT AS n, sha256(coalesce(string_agg(concat(${text}), chr(10) ORDER BY site_id, as_of_day), '')) AS version FROM (${rows})`,
        );
        const summary = reader.getRowObjectsJson()[0] as { n: number; version: string };
        await mkdir(dirname(path), { recursive: true });
        await conn.run(
          `COPY (${rows}) TO ${sql(path)} (FORMAT parquet, KV_METADATA {data_version: ${sql(summary.version)}, feature_columns: ${sql(columns)}})`,
        );
        return { path, rows: Number(summary.n), dataVersion: summary.version };
      }),
    exportParquet: (tableOrQuery, path) =>
      serial(async () => {
        const source = /\s/.test(tableOrQuery.trim()) ? `(${tableOrQuery})` : tableOrQuery;
        await conn.run(`COPY ${source} TO ${sql(path)} (FORMAT parquet)`);
        return createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      }),
    close: () =>
      serial(async () => {
        for (const appender of appenders.values()) appender.closeSync();
        appenders.clear();
        conn.closeSync();
        instance.closeSync();
      }),
  };
  return store;
}

function appendReading(appender: DuckDBAppender, row: StoredReading, timestamps: boolean) {
  const r = row.reading;
  appender.appendVarchar(r.id);
  appender.appendVarchar(r.site_id);
  appender.appendVarchar(r.station_id);
  appender.appendVarchar(r.parameter);
  appender.appendDouble(r.value);
  appender.appendVarchar(r.unit);
  appender.appendVarchar(r.source);
  if (timestamps) {
    appender.appendTimestamp(new DuckDBTimestampValue(BigInt(row.observedMs) * 1000n));
    appender.appendTimestamp(new DuckDBTimestampValue(BigInt(row.ingestedMs) * 1000n));
  } else {
    appender.appendBigInt(BigInt(row.observedMs));
    appender.appendBigInt(BigInt(row.ingestedMs));
  }
  appender.endRow();
}

/** A SQL string literal. */
function sql(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
