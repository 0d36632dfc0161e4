import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dayEndIso } from '@reefguard/core';
import { type FeatureRow, type OfflineStore, openOfflineStore } from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOfflineFeatureReader } from '../src/offline-features.js';
import { startTestApp, streamModelRisk, type TestApp, testSites } from './helpers.js';

const { redisUrl } = inject('stack');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const today = Math.floor(Date.now() / DAY_MS);
/** The day the map is asked for: ten days ago. */
const D = today - 10;
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const at = (day: number, hour: number) => day * DAY_MS + hour * HOUR_MS;

const HOT = { dhw: 6.2, hotspot: 1.3, sst_anomaly: 1.1, turbidity_zscore: -0.4, alert_level: 3 };
const CORRECTED = { ...HOT, dhw: 9.5, alert_level: 4 };
const COOL = { dhw: 0, hotspot: 0, sst_anomaly: -0.2, turbidity_zscore: 0.3, alert_level: 0 };

type MapFeature = {
  geometry: { coordinates: number[] };
  properties: Record<string, unknown> & { site_id: string };
};

describe('risk map of past days - real DuckDB offline store (the stream processor writer)', () => {
  const sites = testSites(`offline-${process.pid}`, 5);
  const [known, yesterday, old, replayed, none] = sites.map((s) => s.site_id) as string[];
  let dir: string;
  let t: TestApp;
  const bySite = async (date: string) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/risk-map?date=${date}` });
    expect(response.statusCode).toBe(200);
    const map = response.json();
    return {
      map,
      site: Object.fromEntries(
        (map.features as MapFeature[]).map((f) => [f.properties.site_id, f.properties]),
      ),
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-offline-'));
    // Two processor instances, each with its own file, as `--instance 0` and `--instance 1` write.
    const first = await openOfflineStore(join(dir, 'stream-0.duckdb'));
    const second = await openOfflineStore(join(dir, 'stream-1.duckdb'));
    const row = (siteId: string, day: number, ingestedMs: number, values: object): FeatureRow => ({
      siteId,
      day,
      ingestedMs,
      values,
    });
    await first.appendFeatures([
      row(known as string, D, at(D, 10), HOT),
      // Recomputed the next morning (a late reading): not known at the end of D.
      row(known as string, D, at(D + 1, 3), CORRECTED),
      row(old as string, D - 3, at(D - 3, 12), HOT),
    ]);
    await second.appendFeatures([
      row(yesterday as string, D - 1, at(D - 1, 20), COOL),
      // A replay run later wrote day D: the map of D did not know it.
      row(replayed as string, D, at(D + 3, 9), HOT),
    ]);
    await first.close();
    await second.close();
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'stream' },
      aliases: { champion: '1' },
      offline: createOfflineFeatureReader({ dir }),
    });
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a past day is answered with the features as known at the end of that day, from every instance file', async () => {
    const { map, site } = await bySite(isoDay(D));
    expect(map).toMatchObject({ type: 'FeatureCollection', date: isoDay(D), source: 'offline' });
    expect(map.features).toHaveLength(5);
    expect(site[known as string]).toMatchObject({
      status: 'ok',
      degraded: false,
      variant: 'champion',
      model_version: '1',
      dhw: 6.2,
      alert_level: 3,
      time: dayEndIso(D),
      band: 'severe',
    });
    expect(site[known as string]?.risk).toBeCloseTo(streamModelRisk(HOT), 5);
    // The other instance's file; its newest day is D - 1, 24 h before the end of D.
    expect(site[yesterday as string]).toMatchObject({ status: 'ok', time: dayEndIso(D - 1) });
    expect(site[yesterday as string]?.risk).toBeCloseTo(streamModelRisk(COOL), 5);
    expect(site[old as string]).toMatchObject({
      status: 'unavailable',
      reason: 'stale',
      risk: null,
    });
    expect(site[replayed as string]).toMatchObject({ status: 'unavailable', reason: 'missing' });
    expect(site[none as string]).toMatchObject({ status: 'unavailable', reason: 'missing' });
  });

  it('the next day knows the correction made that morning', async () => {
    const { site } = await bySite(isoDay(D + 1));
    expect(site[known as string]).toMatchObject({
      status: 'ok',
      dhw: 9.5,
      alert_level: 4,
      time: dayEndIso(D),
    });
    expect(site[known as string]?.risk).toBeCloseTo(streamModelRisk(CORRECTED), 5);
    // The replayed day D is still not known at the end of D + 1.
    expect(site[replayed as string]).toMatchObject({ status: 'unavailable', reason: 'missing' });
  });

  it('a file held by a running stream processor is read from a snapshot, and serving never holds a file', async () => {
    const running: OfflineStore = await openOfflineStore(join(dir, 'stream-1.duckdb'));
    try {
      await running.appendFeatures([
        { siteId: none as string, day: D + 2, ingestedMs: at(D + 2, 6), values: COOL },
      ]);
      const { site } = await bySite(isoDay(D + 2));
      expect(site[none as string]).toMatchObject({ status: 'ok', time: dayEndIso(D + 2) });
      expect(site[replayed as string]).toMatchObject({ status: 'unavailable', reason: 'missing' });
    } finally {
      await running.close();
    }
    // Right after a map request a processor opens the other file for writing without a lock error.
    const other = await openOfflineStore(join(dir, 'stream-0.duckdb'));
    await other.close();
  });

  it('POST /v1/predict at a past time answers with the features known at that very time', async () => {
    const predictAt = (ms: number) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: known, time: new Date(ms).toISOString() },
      });
    // Before the 10:00 computation of day D nothing of D (or the six days before) was known.
    const early = await predictAt(at(D, 9));
    expect(early.statusCode).toBe(503);
    expect(early.json()).toMatchObject({ reason: 'missing' });
    const noon = (await predictAt(at(D, 12))).json();
    expect(noon).toMatchObject({ site_id: known, dhw: 6.2, time: dayEndIso(D), degraded: false });
    expect(noon.risk).toBeCloseTo(streamModelRisk(HOT), 5);
    // After the correction at 03:00 the next day, the same as-of day reads the corrected DHW.
    const corrected = (await predictAt(at(D + 1, 4))).json();
    expect(corrected).toMatchObject({ dhw: 9.5, alert_level: 4, time: dayEndIso(D) });
    const future = await predictAt(Date.now() + 3_600_000);
    expect(future.statusCode).toBe(400);
    expect(future.json().message).toContain('is in the future');
  });

  it('the future is a 400 naming the date; today comes from the online store', async () => {
    const future = await t.app.inject({
      method: 'GET',
      url: `/v1/risk-map?date=${isoDay(today + 1)}`,
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().message).toContain(`date ${isoDay(today + 1)} is in the future`);
    const now = await t.app.inject({ method: 'GET', url: `/v1/risk-map?date=${isoDay(today)}` });
    expect(now.json()).toMatchObject({ source: 'online', date: isoDay(today) });
  });

  it('no offline store files is a 503 naming the folder', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'reefguard-offline-empty-'));
    const other = await startTestApp({
      redisUrl,
      sites: testSites(`offline-empty-${process.pid}`, 1),
      versions: { '1': 'stream' },
      aliases: { champion: '1' },
      offline: createOfflineFeatureReader({ dir: empty }),
    });
    try {
      const response = await other.app.inject({
        method: 'GET',
        url: `/v1/risk-map?date=${isoDay(D)}`,
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ reason: 'missing' });
      expect(response.json().message).toContain(empty);
    } finally {
      await other.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
