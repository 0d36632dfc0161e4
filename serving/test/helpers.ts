import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEATURE_SET_VERSION, onlineFeatureKey } from '@reefguard/core';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Announcer } from '../src/announcer.js';
import { type AppDeps, buildApp } from '../src/app.js';
import { createAuditLog } from '../src/audit-log.js';
import type { PromotionDeps } from '../src/promotion.js';
import { loadApprovals, loadPolicy, type PromotionPolicy } from '../src/promotion-policy.js';
import { createLocalRegistry, type ModelRegistry } from '../src/registry.js';
import { createSiteCatalog, type Site } from '../src/sites.js';

export const FIXTURE_MODELS = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
export const REPO_POLICY = fileURLToPath(
  new URL('../../models/promotion-policy.json', import.meta.url),
);
export const MODEL_NAME = 'reefguard-bleaching-risk';

/** A hot-water feature hash as the stream processor writes it (all catalogue names). */
export function featureHash(asOf: string, values: Record<string, number | null>) {
  const hash: Record<string, string> = {
    as_of: asOf,
    computed_at: asOf,
    feature_set_version: FEATURE_SET_VERSION,
  };
  for (const [name, value] of Object.entries(values))
    hash[name] = value === null ? '' : String(value);
  return hash;
}

export const HOT = {
  dhw: 6.2,
  dhw_max_ytd: 6.2,
  hotspot: 1.3,
  sst_anomaly: 1.1,
  turbidity_zscore: -0.4,
  depth_m: 5,
  alert_level: 3,
};

/** The stream features the `stream` fixture model (and the `vit` tabular member) reads. */
export interface StreamFeatureValues {
  dhw: number;
  hotspot: number;
  sst_anomaly: number;
  turbidity_zscore: number;
}

/**
 * The `stream` fixture model by hand, as make_models.py builds it (also the tabular member of
 * `vit`): sigmoid(w . (x - mean) / std + b).
 */
export function streamModelRisk(v: StreamFeatureValues): number {
  const z = [
    (v.dhw - 2) / 2.5,
    (v.hotspot - 0.4) / 0.5,
    (v.sst_anomaly - 0.3) / 0.8,
    v.turbidity_zscore,
  ];
  const w = [1.3, 0.7, 0.4, -0.2];
  return 1 / (1 + Math.exp(-(z.reduce((s, x, i) => s + x * (w[i] as number), 0) - 0.6)));
}

/** Unique site ids per test file, so files can share the Redis of the stack. */
export function testSites(prefix: string, n: number): Site[] {
  return Array.from({ length: n }, (_, i) => ({
    site_id: `${prefix}-${i}`,
    lat: -14 - i * 0.01,
    lon: 145 + i * 0.01,
    name: `Test Reef ${i}`,
  }));
}

export async function writeFeatures(redis: Redis, siteId: string, hash: Record<string, string>) {
  await redis
    .multi()
    .del(onlineFeatureKey(siteId))
    .hset(onlineFeatureKey(siteId), hash)
    .expire(onlineFeatureKey(siteId), 600)
    .exec();
}

/** A local model store with fixture versions under registry numbers: {1: 'v1', 2: 'v2'}. */
export async function modelStore(root: string, versions: Record<string, string>) {
  for (const [number, fixture] of Object.entries(versions)) {
    const dir = join(root, MODEL_NAME, number);
    await mkdir(dir, { recursive: true });
    // Every file of the fixture: a chip model also ships its tabular member.
    for (const file of await readdir(join(FIXTURE_MODELS, fixture))) {
      if (file !== 'model-card.json')
        await cp(join(FIXTURE_MODELS, fixture, file), join(dir, file));
    }
    const card = JSON.parse(
      await readFile(join(FIXTURE_MODELS, fixture, 'model-card.json'), 'utf8'),
    );
    card.version = number;
    await writeFile(join(dir, 'model-card.json'), JSON.stringify(card));
  }
}

export interface TestApp {
  app: FastifyInstance;
  redis: Redis;
  registry: ModelRegistry;
  promotion: PromotionDeps;
  dir: string;
  close(): Promise<void>;
}

export async function startTestApp(options: {
  redisUrl: string;
  sites: Site[];
  versions: Record<string, string>;
  aliases: Partial<Record<'champion' | 'challenger', string>>;
  policy?: (p: PromotionPolicy) => PromotionPolicy;
  approved?: string[];
  announcer?: Announcer | null;
  canaryWeight?: number;
  canaryWindowMs?: number;
  registryPollMs?: number;
  degraded?: AppDeps['predict']['degraded'];
  adminToken?: AppDeps['adminToken'];
  logger?: AppDeps['logger'];
  /** Owned by the test, which closes it. */
  predictions?: AppDeps['predictions'];
  /** Past days of the risk map. */
  offline?: AppDeps['predict']['offline'];
  /** Chips for models with a ViT member. */
  chipLayers?: AppDeps['predict']['chipLayers'];
}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'reefguard-serving-'));
  await modelStore(join(dir, 'models'), options.versions);
  const registry = createLocalRegistry(join(dir, 'models'), MODEL_NAME);
  for (const [alias, version] of Object.entries(options.aliases)) {
    await registry.setAlias(alias as 'champion' | 'challenger', version);
  }
  const approvedPath = join(dir, 'approved_models.txt');
  await writeFile(approvedPath, `${(options.approved ?? []).join('\n')}\n`);
  const base = await loadPolicy(REPO_POLICY);
  const policy = (options.policy ?? ((p) => p))({
    ...base,
    champion: { approved_list: approvedPath },
  });
  const promotion: PromotionDeps = {
    registry,
    policy,
    loadApprovals: () => loadApprovals(approvedPath),
    audit: createAuditLog(join(dir, 'audit.jsonl')),
    announcer: options.announcer ?? null,
    publicUrl: 'http://127.0.0.1:8080',
    canaryWeight: options.canaryWeight ?? 0.1,
    actor: 'test',
  };
  // As server.ts: a Redis outage fails a request fast instead of queueing it.
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // Outages show in /readyz and in 503s; the client's reconnect errors are not news.
  redis.on('error', () => {});
  await redis.connect();
  const app = await buildApp({
    redis,
    sites: createSiteCatalog(options.sites),
    promotion,
    predict: {
      maxAgeMs: 36 * 3_600_000,
      degraded: options.degraded ?? 'crw-baseline',
      offline: options.offline,
      chipLayers: options.chipLayers,
    },
    canaryWindowMs: options.canaryWindowMs ?? 3_600_000,
    registryPollMs: options.registryPollMs,
    adminToken: options.adminToken,
    predictions: options.predictions,
    logger: options.logger,
  });
  return {
    app,
    redis,
    registry,
    promotion,
    dir,
    async close() {
      await app.close();
      for (const site of options.sites) await redis.del(onlineFeatureKey(site.site_id));
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
