import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { commonSettings, loadConfig, modelCardSchema, secret } from '@reefguard/core';
import { workspaceRoot } from '@reefguard/core/cli/workspace';
import pino from 'pino';
import { z } from 'zod';
import { connectNats, connectRedis } from './connections.js';
import {
  DEFAULT_PSI_CHECK_EVERY,
  DEFAULT_PSI_WINDOW,
  DEFAULT_SUSTAIN_MS,
} from './drift-monitor.js';
import { DEFAULT_ALLOWED_LATENESS_MS, DEFAULT_SITES_KEPT } from './event-state.js';
import { loadGbrSites } from './gbr-sites.js';
import { createCrwHeatStress } from './heat-stress.js';
import { createProcessorMetrics, DEFAULT_METRICS_HOST, startMetricsServer } from './metrics.js';
import { createMonitoring } from './monitoring.js';
import { createMqttSource } from './mqtt-source.js';
import { openDuckDbOnlineStore } from './online-store-duckdb.js';
import { startStreamProcessor } from './service.js';
import { createSiteRegistry } from './sites.js';
import { createSlackNotifier } from './slack.js';

const USAGE = `usage: ./reefguard stream-processor [--source jetstream|mqtt] [--instance NAME]
                                   [--card PATH] [--metrics-port PORT]

Consumes buoy readings (JetStream durable consumer, or MQTT shared subscription), computes
event-time daily features per site and writes them to DuckDB ($REEFGUARD_STATE_DIR/
stream-<instance>.duckdb) and Redis; checks drift against the model card's PSI bins.
Run several instances with different --instance names to share the load.

  --source        jetstream (default) or mqtt
  --instance      this instance's name (default "0"): its DuckDB file and MQTT client id
  --card PATH     champion model card for streaming PSI (default: none, no drift checks)
  --metrics-port  serve Prometheus metrics on this port (default: off), on
                  REEFGUARD_METRICS_HOST (default 127.0.0.1; 0.0.0.0 for a scraper
                  outside the host or pod)

settings: REEFGUARD_SLACK_WEBHOOK_URL (secret, optional), REEFGUARD_ALLOWED_LATENESS_MINUTES,
          REEFGUARD_SITES_KEPT (sites held in memory, least recently used dropped and read
          from Redis again; default ${DEFAULT_SITES_KEPT}), REEFGUARD_METRICS_HOST, REEFGUARD_ONLINE_STORE (redis, the default, or duckdb: the
          embedded store $REEFGUARD_STATE_DIR/online-<instance>.duckdb for a single process;
          the event state still lives in Redis)
drift (with --card): REEFGUARD_DRIFT_WINDOW (live values per feature in the PSI window,
          default ${DEFAULT_PSI_WINDOW}), REEFGUARD_DRIFT_CHECK_EVERY (new values between checks,
          default ${DEFAULT_PSI_CHECK_EVERY}), REEFGUARD_DRIFT_SUSTAIN_S (seconds PSI must stay above
          the threshold, with 3 checks in a row, before a retrain request; default ${DEFAULT_SUSTAIN_MS / 1000})`;

const settings = {
  ...commonSettings,
  SLACK_WEBHOOK_URL: secret().optional(),
  ALLOWED_LATENESS_MINUTES: z.coerce
    .number()
    .positive()
    .default(DEFAULT_ALLOWED_LATENESS_MS / 60_000),
  SITES_KEPT: z.coerce.number().int().positive().default(DEFAULT_SITES_KEPT),
  ONLINE_STORE: z.enum(['redis', 'duckdb']).default('redis'),
  METRICS_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')]).default(DEFAULT_METRICS_HOST),
  DRIFT_WINDOW: z.coerce.number().int().positive().default(DEFAULT_PSI_WINDOW),
  DRIFT_CHECK_EVERY: z.coerce.number().int().positive().default(DEFAULT_PSI_CHECK_EVERY),
  DRIFT_SUSTAIN_S: z.coerce
    .number()
    .nonnegative()
    .default(DEFAULT_SUSTAIN_MS / 1000),
};

/** `./reefguard stream-processor`: runs until SIGINT/SIGTERM. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      source: { type: 'string', default: 'jetstream' },
      instance: { type: 'string', default: '0' },
      card: { type: 'string' },
      'metrics-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.source !== 'jetstream' && values.source !== 'mqtt') {
    console.error(USAGE);
    return 2;
  }
  const metricsPort = values['metrics-port'] === undefined ? null : Number(values['metrics-port']);
  if (
    metricsPort !== null &&
    !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)
  ) {
    console.error(`--metrics-port must be a port number 0..65535, got "${values['metrics-port']}"`);
    return 2;
  }
  const config = loadConfig(settings, process.env);
  // Listened for from the start: a stop during start-up still closes what was opened.
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const log = pino({ level: config.LOG_LEVEL });
  const root = workspaceRoot();
  const stateDir = isAbsolute(config.STATE_DIR) ? config.STATE_DIR : join(root, config.STATE_DIR);
  const sites = createSiteRegistry(
    await loadGbrSites(join(root, 'data/sample/gbr_environmental.parquet')),
  );
  const card = values.card
    ? modelCardSchema.parse(JSON.parse(await readFile(values.card, 'utf8')))
    : null;
  const metrics = createProcessorMetrics();
  // Bound first: a port taken or a host not on this machine fails before anything connects.
  const server =
    metricsPort === null
      ? null
      : await startMetricsServer({
          registry: metrics.registry,
          port: metricsPort,
          host: config.METRICS_HOST,
        });
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
      windowSize: config.DRIFT_WINDOW,
      checkEvery: config.DRIFT_CHECK_EVERY,
      sustainMs: config.DRIFT_SUSTAIN_S * 1000,
    },
  });
  const source =
    values.source === 'mqtt'
      ? await createMqttSource({
          url: config.MQTT_URL,
          username: config.MQTT_USERNAME,
          password: config.MQTT_PASSWORD,
          group: 'stream-processor',
          clientId: `stream-processor-${values.instance}`,
        })
      : undefined;
  const embedded =
    config.ONLINE_STORE === 'duckdb'
      ? await openDuckDbOnlineStore({ path: join(stateDir, `online-${values.instance}.duckdb`) })
      : null;
  const processor = await startStreamProcessor({
    ...(embedded ? { online: embedded } : {}),
    nc,
    redis,
    sites,
    offlinePath: join(stateDir, `stream-${values.instance}.duckdb`),
    ...(source ? { source, sourceName: 'mqtt' } : {}),
    allowedLatenessMs: config.ALLOWED_LATENESS_MINUTES * 60_000,
    sitesKept: config.SITES_KEPT,
    heat: createCrwHeatStress(),
    metrics,
    afterAck: async (outcome) => {
      await monitoring.afterAck(outcome).catch((e: unknown) => log.warn({ err: e }, 'monitoring'));
    },
  });
  log.info(
    {
      source: values.source,
      instance: values.instance,
      sites: sites.size,
      ...(server ? { metrics: `${server.host}:${server.port}` } : {}),
    },
    'stream processor running',
  );
  const failed = processor.done.then(
    () => null,
    (e: unknown) => e,
  );
  const error = await Promise.race([stop.then(() => null), failed]);
  await server?.close();
  await processor.close();
  await embedded?.close();
  await nc.close();
  await redis.quit();
  if (error) {
    log.error({ err: error }, 'stream processor stopped');
    return 1;
  }
  return 0;
}
