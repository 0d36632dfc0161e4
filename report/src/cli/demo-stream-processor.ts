import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig, modelCardSchema, secret } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import {
  connectNats,
  connectRedis,
  createCrwHeatStress,
  createMonitoring,
  createProcessorMetrics,
  createSiteRegistry,
  createSlackNotifier,
  loadGbrSites,
  startMetricsServer,
  startStreamProcessor,
} from '@reefguard/stream-processor';
import { z } from 'zod';

/**
 * The demo's stream processor: `./reefguard stream-processor` composed from the same public
 * parts, with the drift timing the demo needs. A season plays in about two minutes, so the
 * production rule "PSI above the threshold for 3 checks and 15 minutes" becomes 3 checks and
 * `--sustain-s` seconds over a window of `--psi-window` values checked every `--psi-every`.
 * (The production command has no setting for these yet.)
 */
const settings = {
  ...commonSettings,
  SLACK_WEBHOOK_URL: secret().optional(),
  STATE_DIR: z.string(),
};

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      card: { type: 'string' },
      'metrics-port': { type: 'string', default: '0' },
      'psi-window': { type: 'string', default: '120' },
      'psi-every': { type: 'string', default: '24' },
      'sustain-s': { type: 'string', default: '20' },
    },
  });
  if (!values.card) {
    console.error(
      'usage: demo-stream-processor --card PATH [--metrics-port N] [--psi-window N] [--psi-every N] [--sustain-s S]',
    );
    return 2;
  }
  const config = loadConfig(settings, process.env);
  const root = workspaceRoot();
  const card = modelCardSchema.parse(JSON.parse(await readFile(values.card, 'utf8')));
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const metrics = createProcessorMetrics();
  const server = await startMetricsServer({
    registry: metrics.registry,
    port: Number(values['metrics-port']),
    host: '127.0.0.1',
  });
  console.log(
    JSON.stringify({ msg: 'metrics', url: `http://${server.host}:${server.port}/metrics` }),
  );
  const sites = createSiteRegistry(
    await loadGbrSites(join(root, 'data/sample/gbr_environmental.parquet')),
  );
  const nc = await connectNats(config.NATS_URL, config.NATS_TOKEN);
  const redis = await connectRedis(config.REDIS_URL);
  const notifier = config.SLACK_WEBHOOK_URL
    ? createSlackNotifier({
        webhookUrl: config.SLACK_WEBHOOK_URL,
        claim: async (key, ttlMs) =>
          (await redis.set(`reefguard:sp:claim:slack:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK',
      })
    : null;
  const monitoring = createMonitoring({
    nc,
    redis,
    metrics,
    card,
    notifier,
    drift: {
      windowSize: Number(values['psi-window']),
      checkEvery: Number(values['psi-every']),
      sustainMs: Number(values['sustain-s']) * 1000,
    },
  });
  const processor = await startStreamProcessor({
    nc,
    redis,
    sites,
    offlinePath: join(config.STATE_DIR, 'stream-0.duckdb'),
    heat: createCrwHeatStress(),
    metrics,
    afterAck: async (outcome) => {
      await monitoring.afterAck(outcome).catch((e: unknown) => console.error('monitoring', e));
    },
  });
  console.log(
    JSON.stringify({ msg: 'stream processor running', sites: sites.size, card: card.version }),
  );
  const failed = processor.done.then(
    () => null,
    (e: unknown) => e,
  );
  const error = await Promise.race([stop.then(() => null), failed]);
  await server.close();
  await processor.close();
  await nc.close();
  await redis.quit();
  if (error) {
    console.error('stream processor stopped', error);
    return 1;
  }
  return 0;
}
