import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FeatureRow,
  type LateReading,
  type OfflineStore,
  openOfflineStore,
  openOfflineStoreThread,
  packBatch,
  type QuarantinedItem,
  STREAM_FEATURES,
  type StoredReading,
  unpackBatch,
} from '../src/index.js';
import { storedReading } from './offline-rows.js';

const DAY_MS = 86_400_000;
const BASE_MS = Date.parse('2024-03-01T00:00:00Z');

function reading(i: number, ingestedMs: number): StoredReading {
  const siteId = `site-${i % 5}`;
  return storedReading({
    siteId,
    stationId: `${siteId}-buoy`,
    observedMs: BASE_MS + i * 60_000,
    ingestedMs,
    value: 26 + (i % 40) / 8,
  });
}

interface Batch {
  fresh: StoredReading[];
  repeated: StoredReading[];
  quarantined: QuarantinedItem[];
  late: LateReading[];
  features: FeatureRow[];
}

/**
 * Batch `b` of a live-like stream: 12 new readings and a feature row per site; every third
 * batch also redelivers two stored readings and one never stored (twice), with a late
 * reading and a quarantined payload.
 */
function batch(b: number): Batch {
  const ingestedMs = BASE_MS + DAY_MS + b * 1000;
  const fresh = Array.from({ length: 12 }, (_, k) => reading(b * 12 + k, ingestedMs));
  const features = Array.from({ length: 5 }, (_, s) => ({
    siteId: `site-${s}`,
    day: Math.floor(BASE_MS / DAY_MS) + Math.floor(b / 4),
    ingestedMs,
    values: Object.fromEntries(
      STREAM_FEATURES.map((f, j) => [f, (s + j + b) % 5 === 0 ? null : b + s / 10 + j]),
    ),
  }));
  if (b % 3 !== 2) return { fresh, repeated: [], quarantined: [], late: [], features };
  const never = reading(10_000 + b, ingestedMs);
  return {
    fresh,
    repeated: [reading(b * 12 - 1, ingestedMs), reading(0, ingestedMs), never, never],
    late: [{ ...never, watermarkMs: ingestedMs, reason: 'beyond_allowed_lateness' }],
    quarantined: [
      {
        source: 'nats',
        reason: 'schema_violation',
        detail: `value: expected number, it's "warm" (${b})`,
        payload: `{"id":"bad-${b}","value":"warm"}`,
        quarantinedAt: new Date(ingestedMs).toISOString(),
      },
    ],
    features,
  };
}

const TABLES = [
  ['readings', 'id'],
  ['daily_features', 'site_id, as_of_day, ingested_at'],
  ['late_readings', 'id'],
  ['quarantine', 'quarantined_at, payload'],
] as const;

async function tableText(store: OfflineStore, table: string, order: string): Promise<string[]> {
  const rows = await store.query(`SELECT t::VARCHAR AS row FROM ${table} t ORDER BY ${order}`);
  return rows.map((r) => String(r.row));
}

async function count(store: OfflineStore, table: string): Promise<number> {
  const [row] = await store.query(`SELECT count(*)::INT AS n FROM ${table}`);
  return Number(row?.n);
}

