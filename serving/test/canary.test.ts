import { Secret } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cohortPosition, routeVariant } from '../src/canary-routing.js';
import {
  featureHash,
  HOT,
  MODEL_NAME,
  startTestApp,
  type TestApp,
  testSites,
  writeFeatures,
} from './helpers.js';

const { redisUrl } = inject('stack');
const asOf = () => new Date(Date.now() - 3_600_000).toISOString();

describe('canary routing - cohort hash', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `pixel-${i + 1}`);

  it('routes the configured share of sites to the challenger (10 % within 1 point over 20,000 sites)', () => {
    const share = ids.filter((id) => routeVariant(id, 0.1) === 'challenger').length / ids.length;
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
  });

  it('is sticky: a site keeps its variant, and raising the weight only adds sites', () => {
    const first = ids.map((id) => routeVariant(id, 0.1));
    expect(ids.map((id) => routeVariant(id, 0.1))).toEqual(first);
    const wider = ids.map((id) => routeVariant(id, 0.2));
    expect(first.every((v, i) => v === 'champion' || wider[i] === 'challenger')).toBe(true);
    expect(cohortPosition('pixel-8110')).toBe(cohortPosition('pixel-8110'));
    expect(routeVariant('pixel-8110', 0)).toBe('champion');
    expect(routeVariant('pixel-8110', 1)).toBe('challenger');
  });
});

describe('canary - split, automatic promotion and rollback through the app', () => {
  const sites = testSites(`canary-${process.pid}`, 1000);
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1', '2': 'v2' },
      aliases: { champion: '1', challenger: '2' },
      canaryWeight: 0.1,
    });
    const pipeline = t.redis.pipeline();
    for (const site of sites) {
      pipeline.hset(`reefguard:features:${site.site_id}`, featureHash(asOf(), HOT));
      pipeline.expire(`reefguard:features:${site.site_id}`, 600);
    }
    await pipeline.exec();
  });
  afterAll(async () => t?.close());

  it('every answer carries its variant and version; the split is 10 % within 3 points and sticky', async () => {
    const ask = async () =>
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/predict/batch',
          payload: { site_ids: sites.map((s) => s.site_id) },
        })
      ).json().predictions as Array<{ site_id: string; variant: string; model_version: string }>;
    const first = await ask();
    expect(first).toHaveLength(1000);
    for (const p of first) expect(p.model_version).toBe(p.variant === 'challenger' ? '2' : '1');
    const share = first.filter((p) => p.variant === 'challenger').length / first.length;
    expect(Math.abs(share - 0.1)).toBeLessThan(0.03);
    expect((await ask()).map((p) => p.variant)).toEqual(first.map((p) => p.variant));
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (variant: string, version: string) =>
      Number(
        new RegExp(
          `reefguard_inference_count_total\\{variant="${variant}",model_version="${version}",status="ok"\\} (\\d+)`,
        ).exec(metrics)?.[1],
      );
    expect(count('challenger', '2') + count('champion', '1')).toBe(2000);
    expect(count('challenger', '2')).toBe(
      2 * first.filter((p) => p.variant === 'challenger').length,
    );
    expect(metrics).toContain('reefguard_canary_weight 0.1');
  });
});

/** Sequential single-site requests, as the window's health is judged from. */
async function drive(t: TestApp, siteIds: string[], rounds: number) {
  const statuses: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const site_id of siteIds) {
      statuses.push(
        (await t.app.inject({ method: 'POST', url: '/v1/predict', payload: { site_id } }))
          .statusCode,
      );
    }
  }
  return statuses;
}

/**
 * Champion v1 and an approved `challenger` on a 50 % canary whose window closes after
 * `windowMs` (30 requests suffice): 40 hot sites asked `rounds` times each, every status kept.
 */
async function runCanary(
  name: string,
  challenger: { version: string; fixture: string },
  windowMs: number,
  rounds: number,
) {
  const sites = testSites(`canary-${name}-${process.pid}`, 40);
  const t = await startTestApp({
    redisUrl,
    sites,
    versions: { '1': 'v1', [challenger.version]: challenger.fixture },
    aliases: { champion: '1', challenger: challenger.version },
    canaryWeight: 0.5,
    canaryWindowMs: windowMs,
    approved: [`${MODEL_NAME} ${challenger.version}`],
    policy: (p) => ({ ...p, canary: { ...p.canary, min_requests: 30 } }),
  });
  try {
    for (const site of sites) await writeFeatures(t.redis, site.site_id, featureHash(asOf(), HOT));
    const statuses = await drive(
      t,
      sites.map((s) => s.site_id),
      rounds,
    );
    return { t, statuses };
  } catch (error) {
    await t.close();
    throw error;
  }
}

