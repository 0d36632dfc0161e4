import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, startRedis } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { crwBaselineRisk } from '../src/crw-baseline.js';
import {
  featureHash,
  HOT,
  startTestApp,
  type TestApp,
  testSites,
  writeFeatures,
} from './helpers.js';

const { redisUrl } = inject('stack');
const sites = testSites(`routes-${process.pid}`, 5);
const [hot, stale, missing, incomplete, cool] = sites.map((s) => s.site_id) as string[];
const TOKEN = 'test-admin-token-7f3a';
const now = new Date();
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

describe('serving routes - real Redis, real ONNX sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
      adminToken: new Secret(TOKEN),
    });
    await writeFeatures(t.redis, hot as string, featureHash(hoursAgo(2), HOT));
    await writeFeatures(t.redis, stale as string, featureHash(hoursAgo(48), HOT));
    await writeFeatures(
      t.redis,
      incomplete as string,
      featureHash(hoursAgo(2), { ...HOT, depth_m: null }),
    );
    await writeFeatures(
      t.redis,
      cool as string,
      featureHash(hoursAgo(1), {
        dhw: 0,
        dhw_max_ytd: 0.5,
        hotspot: 0,
        sst_anomaly: -0.2,
        turbidity_zscore: 0.1,
        depth_m: 12,
      }),
    );
  });
  afterAll(async () => t?.close());

  it('POST /v1/predict - answers with risk, band, CRW level and DHW, version, variant and top features', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: hot },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    // The fixture model is sigmoid(w . (x - mean) / std + b): computed by hand for HOT.
    const z = [
      (6.2 - 2) / 2.5,
      (6.2 - 3) / 3,
      (1.3 - 0.4) / 0.5,
      (1.1 - 0.3) / 0.8,
      -0.4,
      (5 - 8) / 6,
    ];
    const w = [1.2, 0.8, 0.6, 0.3, -0.2, -0.3];
    const expected =
      1 / (1 + Math.exp(-(z.reduce((s, v, i) => s + v * (w[i] as number), 0) - 0.5)));
    expect(body.risk).toBeCloseTo(expected, 5);
    expect(body).toMatchObject({
      site_id: hot,
      band: 'severe',
      alert_level: 3,
      dhw: 6.2,
      model_name: 'reefguard-bleaching-risk',
      model_version: '1',
      variant: 'champion',
      degraded: false,
    });
    expect(body.top_features).toHaveLength(5);
    expect(body.top_features[0]).toMatchObject({ name: 'dhw', value: 6.2 });
    expect(body.top_features[0].contribution).toBeGreaterThan(0);
  });

  it('POST /v1/predict - unknown site is a 404 naming it', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: 'no-such-reef' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'NotFoundError' });
    expect(response.json().message).toContain('no-such-reef');
  });

  it('POST /v1/predict - a bad body is a 400 naming the field', async () => {
    const noSite = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { time: now.toISOString() },
    });
    expect(noSite.statusCode).toBe(400);
    expect(noSite.json().message).toContain('site_id');
    const badTime = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: hot, time: 'yesterday' },
    });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().message).toContain('time');
    const badId = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: 'bad id/with spaces' },
    });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().message).toContain('site_id');
    expect(badId.json().field).toBe('site_id');
    expect(noSite.json().field).toBe('site_id');
    // An unknown field, and a bad item of a batch, are named too.
    const extra = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: hot, sites: [hot] },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ error: 'ValidationError', field: 'sites' });
    expect(extra.json().message).toContain('"sites"');
    const badItem = await t.app.inject({
      method: 'POST',
      url: '/v1/predict/batch',
      payload: { site_ids: [hot, cool, 'no/such site'] },
    });
    expect(badItem.statusCode).toBe(400);
    expect(badItem.json()).toMatchObject({ field: 'site_ids/2' });
    const notJson = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { 'content-type': 'application/json' },
      payload: '{"site_id": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().message).toMatch(/JSON/);
  });

  it('POST /v1/predict - stale features are a 503 with the reason', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: stale },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: 'FeaturesUnavailableError', reason: 'stale' });
    expect(response.json().message).toMatch(/48\.0 h before the requested time/);
  });

  it('POST /v1/predict - missing features are a 503 with the reason', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: missing },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ reason: 'missing' });
    expect(response.json().message).toContain(missing);
  });

  it('POST /v1/predict - a past time the online store cannot answer is a 503, not a guess', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: hot, time: '2020-02-01T00:00:00Z' },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toContain('offline store');
  });

  it('POST /v1/predict - incomplete features give the flagged CRW-baseline answer', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: incomplete },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      variant: 'crw-baseline',
      model_version: 'crw-baseline',
      degraded: true,
      risk: crwBaselineRisk(6.2),
      band: 'severe',
      alert_level: 3,
    });
  });

  it('POST /v1/predict/batch - answers each site or says why not, in one response', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/predict/batch',
      payload: { site_ids: [hot, cool, stale, 'no-such-reef'] },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.predictions.map((p: { site_id: string }) => p.site_id)).toEqual([hot, cool]);
    expect(body.predictions[1].band).toBe('low');
    expect(body.errors).toEqual([
      expect.objectContaining({ site_id: stale, status: 503, reason: 'stale' }),
      expect.objectContaining({ site_id: 'no-such-reef', status: 404 }),
    ]);
    const empty = await t.app.inject({
      method: 'POST',
      url: '/v1/predict/batch',
      payload: { site_ids: [] },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toContain('site_ids');
  });

  it('GET /v1/risk-map - GeoJSON of every site, coloured by what answered', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/risk-map' });
    expect(response.statusCode).toBe(200);
    const map = response.json();
    expect(map.type).toBe('FeatureCollection');
    expect(map.source).toBe('online');
    expect(map.features).toHaveLength(5);
    const bySite = Object.fromEntries(
      map.features.map((f: { properties: { site_id: string } }) => [f.properties.site_id, f]),
    );
    expect(bySite[hot as string].geometry).toEqual({ type: 'Point', coordinates: [145, -14] });
    expect(bySite[hot as string].properties).toMatchObject({
      status: 'ok',
      band: 'severe',
      alert_level: 3,
    });
    expect(bySite[stale as string].properties).toMatchObject({
      status: 'unavailable',
      risk: null,
      reason: 'stale',
    });
    const onlyData = await t.app.inject({ method: 'GET', url: '/v1/risk-map?with_data=true' });
    expect(onlyData.json().features).toHaveLength(3);
    // Past days come from the offline store (risk-map-offline.test.ts); this app has none.
    const past = await t.app.inject({ method: 'GET', url: '/v1/risk-map?date=2020-02-01' });
    expect(past.statusCode).toBe(503);
    expect(past.json()).toMatchObject({ reason: 'missing' });
    expect(past.json().message).toContain('offline store');
    const bad = await t.app.inject({ method: 'GET', url: '/v1/risk-map?date=last-week' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('date');
  });

  it('GET /v1/features/:site_id - the online vector, 404 and 503 as for predict', async () => {
    const ok = await t.app.inject({ method: 'GET', url: `/v1/features/${hot}` });
    expect(ok.json().values).toMatchObject({ dhw: 6.2, depth_m: 5, k490: null });
    expect((await t.app.inject({ method: 'GET', url: '/v1/features/nowhere' })).statusCode).toBe(
      404,
    );
    expect((await t.app.inject({ method: 'GET', url: `/v1/features/${missing}` })).statusCode).toBe(
      503,
    );
  });

  it('GET /healthz and /readyz - ready with the champion loaded and Redis answering', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
    });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      redis: true,
      champion: '1',
      challenger: null,
    });
  });

  it('GET /metrics - inference latency and count by variant, version and status; model info', async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(
      /reefguard_inference_count_total\{variant="champion",model_version="1",status="ok"\} [1-9]/,
    );
    expect(text).toMatch(
      /reefguard_inference_count_total\{variant="crw-baseline",model_version="crw-baseline",status="degraded"\} [1-9]/,
    );
    expect(text).toMatch(
      /reefguard_inference_count_total\{variant="none",model_version="none",status="unavailable"\} [1-9]/,
    );
    expect(text).toMatch(
      /reefguard_inference_latency_seconds_bucket\{le="0.01",variant="champion",model_version="1",status="ok"\} [1-9]/,
    );
    expect(text).toMatch(/reefguard_feature_fetch_latency_seconds_count\{status="ok"\} [1-9]/);
    // The latest answer per site for the geomap, coordinates as labels.
    const predicted = (
      await t.app.inject({ method: 'POST', url: '/v1/predict', payload: { site_id: hot } })
    ).json();
    const labels = `site_id="${hot}",site_name="Test Reef 0",lat="-14",lon="145"`;
    const after = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(after).toContain(`reefguard_site_risk{${labels}} ${predicted.risk}`);
    expect(after).toContain(`reefguard_site_alert_level{${labels}} 3`);
    expect(text).toMatch(
      /reefguard_model_info\{alias="champion",name="reefguard-bleaching-risk",version="1",sha256="[0-9a-f]{64}"\} 1/,
    );
  });

  it('GET /metrics - where the time of each /v1/predict answer goes, event-loop delay and GC pauses', async () => {
    const scrape = async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
      };
      return value;
    };
    const stageSeries = (stage: string, part: 'count' | 'sum') =>
      `reefguard_predict_stage_seconds_${part}{stage="${stage}"}`;
    const before = await scrape();
    for (let i = 0; i < 3; i++) {
      const ok = await t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: hot },
      });
      expect(ok.statusCode).toBe(200);
    }
    // An answer that is not a prediction is not one of the stage samples.
    const notFound = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: 'no-such-site' },
    });
    expect(notFound.statusCode).toBe(404);
    // Block the event loop (the app runs in this process) and allocate: the monitors must see it.
    const blockedUntil = performance.now() + 40;
    while (performance.now() < blockedUntil) {}
    let garbage = 0;
    for (let i = 0; i < 200_000; i++) garbage += new Array(16).fill(i).length;
    expect(garbage).toBe(3_200_000);
    await new Promise((r) => setTimeout(r, 50));
    const after = await scrape();
    const parts = ['parse', 'features', 'model', 'answer', 'respond'];
    for (const stage of [...parts, 'total']) {
      const n = after(stageSeries(stage, 'count')) - (before(stageSeries(stage, 'count')) || 0);
      expect(n, stage).toBe(3);
    }
    const spent = (stage: string) =>
      after(stageSeries(stage, 'sum')) - (before(stageSeries(stage, 'sum')) || 0);
    // The parts add up to the total; the model and the store each took some of it.
    const sumOfParts = parts.reduce((sum, stage) => sum + spent(stage), 0);
    expect(sumOfParts).toBeCloseTo(spent('total'), 9);
    expect(spent('features')).toBeGreaterThan(0);
    expect(spent('model')).toBeGreaterThan(0);
    expect(spent('total')).toBeLessThan(1);
    // Delay since the previous scrape: the 40 ms block is the max, p99 is no more than it.
    const maxDelay = after('reefguard_event_loop_delay_seconds{quantile="1"}');
    expect(maxDelay).toBeGreaterThanOrEqual(0.035);
    expect(after('reefguard_event_loop_delay_seconds{quantile="0.99"}')).toBeLessThanOrEqual(
      maxDelay,
    );
    const scavenges = (value: typeof after) =>
      value('reefguard_gc_pause_seconds_count{kind="minor"}') || 0;
    expect(scavenges(after)).toBeGreaterThan(scavenges(before));
  });

  it('GET /v1/models and its files - the card and ONNX file of the loaded version, nothing else', async () => {
    const models = (await t.app.inject({ method: 'GET', url: '/v1/models' })).json();
    expect(models.champion).toMatchObject({ version: '1', url: '/v1/models/1/model.onnx' });
    const onnx = await t.app.inject({ method: 'GET', url: models.champion.url });
    expect(onnx.statusCode).toBe(200);
    expect(onnx.rawPayload.length).toBe(435);
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/models/1/..%2F..%2Faliases.json' }))
        .statusCode,
    ).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/models/9/model.onnx' })).statusCode).toBe(
      404,
    );
  });

  it('admin routes - refuse without the bearer token, never echo it', async () => {
    const none = await t.app.inject({ method: 'POST', url: '/admin/reload' });
    expect(none.statusCode).toBe(401);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/admin/reload',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain(TOKEN);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const reload = await t.app.inject({ method: 'POST', url: '/admin/reload', headers: auth });
    expect(reload.json()).toEqual({ champion: '1', challenger: null, challenger_weight: 0 });
    const weight = await t.app.inject({
      method: 'PUT',
      url: '/admin/canary',
      headers: auth,
      payload: { weight: 2 },
    });
    expect(weight.statusCode).toBe(400);
    expect(weight.json().message).toContain('weight');
  });

  it('GET /openapi.json - documents every public route', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/predict',
        '/v1/predict/batch',
        '/v1/risk-map',
        '/readyz',
        '/admin/promote',
      ]),
    );
  });
});

