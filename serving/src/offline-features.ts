import { copyFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  dayEndIso,
  FEATURE_SET_VERSION,
  STREAM_DAILY_FEATURES,
  TransportError,
} from '@reefguard/core';
import type { OnlineFeatures } from './feature-store.js';
import { FeaturesUnavailableError } from './predictor.js';

/**
 * Past days of the risk map come from the offline store: the DuckDB files the stream
 * processor appends to (`stream-<instance>.duckdb`, table `daily_features`, one row per site,
 * day and computation, with its ingestion time). A day is answered with the features "as
 * known at the end of that day": per site the latest as-of day <= D among rows ingested by
 * D 24:00 UTC, so a later correction or replay never rewrites what the map showed then.
 *
 * DuckDB lets one process write a file and no one else open it meanwhile, and a running
 * stream processor must never find its file held by serving: files are attached read-only
 * only for the one query and closed after it; a file locked by its writer is read from a
 * snapshot copy (with its WAL) instead.
 */
export interface OfflineFeatureReader {
  /** Feature vectors of `siteIds` for UTC day `day` (days since epoch), as known at `knownAtMs`. */
  readDay(siteIds: readonly string[], day: number, knownAtMs: number): Promise<OnlineFeatures[]>;
  close(): Promise<void>;
}

export interface OfflineFeatureOptions {
  /** Folder holding the stream processor's `stream-*.duckdb` files (its STATE_DIR). */
  dir: string;
  /** Days kept in memory; a past day as known at its end never changes. */
  cacheDays?: number;
}

/** The columns of `daily_features` that are features (the stream processor writes them). */
export const OFFLINE_FEATURES = STREAM_DAILY_FEATURES;

/** Rows this many days before D are still read, so a site with old features is "stale", not "missing". */
const LOOKBACK_DAYS = 7;
const OFFLINE_FILE = /^stream-.+\.duckdb$/;

type DayFeatures = Map<string, NonNullable<OnlineFeatures>>;

const sql = (value: string) => `'${value.replaceAll("'", "''")}'`;

export function createOfflineFeatureReader(options: OfflineFeatureOptions): OfflineFeatureReader {
  const cacheDays = options.cacheDays ?? 16;
  const cache = new Map<string, Promise<DayFeatures>>();

  async function files(): Promise<string[]> {
    const names = await readdir(options.dir).catch(() => [] as string[]);
    const found = names.filter((name) => OFFLINE_FILE.test(name)).sort();
    if (found.length === 0) {
      throw new FeaturesUnavailableError(
        `no offline store under ${options.dir} (stream-*.duckdb): past days come from the stream processor's DuckDB files; run ./reefguard stream-processor with the same REEFGUARD_STATE_DIR or set REEFGUARD_OFFLINE_STORE_DIR`,
        'missing',
      );
    }
    return found.map((name) => join(options.dir, name));
  }

  async function attach(
    conn: DuckDBConnection,
    path: string,
    alias: string,
    scratch: () => Promise<string>,
  ) {
    try {
      await conn.run(`ATTACH ${sql(path)} AS ${alias} (READ_ONLY)`);
    } catch (error) {
      if (!/lock/i.test(String(error))) {
        throw new TransportError(`cannot read the offline store ${path}`, { cause: error });
      }
      // Held by a running stream processor: read a copy of the file and its write-ahead log.
      const copy = join(await scratch(), `${alias}.duckdb`);
      await copyFile(path, copy);
      const wal = await stat(`${path}.wal`).catch(() => null);
      if (wal) await copyFile(`${path}.wal`, `${copy}.wal`);
      await conn.run(`ATTACH ${sql(copy)} AS ${alias} (READ_ONLY)`).catch((cause: unknown) => {
        throw new TransportError(`cannot read a snapshot of the offline store ${path}`, { cause });
      });
    }
  }

  async function loadDay(day: number, knownAtMs: number): Promise<DayFeatures> {
    const paths = await files();
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    let scratchDir: string | null = null;
    const scratch = async () => {
      scratchDir ??= await mkdtemp(join(tmpdir(), 'reefguard-offline-'));
      return scratchDir;
    };
    try {
      const tables: string[] = [];
      for (const [i, path] of paths.entries()) {
        await attach(conn, path, `s${i}`, scratch);
        tables.push(`SELECT * FROM s${i}.daily_features`);
      }
      const reader = await conn.runAndReadAll(
        `SELECT site_id, CAST(as_of_day - DATE '1970-01-01' AS INTEGER) AS day,
           epoch_ms(ingested_at) AS ingested_ms, ${OFFLINE_FEATURES.join(', ')}
         FROM (${tables.join(' UNION ALL ')})
         WHERE as_of_day BETWEEN DATE '1970-01-01' + ${day - LOOKBACK_DAYS} AND DATE '1970-01-01' + ${day}
           AND ingested_at <= epoch_ms(${knownAtMs})
         QUALIFY row_number() OVER (PARTITION BY site_id ORDER BY as_of_day DESC, ingested_at DESC) = 1`,
      );
      const out: DayFeatures = new Map();
      for (const row of reader.getRowObjectsJson()) {
        const values: Record<string, number | null> = {};
        for (const name of OFFLINE_FEATURES) {
          const value = row[name];
          values[name] = value === null || value === undefined ? null : Number(value);
        }
        const siteId = String(row.site_id);
        out.set(siteId, {
          site_id: siteId,
          as_of: dayEndIso(Number(row.day)),
          computed_at: new Date(Number(row.ingested_ms)).toISOString(),
          feature_set_version: FEATURE_SET_VERSION,
          values,
        });
      }
      return out;
    } catch (error) {
      if (error instanceof FeaturesUnavailableError || error instanceof TransportError) throw error;
      throw new TransportError(`the offline store under ${options.dir} could not be read`, {
        cause: error,
      });
    } finally {
      conn.closeSync();
      instance.closeSync();
      if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
    }
  }

  return {
    async readDay(siteIds, day, knownAtMs) {
      const key = `${day}/${knownAtMs}`;
      let entry = cache.get(key);
      if (!entry) {
        entry = loadDay(day, knownAtMs);
        cache.set(key, entry);
        // A failed read is not remembered: the next request tries again.
        entry.catch(() => cache.delete(key));
        while (cache.size > cacheDays) cache.delete(cache.keys().next().value as string);
      }
      const features = await entry;
      return siteIds.map((id) => features.get(id) ?? null);
    },
    async close() {
      cache.clear();
    },
  };
}
