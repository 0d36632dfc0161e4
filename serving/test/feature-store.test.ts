import { contextFeatureKey, FEATURE_SET_VERSION } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFeatureReader, parseFeatureHash } from '../src/feature-store.js';
import { featureHash, startTestApp, type TestApp, testSites, writeFeatures } from './helpers.js';

const { redisUrl } = inject('stack');
const asOf = new Date(Date.now() - 3_600_000).toISOString();
/** The daily features of the `v1` fixture; its slow one, depth_m, comes from the context. */
const DAILY = {
  dhw: 6.2,
  dhw_max_ytd: 6.2,
  hotspot: 1.3,
  sst_anomaly: 1.1,
  turbidity_zscore: -0.4,
};

/** The `v1` fixture by hand: sigmoid(w . (x - mean) / std + b), as routes.test.ts. */
function v1Risk(depthM: number): number {
  const z = [(6.2 - 2) / 2.5, (6.2 - 3) / 3, (1.3 - 0.4) / 0.5, (1.1 - 0.3) / 0.8, -0.4];
  z.push((depthM - 8) / 6);
  const w = [1.2, 0.8, 0.6, 0.3, -0.2, -0.3];
  return 1 / (1 + Math.exp(-(z.reduce((s, v, i) => s + v * (w[i] as number), 0) - 0.5)));
}

function contextHash(values: Record<string, string>) {
  return {
    as_of: '2016-01-01T00:00:00.000Z',
    computed_at: '2026-01-02T00:00:00.000Z',
    feature_set_version: FEATURE_SET_VERSION,
    data_version: 'test',
    ...values,
  };
}

describe('parseFeatureHash - daily hash merged with the context hash', () => {
  it('fills slow features from the context, daily values win, provenance is the daily one', () => {
    const parsed = parseFeatureHash(
      'pixel-1',
      featureHash(asOf, { dhw: 2, depth_m: 5 }),
      contextHash({ depth_m: '30', k490: '0.07', mmm: 'NaN', latitude: '-14.5' }),
    );
    expect(parsed?.as_of).toBe(asOf);
    expect(parsed?.values.dhw).toBe(2);
    expect(parsed?.values.depth_m).toBe(5);
    expect(parsed?.values.k490).toBe(0.07);
    expect(parsed?.values.latitude).toBe(-14.5);
    // NaN is a known unknown (the model saw NaN in training): kept, not "missing".
    expect(parsed?.values.mmm).toBeNaN();
    expect(parsed?.values).not.toHaveProperty('data_version');
  });

  it('a site without a daily hash has no features, whatever its context holds', () => {
    expect(parseFeatureHash('pixel-1', {}, contextHash({ depth_m: '30' }))).toBeNull();
  });

  it('a NaN in the daily hash stays missing (only the context marks known unknowns)', () => {
    const parsed = parseFeatureHash('pixel-1', featureHash(asOf, { dhw: Number.NaN }), {});
    expect(parsed?.values.dhw).toBeNull();
  });
});

describe('serving with the context hash - the model answers, without it the CRW fallback', () => {
  const sites = testSites(`ctx-${process.pid}`, 4);
  const [withContext, withoutContext, clash, stale] = sites.map((s) => s.site_id) as [
    string,
    string,
    string,
    string,
  ];
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
    });
    for (const id of [withContext, withoutContext]) {
      await writeFeatures(t.redis, id, featureHash(asOf, DAILY));
    }
    await writeFeatures(t.redis, clash, featureHash(asOf, { ...DAILY, depth_m: 5 }));
    // 72 h old daily features (the limit is 36 h), fresh context.
    const old = new Date(Date.now() - 72 * 3_600_000).toISOString();
    await writeFeatures(t.redis, stale, featureHash(old, DAILY));
    for (const id of [withContext, clash, stale]) {
      await t.redis
        .multi()
        .del(contextFeatureKey(id))
        .hset(contextFeatureKey(id), contextHash({ depth_m: '20', k490: '0.08' }))
        .exec();
    }
  });
  afterAll(async () => {
    for (const s of sites) await t.redis.del(contextFeatureKey(s.site_id));
    await t.close();
  });

  const predict = (siteId: string) =>
    t.app.inject({ method: 'POST', url: '/v1/predict', payload: { site_id: siteId } });

  it('with context written, the site answers from the champion with the context depth', async () => {
    const body = (await predict(withContext)).json();
    expect(body).toMatchObject({ variant: 'champion', model_version: '1', degraded: false });
    expect(body.risk).toBeCloseTo(v1Risk(20), 5);
  });

  it('a daily value wins over the context on a name clash', async () => {
    const body = (await predict(clash)).json();
    expect(body).toMatchObject({ variant: 'champion', degraded: false });
    expect(body.risk).toBeCloseTo(v1Risk(5), 5);
    expect(Math.abs(v1Risk(5) - v1Risk(20))).toBeGreaterThan(0.01);
  });

  it('without context, the answer is the flagged CRW fallback naming the missing feature', async () => {
    const body = (await predict(withoutContext)).json();
    expect(body).toMatchObject({ variant: 'crw-baseline', degraded: true });
    expect(body.degraded_reason).toContain('lack depth_m');
  });

  it('freshness is judged on the daily hash: a fresh context does not revive stale features', async () => {
    const response = await predict(stale);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ reason: 'stale' });
    expect(response.json().message).toMatch(/72\.0 h before the requested time/);
  });

  it('reads both hashes of many sites in one pipeline, in order', async () => {
    const reader = createFeatureReader(t.redis);
    const answers = await reader.read([withoutContext, 'no-such-site', withContext]);
    expect(answers.map((a) => (a === null ? 'no hash' : a.values.depth_m))).toEqual([
      null,
      'no hash',
      20,
    ]);
  });
});