describe('serving routes - secrets', () => {
  it('the admin token and the Redis URL never reach the log, at trace level', async () => {
    const lines: string[] = [];
    const sites = testSites(`routes-log-${process.pid}`, 1);
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
      adminToken: new Secret(TOKEN),
      logger: { level: 'trace', stream: { write: (line: string) => lines.push(line) } },
    });
    try {
      await t.app.inject({
        method: 'POST',
        url: '/admin/reload',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await t.app.inject({
        method: 'POST',
        url: '/admin/reload',
        headers: { authorization: 'Bearer wrong-token' },
      });
      expect(lines.length).toBeGreaterThan(3);
      expect(lines.join('\n')).not.toContain(TOKEN);
      expect(lines.join('\n')).not.toContain('wrong-token');
      expect(lines.join('\n')).not.toContain(redisUrl);
    } finally {
      await t.close();
    }
  });
});

describe('serving routes - degraded answers switched off, no models, Redis down', () => {
  it('DEGRADED=unavailable - incomplete features are a 503 instead of a baseline answer', async () => {
    const sites = testSites(`routes-off-${process.pid}`, 1);
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
      degraded: 'unavailable',
    });
    try {
      await writeFeatures(
        t.redis,
        sites[0]?.site_id as string,
        featureHash(hoursAgo(1), { ...HOT, depth_m: null }),
      );
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: sites[0]?.site_id },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ reason: 'incomplete' });
      expect(response.json().message).toContain('depth_m');
    } finally {
      await t.close();
    }
  });

  it('Redis down - /readyz and predict are 503s saying the store does not answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reefguard-redis-down-'));
    const redis = await startRedis({ dataDir: dir });
    const sites = testSites(`routes-down-${process.pid}`, 1);
    const t = await startTestApp({
      redisUrl: redis.url,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
    });
    try {
      await writeFeatures(t.redis, sites[0]?.site_id as string, featureHash(hoursAgo(1), HOT));
      const before = await t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: sites[0]?.site_id },
      });
      expect(before.statusCode).toBe(200);
      await redis.kill();
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ redis: false, reason: 'Redis does not answer' });
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: sites[0]?.site_id },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ error: 'TransportError' });
      expect(response.json().message).toContain('Redis');
    } finally {
      await t.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('no champion registered - /readyz is 503 saying so and predict is a 503', async () => {
    const sites = testSites(`routes-none-${process.pid}`, 1);
    const t = await startTestApp({ redisUrl, sites, versions: { '1': 'v1' }, aliases: {} });
    try {
      await writeFeatures(t.redis, sites[0]?.site_id as string, featureHash(hoursAgo(1), HOT));
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().reason).toContain('no champion');
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: sites[0]?.site_id },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toBe('ModelError');
    } finally {
      await t.close();
    }
  });
});
