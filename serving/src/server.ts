import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createAnnouncer } from './announcer.js';
import { buildApp } from './app.js';
import { createAuditLog } from './audit-log.js';
import { loadChipLayers } from './chip-layers.js';
import type { ServingConfig } from './config.js';
import { createMlflowRegistry } from './mlflow-registry.js';
import { createOfflineFeatureReader } from './offline-features.js';
import { createPredictionPublisher } from './prediction-publisher.js';
import type { PromotionDeps } from './promotion.js';
import { loadApprovals, loadPolicy } from './promotion-policy.js';
import { createLocalRegistry, type ModelRegistry } from './registry.js';
import { loadSiteCatalog } from './sites.js';

/** Where decisions are logged: `<state>/serving/audit.jsonl`. */
export const auditLogPath = (config: ServingConfig) =>
  join(config.STATE_DIR, 'serving', 'audit.jsonl');

export function createRegistry(config: ServingConfig): ModelRegistry {
  if (config.MLFLOW_TRACKING_URI) {
    return createMlflowRegistry({
      trackingUri: config.MLFLOW_TRACKING_URI,
      token: config.MLFLOW_TRACKING_TOKEN,
      name: config.MODEL_NAME,
      cacheDir: join(config.STATE_DIR, 'serving', 'model-cache'),
    });
  }
  return createLocalRegistry(join(config.STATE_DIR, 'models'), config.MODEL_NAME);
}

export function publicUrl(config: ServingConfig): string {
  return config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
}

/** What promote / rollback need, from settings: shared by the server and the CLI. */
export async function createPromotionDeps(
  config: ServingConfig,
  actor: string,
): Promise<PromotionDeps> {
  const policy = await loadPolicy(resolve(config.POLICY_FILE));
  return {
    registry: createRegistry(config),
    policy,
    loadApprovals: () => loadApprovals(resolve(policy.champion.approved_list)),
    audit: createAuditLog(auditLogPath(config)),
    announcer: createAnnouncer({
      natsUrl: config.NATS_URL,
      natsToken: config.NATS_TOKEN,
      mqttUrl: config.MQTT_URL,
      mqttUsername: config.MQTT_USERNAME,
      mqttPassword: config.MQTT_PASSWORD,
    }),
    publicUrl: publicUrl(config),
    canaryWeight: config.CANARY_WEIGHT,
    canaryWindowMs: config.CANARY_WINDOW_S * 1000,
    actor,
  };
}

/** Something run next to the app (the rollout controller); returns how to stop it. */
export type ServerExtension = (app: FastifyInstance) => Promise<() => Promise<void>>;

/** Starts serving on HOST:PORT until `signal` aborts; then closes everything it opened. */
export async function startServer(
  config: ServingConfig,
  signal: AbortSignal,
  extension?: ServerExtension,
): Promise<void> {
  const redis = new Redis(config.REDIS_URL.reveal(), {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    // Requests arriving together share one write to Redis instead of one syscall each.
    enableAutoPipelining: true,
  });
  await redis.connect();
  const promotion = await createPromotionDeps(config, 'serving');
  // Failures to reach NATS are logged by the app's logger once it exists.
  const early: unknown[] = [];
  let logNatsError = (error: unknown) => {
    early.push(error);
  };
  const predictions =
    config.PUBLISH_PREDICTIONS === 'on'
      ? createPredictionPublisher({
          natsUrl: config.NATS_URL,
          natsToken: config.NATS_TOKEN,
          maxBuffered: config.PREDICTIONS_BUFFER,
          onError: (error) => logNatsError(error),
        })
      : null;
  const sites = await loadSiteCatalog(config.SITES_FILE);
  const app = await buildApp({
    redis,
    sites,
    promotion,
    predict: {
      maxAgeMs: config.FEATURE_MAX_AGE_H * 3_600_000,
      degraded: config.DEGRADED,
      offline: createOfflineFeatureReader({ dir: config.OFFLINE_STORE_DIR ?? config.STATE_DIR }),
      chipLayers: config.CHIP_LAYERS_FILE
        ? await loadChipLayers(config.CHIP_LAYERS_FILE, sites.sites)
        : undefined,
    },
    canaryWindowMs: config.CANARY_WINDOW_S * 1000,
    registryPollMs: config.REGISTRY_POLL_S * 1000,
    adminToken: config.ADMIN_TOKEN,
    predictions,
    logger: { level: config.LOG_LEVEL },
  });
  logNatsError = (error) =>
    app.log.warn(
      { err: error },
      'predictions topic: NATS not reachable (or its stream not created); retrying, predictions wait in the buffer',
    );
  for (const error of early) logNatsError(error);
  // Canary decisions report the window's per-variant numbers.
  promotion.canaryStats = () => app.models.canary.stats();
  // ioredis reconnects by itself; an outage shows in /readyz and as 503s, logged here once per
  // failed attempt rather than as an unhandled error event.
  redis.on('error', (error: Error) => app.log.warn({ err: error }, 'Redis connection error'));
  await app.listen({ host: config.HOST, port: config.PORT });
  const stopExtension = await extension?.(app);
  await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
  await stopExtension?.();
  await app.close();
  await predictions?.close();
  await promotion.announcer?.close();
  await promotion.registry.close();
  redis.disconnect();
}