describe('canary window - decides by itself when it closes', () => {
  it('a healthy challenger is promoted to champion after the window and the app reloads it', async () => {
    const { t, statuses } = await runCanary('up', { version: '2', fixture: 'v2' }, 4_000, 4);
    try {
      expect(statuses.every((s) => s === 200)).toBe(true);
      await expect
        .poll(() => t.registry.getAlias('champion'), { timeout: 8_000, interval: 200 })
        .toBe('2');
      expect(await t.registry.getAlias('challenger')).toBeNull();
      await expect.poll(() => t.app.models.hub.current()?.champion.version).toBe('2');
      const [decision] = await t.promotion.audit.read();
      expect(decision).toMatchObject({
        action: 'canary-promote',
        target: 'champion',
        version: '2',
        applied: true,
      });
      expect(decision?.gates.map((g) => g.gate)).toEqual([
        'beats_crw_baseline',
        'f1_floor',
        'no_regression',
        'approved',
        'canary_traffic',
        'canary_error_rate',
        'canary_latency',
        'still_challenger',
        'artifact_sha256',
      ]);
    } finally {
      await t.close();
    }
  });

  it('a failing challenger never fails a request, and is rolled back when the window closes', async () => {
    const { t, statuses } = await runCanary('down', { version: '3', fixture: 'nan' }, 3_000, 3);
    try {
      expect(statuses.every((s) => s === 200)).toBe(true);
      const stats = t.app.models.canary.stats();
      expect(stats.challenger.errorRate).toBe(1);
      expect(stats.champion.errorRate).toBe(0);
      await expect
        .poll(() => t.registry.getAlias('challenger'), { timeout: 8_000, interval: 200 })
        .toBeNull();
      expect(await t.registry.getAlias('champion')).toBe('1');
      const [decision] = await t.promotion.audit.read();
      expect(decision).toMatchObject({
        action: 'canary-rollback',
        target: 'challenger',
        version: '3',
        applied: true,
      });
      expect(decision?.gates.find((g) => g.gate === 'canary_error_rate')).toMatchObject({
        passed: false,
      });
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(
        /reefguard_inference_count_total\{variant="challenger",model_version="3",status="error"\} [1-9]/,
      );
    } finally {
      await t.close();
    }
  });
});

describe('registry polling', () => {
  it('an alias moved elsewhere (./reefguard promote) is loaded without a reload request', async () => {
    const sites = testSites(`poll-${process.pid}`, 1);
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1', '2': 'v2' },
      aliases: { champion: '1' },
      registryPollMs: 100,
    });
    try {
      expect(t.app.models.hub.current()?.champion.version).toBe('1');
      await t.registry.setAlias('challenger', '2');
      await expect.poll(() => t.app.models.hub.current()?.challenger?.version).toBe('2');
      await t.registry.setAlias('champion', '2');
      await t.registry.deleteAlias('challenger');
      await expect.poll(() => t.app.models.hub.current()?.champion.version).toBe('2');
      expect(t.app.models.hub.current()?.challenger).toBeNull();
    } finally {
      await t.close();
    }
  });
});

describe('reload under load', () => {
  it('swaps champion versions five times while 8 clients keep asking: zero failed requests', async () => {
    const sites = testSites(`reload-${process.pid}`, 20);
    const token = 'reload-token-1234';
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1', '2': 'v2' },
      aliases: { champion: '1' },
      adminToken: new Secret(token),
    });
    try {
      for (const site of sites)
        await writeFeatures(t.redis, site.site_id, featureHash(asOf(), HOT));
      const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
      let running = true;
      const statuses = new Map<number, number>();
      const versions = new Set<string>();
      const client = async (k: number) => {
        for (let i = 0; running; i++) {
          const site_id = sites[(k * 7 + i) % sites.length]?.site_id;
          const response = await fetch(`${base}/v1/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ site_id }),
          });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.ok)
            versions.add(((await response.json()) as { model_version: string }).model_version);
          else await response.text();
        }
      };
      const clients = Array.from({ length: 8 }, (_, k) => client(k));
      for (let swap = 0; swap < 5; swap++) {
        await new Promise((r) => setTimeout(r, 200));
        await t.registry.setAlias('champion', swap % 2 === 0 ? '2' : '1');
        const reload = await fetch(`${base}/admin/reload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(reload.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 200));
      running = false;
      await Promise.all(clients);
      expect([...statuses.keys()]).toEqual([200]);
      expect(statuses.get(200)).toBeGreaterThan(200);
      expect([...versions].sort()).toEqual(['1', '2']);
      expect(t.app.models.hub.current()?.champion.version).toBe('2');
    } finally {
      await t.close();
    }
  });
});
