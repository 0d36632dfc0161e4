import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import {
  type BuoyReading,
  READING_UNITS,
  readClimatologyGeotiff,
  readingId,
} from '@reefguard/core';
import {
  type BatchOutcome,
  createSiteRegistry,
  type SiteProfile,
  type StreamProcessorOptions,
  startStreamProcessor,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

/** Davies Reef-like sites: MMM and monthly means of a central GBR reef. */
/** `node` arguments that run the CLI from the TypeScript sources (`./reefguard` without a build). */
export const CLI_FROM_SOURCE = ['--conditions=source', '--import', 'tsx', 'core/src/cli/bin.ts'];

/**
 * A Redis connection and a key prefix of this suite's own; the suite's keys are deleted and the
 * connection closed after it.
 */
export function useRedisPrefix(redisUrl: string) {
  const redis = new Redis(redisUrl);
  const prefix = `reefguard:test:${randomUUID().slice(0, 8)}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { redis, prefix };
}

export const SITE_MONTHLY_MEAN_C = [
  28.4, 28.6, 28.2, 27.3, 25.9, 24.6, 23.9, 24.0, 24.9, 26.1, 27.2, 28.0,
];
export const testSite = (siteId: string): SiteProfile => ({
  siteId,
  lat: -18.83,
  lon: 147.63,
  mmmC: 28.6,
  monthlyMeanC: SITE_MONTHLY_MEAN_C,
});
export const TEST_SITES = createSiteRegistry(
  ['18-054', '19-138', '16-024', '14-116'].map((id) => testSite(id)),
);

export function reading(
  siteId: string,
  observedAt: string,
  value: number,
  parameter: keyof typeof READING_UNITS = 'water_temperature',
  station = `${siteId}-buoy`,
): BuoyReading {
  return {
    schema_version: 1,
    id: readingId(station, parameter, observedAt),
    site_id: siteId,
    station_id: station,
    parameter,
    value,
    unit: READING_UNITS[parameter],
    observed_at: observedAt,
    source: 'generated',
  };
}

/** Names no other test uses: stream, subjects, durable, Redis prefixes, a temp dir. */
export async function isolation() {
  const tag = randomUUID().slice(0, 8);
  const dir = await mkdtemp(join(tmpdir(), `sp-${tag}-`));
  const prefix = `reefguard:test:${tag}:`;
  return {
    tag,
    dir,
    subject: (siteId: string) => `sptest${tag}.readings.${siteId}`,
    options: {
      stream: `SPTEST${tag}`,
      subjects: [`sptest${tag}.readings.>`],
      durable: `sp-${tag}`,
      statePrefix: prefix,
      onlineKeyOf: (siteId: string) => `${prefix}features:${siteId}`,
      sites: TEST_SITES,
    } satisfies Partial<StreamProcessorOptions>,
    onlineKey: (siteId: string) => `${prefix}features:${siteId}`,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Waits until `check` returns a value other than undefined, polling. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000) {
  const start = Date.now();
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One processor on the shared stack under isolated names, with its own NATS and Redis
 * connections and the outcome of every acknowledged batch; `close()` releases all of it.
 */
export async function startIsolatedProcessor(
  stack: { natsUrl: string; redisUrl: string },
  overrides: Partial<StreamProcessorOptions> = {},
) {
  const iso = await isolation();
  const nc = await connect({ servers: stack.natsUrl });
  const redis = new Redis(stack.redisUrl);
  const outcomes: BatchOutcome[] = [];
  const processor = await startStreamProcessor({
    ...iso.options,
    nc,
    redis,
    offlinePath: `${iso.dir}/offline.duckdb`,
    // DuckDB in this thread: a worker started from TypeScript sources takes seconds to load;
    // the thread store has its own test and the redelivery and scaling tests run through it.
    offlineThread: false,
    afterAck: (outcome) => {
      outcomes.push(outcome);
    },
    ...overrides,
  });
  return {
    iso,
    nc,
    redis,
    processor,
    outcomes,
    async close() {
      await processor.close();
      await nc.close();
      await redis.quit();
      await iso.cleanup();
    },
  };
}

/**
 * Lizard Island's pixel with its real CRW climatology (MMM and monthly means from the
 * fixture GeoTIFF), registered under `siteId`.
 */
export async function lizardIslandSites(siteId: string) {
  const climatology = await readClimatologyGeotiff(
    await readFile(
      new URL('../fixtures/crw/lizard_island_monthly_mean_climatology.tif', import.meta.url),
    ),
  );
  return createSiteRegistry([
    {
      siteId,
      lat: -14.675,
      lon: 145.425,
      mmmC: climatology.mmmC[0] as number,
      monthlyMeanC: [...climatology.monthlyMeanAt(0)],
    },
  ]);
}

/** Isolated names plus a NATS and a Redis connection on the shared stack; `close()` ends all. */
export async function connectIsolated(stack: { natsUrl: string; redisUrl: string }) {
  const iso = await isolation();
  const nc = await connect({ servers: stack.natsUrl });
  const redis = new Redis(stack.redisUrl);
  return {
    iso,
    nc,
    redis,
    async close() {
      await nc.close();
      await redis.quit();
      await iso.cleanup();
    },
  };
}

export type IsolatedConnections = Awaited<ReturnType<typeof connectIsolated>>;

/**
 * {@link connectIsolated} in the calling suite's beforeAll, closed in its afterAll: the
 * fields are there once the suite's tests run.
 */
export function useIsolatedConnections(stack: {
  natsUrl: string;
  redisUrl: string;
}): IsolatedConnections {
  const connections = {} as IsolatedConnections;
  beforeAll(async () => {
    Object.assign(connections, await connectIsolated(stack));
  });
  afterAll(() => connections.close());
  return connections;
}
