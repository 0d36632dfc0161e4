import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type FeatureRow, type OfflineStore, openOfflineStore } from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolation } from './stream-helpers.js';

const DAY = Math.floor(Date.parse('2024-02-15T00:00:00Z') / 86_400_000);
const T0 = Date.parse('2024-02-16T00:00:00Z');

/** 3 sites x 10 days of features. */
const rows = (ingestedMs: number): FeatureRow[] =>
  ['18-054', '19-138', '16-024'].flatMap((siteId, s) =>
    Array.from({ length: 10 }, (_, d) => ({
      siteId,
      day: DAY + d,
      ingestedMs,
      values: {
        sst_daily_mean: 27 + s + d / 10,
        dhw: d / 4,
        dhw_max_ytd: d / 4,
        turbidity_ntu: s === 2 ? null : 1.5 + d,
      },
    })),
  );

describe('offline store - Parquet export of a feature set with a content hash as data version', () => {
  let iso: Awaited<ReturnType<typeof isolation>>;
  const stores: OfflineStore[] = [];
  const open = async (name: string) => {
    const store = await openOfflineStore(join(iso.dir, `${name}.duckdb`));
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    iso = await isolation();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await iso.cleanup();
  });

  it('is stable across re-runs, ingestion times and orders; changes when one value changes', async () => {
    const a = await open('a');
    await a.appendFeatures(rows(T0));
    const first = await a.exportFeatureSet(join(iso.dir, 'a1.parquet'), { knownAtMs: T0 + 1 });
    const again = await a.exportFeatureSet(join(iso.dir, 'a2.parquet'), { knownAtMs: T0 + 1 });
    expect(first.rows).toBe(30);
    expect(first.dataVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(again.dataVersion).toBe(first.dataVersion);

    // Same final rows, ingested later, in reverse order, after a superseded first version.
    const b = await open('b');
    const superseded = rows(T0 + 5_000).map((r) => ({ ...r, values: { ...r.values, dhw: 99 } }));
    await b.appendFeatures(superseded);
    await b.appendFeatures(rows(T0 + 9_000).reverse());
    const other = await b.exportFeatureSet(join(iso.dir, 'b.parquet'), { knownAtMs: T0 + 10_000 });
    expect(other.dataVersion).toBe(first.dataVersion);

    // One value of one row changed.
    const c = await open('c');
    const changed = rows(T0);
    (changed[17] as FeatureRow).values.sst_daily_mean = 28.700001;
    await c.appendFeatures(changed);
    const different = await c.exportFeatureSet(join(iso.dir, 'c.parquet'), { knownAtMs: T0 + 1 });
    expect(different.dataVersion).not.toBe(first.dataVersion);

    // A null that becomes a value changes it too.
    const d = await open('d');
    const filled = rows(T0);
    (filled[25] as FeatureRow).values.turbidity_ntu = 0;
    await d.appendFeatures(filled);
    expect(
      (await d.exportFeatureSet(join(iso.dir, 'd.parquet'), { knownAtMs: T0 + 1 })).dataVersion,
    ).not.toBe(first.dataVersion);
  });

  it('exports features as known at a time: a later correction is not in an earlier export', async () => {
    const e = await open('e');
    await e.appendFeatures(rows(T0));
    await e.appendFeatures([{ ...(rows(T0 + 60_000)[0] as FeatureRow), values: { dhw: 7.5 } }]);
    const before = await e.exportFeatureSet(join(iso.dir, 'e-before.parquet'), {
      knownAtMs: T0 + 1,
    });
    const after = await e.exportFeatureSet(join(iso.dir, 'e-after.parquet'), {
      knownAtMs: T0 + 60_000,
    });
    expect(after.dataVersion).not.toBe(before.dataVersion);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const read = async (file: string) =>
        (
          await conn.runAndReadAll(
            `SELECT dhw FROM read_parquet('${file}') WHERE site_id = '18-054' AND as_of_day = DATE '2024-02-15'`,
          )
        ).getRowObjectsJson()[0]?.dhw;
      expect(await read(before.path)).toBe(0);
      expect(await read(after.path)).toBe(7.5);
      // The version travels inside the file.
      const meta = (
        await conn.runAndReadAll(
          `SELECT decode(value) AS v FROM parquet_kv_metadata('${after.path}') WHERE decode(key) = 'data_version'`,
        )
      ).getRowObjectsJson();
      expect(meta).toEqual([{ v: after.dataVersion }]);
      const count = (
        await conn.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${after.path}')`)
      ).getRowObjectsJson();
      expect(count).toEqual([{ n: 30 }]);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
