import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FeatureRow,
  featuresRecordBatch,
  type OfflineStore,
  openOfflineStore,
  openOfflineStoreThread,
  readingsRecordBatch,
  STREAM_FEATURES,
  type StoredReading,
} from '../src/index.js';
import { storedReading } from './offline-rows.js';

const DAY_MS = 86_400_000;
const BASE_MS = Date.parse('2024-02-10T00:00:00Z');

/** `n` readings over 7 sites, with a non-ASCII station name to exercise UTF-8. */
function readings(n: number): StoredReading[] {
  return Array.from({ length: n }, (_, i) => {
    const siteId = `site-${i % 7}`;
    const observedMs = BASE_MS + i * 60_000;
    return storedReading({
      siteId,
      stationId: i % 5 === 0 ? `bouée-${siteId}` : `${siteId}-buoy`,
      observedMs,
      ingestedMs: observedMs + 1234,
      value: 26 + (i % 40) / 8,
      source: i % 2 ? 'generated' : 'aims',
    });
  });
}

function features(n: number): FeatureRow[] {
  return Array.from({ length: n }, (_, i) => ({
    siteId: `site-${i % 7}`,
    day: Math.floor(BASE_MS / DAY_MS) + Math.floor(i / 7),
    ingestedMs: BASE_MS + i,
    values: Object.fromEntries(
      STREAM_FEATURES.map((f, j) => [f, (i + j) % 4 === 0 ? null : i * 0.5 + j]),
    ),
  }));
}

async function tableText(store: OfflineStore, table: string, order: string): Promise<string[]> {
  const rows = await store.query(`SELECT t::VARCHAR AS row FROM ${table} t ORDER BY ${order}`);
  return rows.map((r) => String(r.row));
}

describe('offline store - Arrow record batches into DuckDB', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'offline-arrow-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a batch built as Arrow record batches round-trips through Arrow IPC unchanged', () => {
    const rows = readings(50);
    const batch = readingsRecordBatch(rows);
    expect(batch.numRows).toBe(50);
    const back = tableFromIPC(tableToIPC(new Table(batch)));
    expect(back.getChild('id')?.get(3)).toBe(rows[3]?.reading.id);
    expect(back.getChild('station_id')?.get(5)).toBe('bouée-site-5');
    expect(back.getChild('value')?.get(7)).toBe(rows[7]?.reading.value);
    expect(back.getChild('observed_at')?.get(9)).toBe(rows[9]?.observedMs);
    const f = featuresRecordBatch(features(14), STREAM_FEATURES);
    expect(f.numCols).toBe(3 + STREAM_FEATURES.length);
    // Row 0, feature 0 is null ((0 + 0) % 4 === 0); row 1, feature 0 is 0.5.
    expect(f.getChildAt(3)?.get(0)).toBeNull();
    expect(f.getChildAt(3)?.get(1)).toBe(0.5);
  });

  it('Arrow data-chunk appends store exactly what the row appender stores, over chunk bounds', async () => {
    // 5,000 readings: three DuckDB data chunks (2,048 rows each at most).
    const rows = readings(5000);
    const featureRows = features(300);
    const stores = {
      arrow: await openOfflineStore(join(dir, 'arrow.duckdb'), { appendPath: 'arrow' }),
      rows: await openOfflineStore(join(dir, 'rows.duckdb'), { appendPath: 'rows' }),
    };
    for (const store of Object.values(stores)) {
      await store.appendBatch({
        fresh: rows,
        repeated: [],
        quarantined: [],
        late: [],
        features: featureRows,
      });
    }
    const readingsArrow = await tableText(stores.arrow, 'readings', 'id');
    expect(readingsArrow).toHaveLength(5000);
    expect(readingsArrow).toEqual(await tableText(stores.rows, 'readings', 'id'));
    const order = 'site_id, as_of_day, ingested_at';
    const featuresArrow = await tableText(stores.arrow, 'daily_features', order);
    expect(featuresArrow).toHaveLength(300);
    expect(featuresArrow).toEqual(await tableText(stores.rows, 'daily_features', order));
    const [nulls] = await stores.arrow.query(
      `SELECT count(*) FILTER (WHERE ${STREAM_FEATURES[0]} IS NULL)::INT AS n FROM daily_features`,
    );
    expect(nulls?.n).toBe(75);
    const [first] = await stores.arrow.query(
      `SELECT station_id, value, epoch_ms(observed_at)::DOUBLE AS ms FROM readings WHERE id = '${rows[0]?.reading.id}'`,
    );
    expect(first).toEqual({ station_id: 'bouée-site-0', value: 26, ms: BASE_MS });
    await stores.arrow.close();
    await stores.rows.close();
  });

  it('the store on its own thread answers like the store in this thread, errors included', async () => {
    const path = join(dir, 'thread.duckdb');
    const store = await openOfflineStoreThread(path);
    await store.appendBatch({
      fresh: readings(100),
      repeated: readings(120),
      quarantined: [],
      late: [],
      features: features(7),
    });
    // The 20 repeated readings the fresh ones lack are inserted once, by id.
    expect(await store.query('SELECT count(*)::INT AS n FROM readings')).toEqual([{ n: 120 }]);
    const day = Math.floor(BASE_MS / DAY_MS);
    const values = await store.featuresAsOf('site-1', day, Date.now());
    expect(values?.[STREAM_FEATURES[0]]).toBe(0.5);
    await expect(store.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    await store.close();
    await expect(store.query('SELECT 1')).rejects.toThrow(/closed/);
  });
});
