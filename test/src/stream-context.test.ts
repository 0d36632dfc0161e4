import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { contextFeatureKey, type LocalServer, startRedis } from '@reefguard/core';
import {
  type ContextFeatures,
  computeContextFeatures,
  loadGbrSites,
  writeContextFeatures,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE } from './stream-helpers.js';

const DATA = 'data/sample';

/** The shipped tables read straight with SQL: the check does not reuse the code it checks. */
async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const byId = (features: ContextFeatures, siteId: string) =>
  features.sites.find((s) => s.siteId === siteId);

describe('context features - the slow features of every GBR site, as in the training set', () => {
  let features2016: ContextFeatures;
  beforeAll(async () => {
    features2016 = await computeContextFeatures({
      dataDir: DATA,
      year: 2016,
      now: new Date('2026-01-02T00:00:00Z'),
    });
  });

  it('covers exactly the sites the stream processor knows (pixels and reefs)', async () => {
    const known = (await loadGbrSites(join(DATA, 'gbr_environmental.parquet'))).map(
      (s) => s.siteId,
    );
    const ours = features2016.sites.map((s) => s.siteId);
    expect(new Set(ours).size).toBe(ours.length);
    expect(new Set(ours)).toEqual(new Set(known));
    expect(ours.length).toBeGreaterThan(10_000);
  });

  it('a pixel gets the shipped table values of its year (previous year max DHW, cyclones)', async () => {
    const [row] = await query(
      `SELECT d.annMaxDHW_2015 AS prev, TRY_CAST(c.Hs4MW_2016 AS DOUBLE) AS cyclone,
              e.MT_SST_AV AS mean, e.MT_SST_SR AS range, e.SW_K490_AV AS k490,
              greatest(-e.GBR_BATHY, 0) AS depth, d.lat AS lat
       FROM '${DATA}/gbr_dhw_annual_max_1985_2017.parquet' d
       JOIN '${DATA}/gbr_environmental.parquet' e USING (PIXEL_ID)
       LEFT JOIN '${DATA}/gbr_cyclones_1985_2017.parquet' c USING (PIXEL_ID)
       WHERE PIXEL_ID = 1020`,
    );
    const pixel = byId(features2016, 'pixel-1020');
    expect(pixel?.values.dhw_prev_year_max).toBeCloseTo(Number(row?.prev), 9);
    expect(pixel?.values.cyclone_exposure_h).toBeCloseTo(Number(row?.cyclone), 9);
    expect(pixel?.values.sst_clim_mean).toBeCloseTo(Number(row?.mean), 9);
    expect(pixel?.values.sst_clim_range).toBeCloseTo(Number(row?.range), 9);
    expect(pixel?.values.k490).toBeCloseTo(Number(row?.k490), 9);
    expect(pixel?.values.depth_m).toBeCloseTo(Number(row?.depth), 9);
    expect(pixel?.values.latitude).toBeCloseTo(Number(row?.lat), 9);
    // No GBR column for these: NaN, as in every GBR training row.
    expect(pixel?.values.mmm).toBeNaN();
    expect(pixel?.values.wind_speed_ms).toBeNaN();
    expect(pixel?.values).not.toHaveProperty('dhw');
  });

  it('a reef gets the mean of its pixels', async () => {
    // The reef with the most pixels.
    const [row] = await query(
      `SELECT e.REEF_ID AS reef, avg(d.annMaxDHW_2015) AS prev, avg(e.MT_SST_AV) AS mean,
              count(*) AS n
       FROM '${DATA}/gbr_dhw_annual_max_1985_2017.parquet' d
       JOIN '${DATA}/gbr_environmental.parquet' e USING (PIXEL_ID)
       WHERE e.REEF_ID IS NOT NULL AND e.MT_SST_MIN IS NOT NULL AND e.MT_SST_SR IS NOT NULL
       GROUP BY e.REEF_ID ORDER BY n DESC, reef LIMIT 1`,
    );
    expect(Number(row?.n)).toBeGreaterThan(1);
    const reef = byId(features2016, String(row?.reef));
    expect(reef?.values.dhw_prev_year_max).toBeCloseTo(Number(row?.prev), 9);
    expect(reef?.values.sst_clim_mean).toBeCloseTo(Number(row?.mean), 9);
  });

  it('a year beyond the shipped tables leaves its yearly features absent and says why', async () => {
    const later = await computeContextFeatures({ dataDir: DATA, year: 2018 });
    expect(later.absent.map((a) => a.feature)).toEqual(['cyclone_exposure_h']);
    expect(later.absent[0]?.reason).toContain('no 2018');
    const pixel = byId(later, 'pixel-1020');
    expect(pixel?.values).not.toHaveProperty('cyclone_exposure_h');
    expect(Number.isFinite(pixel?.values.dhw_prev_year_max)).toBe(true); // 2017 is shipped
    expect(features2016.absent).toEqual([]);
    // Chip layers: the year's gridded layers; a year beyond the tables drops its channels.
    expect(features2016.chipLayers.columns).toEqual([
      'site_id',
      'dhw_max_ytd',
      'dhw_prev_year_max',
      'cyclone_exposure_h',
      'sst_clim_mean',
      'sst_clim_range',
      'k490',
      'depth_m',
      'latitude',
    ]);
    expect(later.chipLayers.columns).not.toContain('dhw_max_ytd');
    expect(later.chipLayers.columns).not.toContain('cyclone_exposure_h');
    expect(later.chipLayers.columns).toContain('dhw_prev_year_max');
  });

  it('bad input is a clear error', async () => {
    await expect(computeContextFeatures({ dataDir: DATA, year: 16 })).rejects.toThrow(
      /calendar year/,
    );
    await expect(computeContextFeatures({ dataDir: '/nonexistent', year: 2016 })).rejects.toThrow(
      /\/nonexistent/,
    );
  });

  describe('written to Redis (a private instance)', () => {
    let dir: string;
    let server: LocalServer;
    let redis: Redis;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'stream-context-'));
      server = await startRedis({ dataDir: join(dir, 'redis') });
      redis = new Redis(server.url);
    });
    afterAll(async () => {
      redis?.disconnect();
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('writes every site in batches, without TTL, idempotently, replacing stale fields', async () => {
      await redis.hset(contextFeatureKey('pixel-1020'), 'stale_field', '1');
      const progress: number[] = [];
      const written = await writeContextFeatures(redis, features2016, {
        batchSize: 5000,
        onProgress: (done) => progress.push(done),
      });
      const total = features2016.sites.length;
      expect(written).toBe(total);
      expect(progress).toEqual([5000, 10_000, 15_000, total].filter((n) => n <= total));
      expect(await redis.dbsize()).toBe(total);
      const key = contextFeatureKey('pixel-1020');
      const hash = await redis.hgetall(key);
      expect(hash).not.toHaveProperty('stale_field');
      expect(hash).toMatchObject({
        as_of: '2016-01-01T00:00:00.000Z',
        computed_at: '2026-01-02T00:00:00.000Z',
        feature_set_version: 'v1',
        mmm: 'NaN',
      });
      expect(hash.data_version).toMatch(/^[0-9a-f]{16}$/);
      expect(Number(hash.depth_m)).toBe(byId(features2016, 'pixel-1020')?.values.depth_m);
      expect(await redis.ttl(key)).toBe(-1);
      await writeContextFeatures(redis, features2016);
      expect(await redis.hgetall(key)).toEqual(hash);
      expect(await redis.dbsize()).toBe(total);
    });

    it('./reefguard features context writes the year through the CLI and reports absent ones', async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          ...CLI_FROM_SOURCE,
          'features',
          'context',
          '--chip-layers-out',
          join(dir, 'chips', 'layers.json'),
        ],
        { env: { ...process.env, REEFGUARD_REDIS_URL: server.url }, maxBuffer: 1 << 20 },
      );
      const year = new Date().getUTCFullYear();
      expect(stdout).toContain(`for ${year}`);
      expect(stdout).toMatch(/absent +dhw_prev_year_max: the shipped tables have no \d{4}/);
      expect(stdout).toMatch(/wrote \d+ reefguard:context:\{site\} hashes/);
      const hash = await redis.hgetall(contextFeatureKey('pixel-1020'));
      expect(hash.as_of).toBe(`${year}-01-01T00:00:00.000Z`);
      expect(hash).not.toHaveProperty('dhw_prev_year_max');
      expect(Number(hash.k490)).toBeGreaterThan(0);
      // The chip layers file of a year beyond the tables: statics only, same values.
      const layers = JSON.parse(await readFile(join(dir, 'chips', 'layers.json'), 'utf8')) as {
        columns: string[];
        rows: (string | number | null)[][];
      };
      expect(layers.columns).not.toContain('dhw_max_ytd');
      const row = layers.rows.find((r) => r[0] === 'pixel-1020');
      expect(row?.[layers.columns.indexOf('k490')]).toBe(Number(hash.k490));
      expect(stdout).toMatch(/chip layers of \d+ pixels/);
    });

    it('the CLI refuses a malformed year with usage', async () => {
      const failed = await promisify(execFile)(
        process.execPath,
        [...CLI_FROM_SOURCE, 'features', 'context', '--year', '16'],
        { env: { ...process.env, REEFGUARD_REDIS_URL: server.url } },
      ).catch((error: { code: number; stderr: string }) => error);
      expect(failed).toMatchObject({ code: 2 });
      expect((failed as { stderr: string }).stderr).toContain('--year must be a four-digit year');
    });
  });
});