describe('offline store - one commit per batch with kept appenders and prepared statements', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'offline-commit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores exactly what the earlier statement sequence stores, batch after batch', async () => {
    const ours = await openOfflineStoreThread(join(dir, 'ours.duckdb'));
    // The earlier sequence, its batches sent to the thread as objects.
    const legacy = await openOfflineStoreThread(join(dir, 'legacy.duckdb'), {
      legacyStatements: true,
    });
    for (let b = 0; b < 30; b++) {
      await ours.appendBatch(batch(b));
      await legacy.appendBatch(batch(b));
      // The kept appenders outlive a checkpoint (DuckDB's own, every 16 MiB of WAL).
      if (b === 14) await ours.query('CHECKPOINT');
    }
    for (const [table, order] of TABLES) {
      expect(await tableText(ours, table, order)).toEqual(await tableText(legacy, table, order));
    }
    // 360 new readings + one never-stored redelivery per third batch (10), each id once.
    expect(await count(ours, 'readings')).toBe(370);
    const [ids] = await ours.query('SELECT count(DISTINCT id)::INT AS n FROM readings');
    expect(ids?.n).toBe(370);
    expect(await count(ours, 'late_readings')).toBe(10);
    expect(await count(ours, 'quarantine')).toBe(10);
    expect(await count(ours, 'daily_features')).toBe(150);
    // Point in time: day 0's features as known after batch 1 are batch 1's, not batch 3's.
    const day = Math.floor(BASE_MS / DAY_MS);
    const asOf = await ours.featuresAsOf('site-2', day, BASE_MS + DAY_MS + 1500);
    expect(asOf?.[STREAM_FEATURES[1]]).toBe(1 + 0.2 + 1);
    await ours.close();
    await legacy.close();
  });

  it('a batch failing part-way stores none of its rows, and the next batch commits whole', async () => {
    for (const legacyStatements of [false, true]) {
      const store = await openOfflineStore(join(dir, `fail-${legacyStatements}.duckdb`), {
        legacyStatements,
      });
      await store.appendBatch(batch(0));
      const broken = batch(2);
      // Its readings are flushed into the transaction before the quarantine row fails.
      broken.quarantined.unshift({ ...(broken.quarantined[0] as QuarantinedItem) });
      broken.quarantined.push({
        ...(broken.quarantined[0] as QuarantinedItem),
        quarantinedAt: 'x',
      });
      await expect(store.appendBatch(broken)).rejects.toThrow();
      expect(await count(store, 'readings')).toBe(12);
      expect(await count(store, 'quarantine')).toBe(0);
      expect(await count(store, 'daily_features')).toBe(5);
      // Each adds 12 new readings, the redelivered one of the batch before (never stored: that
      // batch was not written) and its never-stored one.
      await store.appendBatch(batch(5));
      await store.appendBatch(batch(2));
      expect(await count(store, 'readings')).toBe(12 + 14 + 14);
      expect(await count(store, 'quarantine')).toBe(2);
      expect(await count(store, 'late_readings')).toBe(2);
      expect(await count(store, 'daily_features')).toBe(15);
      await store.close();
    }
  });

  it('a batch packed for the store thread unpacks to the same rows (null, NaN, -0, UTF-8)', () => {
    const original = batch(2);
    const station = original.fresh[1] as StoredReading;
    station.reading.station_id = 'bouée-ÿ-🐠';
    const row = original.features[0] as FeatureRow;
    row.values = { ...row.values, [STREAM_FEATURES[0]]: Number.NaN, [STREAM_FEATURES[1]]: -0 };
    delete row.values[STREAM_FEATURES[2]];
    const back = structuredClone(packBatch(original));
    const unpacked = unpackBatch(back);
    expect(unpacked.fresh).toEqual(original.fresh);
    expect(unpacked.repeated).toEqual(original.repeated);
    expect(unpacked.late).toEqual(original.late);
    expect(unpacked.quarantined).toEqual(original.quarantined);
    // A missing value travels as null (both are stored as NULL); everything else as it was.
    const expected = original.features.map((f) => ({
      ...f,
      values: Object.fromEntries(STREAM_FEATURES.map((name) => [name, f.values[name] ?? null])),
    }));
    expect(unpacked.features).toEqual(expected);
    expect(Object.is(unpacked.features[0]?.values[STREAM_FEATURES[1]], -0)).toBe(true);
    expect(unpacked.features[0]?.values[STREAM_FEATURES[0]]).toBeNaN();
  });

  it('the store thread runs DuckDB on that thread alone; threads must be a positive integer', async () => {
    const threaded = await openOfflineStoreThread(join(dir, 'threads.duckdb'));
    expect(await threaded.query("SELECT current_setting('threads')::INT AS n")).toEqual([{ n: 1 }]);
    await threaded.close();
    const pooled = await openOfflineStoreThread(join(dir, 'threads.duckdb'), { threads: 2 });
    expect(await pooled.query("SELECT current_setting('threads')::INT AS n")).toEqual([{ n: 2 }]);
    await pooled.close();
    await expect(openOfflineStore(':memory:', { threads: 0 })).rejects.toThrow(
      /threads: a positive integer, got 0/,
    );
    await expect(openOfflineStoreThread(join(dir, 'bad.duckdb'), { threads: 1.5 })).rejects.toThrow(
      /threads: a positive integer, got 1.5/,
    );
  });
});
