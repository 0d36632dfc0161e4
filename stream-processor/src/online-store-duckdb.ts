import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FEATURE_SET_VERSION, type FeatureVector, ONLINE_TTL_SECONDS } from '@reefguard/core';
import type { OnlineStore } from './online-store.js';

/**
 * The embedded online store: the same interface and rules as the Redis one (latest vector per
 * site, a write with an older state sequence never replaces a newer one, entries expire
 * `ttlSeconds` after their write) in one DuckDB table, for a single process on a machine
 * without Redis (a laptop demo, an edge box). DuckDB allows one writer process per file, so
 * serving from another process needs Redis.
 */
export interface EmbeddedOnlineStore extends OnlineStore {
  /** Deletes expired entries (reads already ignore them); returns how many. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

export interface DuckDbOnlineStoreOptions {
  /** DuckDB file, or `:memory:`. */
  path: string;
  ttlSeconds?: number;
  now?: () => number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS online_features (
  site_id VARCHAR PRIMARY KEY, state_seq BIGINT, as_of VARCHAR, computed_at VARCHAR,
  feature_set_version VARCHAR, values_json VARCHAR, expires_at_ms BIGINT)`;

export async function openDuckDbOnlineStore(
  options: DuckDbOnlineStoreOptions,
): Promise<EmbeddedOnlineStore> {
  if (options.path !== ':memory:') await mkdir(dirname(options.path), { recursive: true });
  const instance = await DuckDBInstance.create(options.path);
  const conn: DuckDBConnection = await instance.connect();
  await conn.run(SCHEMA);
  const ttlMs = (options.ttlSeconds ?? ONLINE_TTL_SECONDS) * 1000;
  const now = options.now ?? Date.now;
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  const upsert = async (items: readonly { vector: FeatureVector; seq: number }[]) => {
    if (items.length === 0) return 0;
    // One statement: the newest item per site in this call, applied only over an older or
    // expired stored one (the Redis script's rule), all in one transaction.
    const latest = new Map<string, { vector: FeatureVector; seq: number }>();
    for (const item of items) {
      const seen = latest.get(item.vector.site_id);
      if (!seen || item.seq > seen.seq) latest.set(item.vector.site_id, item);
    }
    const expiresAt = now() + ttlMs;
    const nowMs = now();
    const rows = [...latest.values()].map(({ vector, seq }) => {
      const values = Object.fromEntries(
        Object.entries(vector.values).filter(([, v]) => v !== null && v !== undefined),
      );
      return `(${lit(vector.site_id)}, ${seq}, ${lit(vector.as_of)}, ${lit(vector.computed_at)}, ${lit(vector.feature_set_version)}, ${lit(JSON.stringify(values))}, ${expiresAt})`;
    });
    const result = await conn.run(
      `INSERT INTO online_features VALUES ${rows.join(',')}
       ON CONFLICT (site_id) DO UPDATE SET state_seq = excluded.state_seq, as_of = excluded.as_of,
         computed_at = excluded.computed_at, feature_set_version = excluded.feature_set_version,
         values_json = excluded.values_json, expires_at_ms = excluded.expires_at_ms
       WHERE online_features.state_seq < excluded.state_seq OR online_features.expires_at_ms <= ${nowMs}`,
    );
    return Number(result.rowsChanged);
  };
  return {
    write: (vector, seq) => serial(async () => (await upsert([{ vector, seq }])) === 1),
    writeMany: (items) => serial(() => upsert(items)),
    read: (siteId) =>
      serial(async () => {
        const reader = await conn.runAndReadAll(
          `SELECT as_of, computed_at, feature_set_version, values_json FROM online_features
           WHERE site_id = ${lit(siteId)} AND expires_at_ms > ${now()}`,
        );
        const row = reader.getRowObjectsJson()[0];
        if (!row) return null;
        return {
          schema_version: 1,
          site_id: siteId,
          as_of: String(row.as_of),
          computed_at: String(row.computed_at),
          feature_set_version: String(row.feature_set_version ?? FEATURE_SET_VERSION),
          values: JSON.parse(String(row.values_json)) as Record<string, number>,
        };
      }),
    purgeExpired: () =>
      serial(async () => {
        const result = await conn.run(
          `DELETE FROM online_features WHERE expires_at_ms <= ${now()}`,
        );
        return Number(result.rowsChanged);
      }),
    close: () =>
      serial(async () => {
        conn.closeSync();
        instance.closeSync();
      }),
  };
}

const lit = (value: string) => `'${value.replaceAll("'", "''")}'`;
