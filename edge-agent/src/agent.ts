import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type BuoyReading,
  ConfigError,
  featureVectorSchema,
  loadModel,
  type Secret,
} from '@reefguard/core';
import type { Logger } from 'pino';
import { createAimsSource } from './aims-source.js';
import { type Alerter, createAlerter } from './alerts.js';
import type { EdgeConfig } from './config.js';
import { openFileOutbox } from './file-outbox.js';
import { createForwarder, type Forwarder } from './forwarder.js';
import { type HealthReport, type HealthServer, startHealthServer } from './health-server.js';
import { createLineSource } from './line-source.js';
import { createLocalFeatures, type LocalFeatures } from './local-features.js';
import { type AgentMetrics, createAgentMetrics } from './metrics.js';
import { createModelSlot, type ModelSlot } from './model-slot.js';
import { createModelUpdater, type ModelUpdater } from './model-updater.js';
import { connectMqttLink, type MqttLink } from './mqtt-link.js';
import { connectNatsLink } from './nats-link.js';
import type { Outbox, OutboxMessage } from './outbox.js';
import type { Publisher } from './publisher.js';
import type { ReadingSource } from './reading-source.js';
import { createReplaySource } from './replay-source.js';

/** What the agent needs from outside besides its settings (files are read by the CLI). */
export interface AgentDeps {
  logger: Logger;
  stdin?: Readable;
  fetch?: typeof fetch;
  /** PEM texts of the files the TLS and signature settings name. */
  pem?: {
    mqttCa?: string;
    mqttCert?: string;
    mqttKey?: Secret;
    natsCa?: string;
    modelPublicKey?: string;
  };
}

export interface Agent {
  readonly outbox: Outbox;
  readonly slot: ModelSlot;
  readonly metrics: AgentMetrics;
  readonly features: LocalFeatures;
  readonly updater: ModelUpdater;
  readonly healthUrl: string | null;
  /** Ingests and forwards until `signal` aborts, then flushes for up to FLUSH_TIMEOUT_MS. */
  run(signal: AbortSignal): Promise<void>;
  /** Ingests until the source ends, then drains; resolves with the messages left unsent. */
  runOnce(signal: AbortSignal): Promise<number>;
  health(): HealthReport;
  close(): Promise<void>;
}

/**
 * Wires the agent in data-flow order: source -> outbox -> forwarder -> brokers, with local
 * features, inference and alerts on the side, model updates from announcements, and the
 * health endpoint. Starts offline if the brokers are down.
 */
export async function startAgent(config: EdgeConfig, deps: AgentDeps): Promise<Agent> {
  const { logger } = deps;
  const stateDir = config.STATE_DIR;
  await mkdir(stateDir, { recursive: true });
  const outbox = await openFileOutbox({
    dir: join(stateDir, 'outbox'),
    maxMessages: config.OUTBOX_MAX_MESSAGES,
    maxBytes: config.OUTBOX_MAX_BYTES,
    policy: config.OUTBOX_FULL_POLICY,
    fsync: config.OUTBOX_FSYNC,
    fsyncIntervalMs: config.OUTBOX_FSYNC_INTERVAL_MS,
  });
  const metrics = createAgentMetrics(outbox);
  const slot = createModelSlot();
  const modelsDir = join(stateDir, 'models');
  await mkdir(modelsDir, { recursive: true });
  const updater = createModelUpdater({
    agentId: config.AGENT_ID,
    modelsDir,
    slot,
    backend: config.MODEL_BACKEND,
    logger,
    metrics,
    publicKeyPem: deps.pem?.modelPublicKey,
    fetch: deps.fetch,
  });
  const restored = await updater.restore();
  if (!restored && config.MODEL_DIR) {
    const model = await loadModel({ dir: config.MODEL_DIR, backend: config.MODEL_BACKEND });
    await slot.swap(model);
    metrics.modelInfo.set(
      { name: model.card.name, version: model.card.version, sha256: model.sha256 },
      1,
    );
  }
  const features = await createLocalFeatures({
    siteId: config.SITE_ID,
    mmmC: config.MMM_C,
    monthlyClimatologyC: config.CLIMATOLOGY_MONTHLY_C,
    statePath: join(stateDir, 'crw-state.bin'),
  });

  const onAnnouncement = config.MODEL_UPDATES
    ? (payload: string) => {
        void updater.handle(parseJson(payload));
      }
    : undefined;
  const publishers: Publisher[] = [];
  let mqttLink: MqttLink | null = null;
  if (config.TRANSPORT !== 'nats') {
    mqttLink = connectMqttLink({
      url: config.MQTT_URL,
      agentId: config.AGENT_ID,
      username: config.MQTT_USERNAME,
      password: config.MQTT_PASSWORD,
      tls: { ca: deps.pem?.mqttCa, cert: deps.pem?.mqttCert, key: deps.pem?.mqttKey },
      reconnectBaseMs: config.RECONNECT_BASE_MS,
      onAnnouncement,
    });
    publishers.push(mqttLink);
  }
  if (config.TRANSPORT !== 'mqtt') {
    publishers.push(
      connectNatsLink({
        url: config.NATS_URL,
        agentId: config.AGENT_ID,
        token: config.NATS_TOKEN,
        username: config.NATS_USERNAME,
        password: config.NATS_PASSWORD,
        tls: deps.pem?.natsCa ? { ca: deps.pem.natsCa } : undefined,
        reconnectBaseMs: config.RECONNECT_BASE_MS,
        ensureStream:
          config.NATS_STREAM === 'none'
            ? undefined
            : { name: config.NATS_STREAM, duplicateWindowMs: config.NATS_DUPLICATE_WINDOW_MS },
        // With MQTT too, announcements arrive there (retained); one channel is enough.
        onAnnouncement: mqttLink ? undefined : onAnnouncement,
        onFeatures: {
          siteId: config.SITE_ID,
          handler: (payload) => {
            const vector = featureVectorSchema.safeParse(parseJson(payload));
            if (vector.success) features.setCloudContext(vector.data);
          },
        },
      }),
    );
  }
  const forwarder: Forwarder = createForwarder({
    outbox,
    publishers,
    logger,
    metrics,
    batchSize: config.BATCH_SIZE,
  });
  const alerter: Alerter = createAlerter({
    siteId: config.SITE_ID,
    stationId: config.STATION_ID,
    riskThreshold: config.RISK_ALERT_THRESHOLD,
    alertLevelThreshold: config.ALERT_LEVEL_THRESHOLD,
    webhookUrl: config.ALERT_WEBHOOK_URL,
    logger,
    metrics,
    enqueue: async (message) => {
      await outbox.append([message]);
      forwarder.notify();
    },
    fetch: deps.fetch,
  });
  const source = createSource(config, deps);
  const cursorPath = join(stateDir, `cursor-${source.kind}.json`);
  let lastInferenceAt: string | null = null;
  const rate = { at: Date.now(), published: 0, perS: 0 };

  async function ingest(signal: AbortSignal) {
    const resume = await readFile(cursorPath, 'utf8').then(
      (text) => (JSON.parse(text) as { cursor: string }).cursor,
      () => undefined,
    );
    for await (const batch of source.batches(signal, resume)) {
      if (batch.rejected?.length) {
        metrics.rejected.inc({ reason: 'invalid-record' }, batch.rejected.length);
        logger.warn(
          { count: batch.rejected.length, first: batch.rejected[0] },
          'source records rejected',
        );
      }
      const result = await outbox.append(batch.readings.map(toMessage));
      metrics.enqueued.inc(result.accepted);
      if (result.dropped > 0) {
        metrics.dropped.inc({ policy: config.OUTBOX_FULL_POLICY }, result.dropped);
        logger.warn(
          {
            policy: config.OUTBOX_FULL_POLICY,
            dropped: result.dropped,
            depth: outbox.stats().depth,
          },
          'outbox full: policy applied',
        );
      }
      // The cursor moves only once the batch is in the outbox: a crash in between re-reads
      // the batch, and the reading ids make the repeat harmless.
      await writeAtomic(cursorPath, JSON.stringify({ cursor: batch.cursor }));
      forwarder.notify();
      for (const reading of batch.readings) features.observe(reading);
      if (batch.readings.some((r) => r.parameter === 'water_temperature')) await assess();
    }
  }

  async function assess() {
    const time = features.asOf();
    if (!time) return;
    const values = features.values();
    let risk: number | null = null;
    const model = slot.current();
    if (model) {
      try {
        const chip = model.card.chip;
        // The agent has no imagery: a chip model sees blank chips and says so (degraded).
        const chips = chip ? new Float32Array(chip.channels.length * chip.size_px ** 2) : undefined;
        const { risk: out } = await slot.predict({ features: features.row(model.card), chips }, 1);
        risk = Number.isNaN(out[0]) ? null : (out[0] as number);
        metrics.inferences.inc();
        lastInferenceAt = new Date().toISOString();
        metrics.lastInference.set(Date.now() / 1000);
      } catch (err) {
        metrics.inferenceFailures.inc();
        logger.error({ err }, 'local inference failed');
      }
    }
    await alerter.assess({
      time,
      risk,
      alertLevel: values.alert_level ?? null,
      dhw: values.dhw ?? null,
      modelName: model?.card.name ?? 'crw-rule',
      modelVersion: model?.card.version ?? 'none',
      modelThreshold: model?.card.threshold ?? 1,
      variant: model ? updater.variantOf(model) : 'champion',
    });
  }

  function health(): HealthReport {
    const stats = outbox.stats();
    const brokers = Object.fromEntries(publishers.map((p) => [p.broker, p.isConnected()]));
    return {
      status: Object.values(brokers).every(Boolean) ? 'ok' : 'degraded',
      agent_id: config.AGENT_ID,
      queue_depth: stats.depth,
      oldest_unsent_age_s:
        stats.oldestEnqueuedAtMs === null ? null : (Date.now() - stats.oldestEnqueuedAtMs) / 1000,
      dropped_total: stats.droppedTotal,
      publish_rate_per_s: rate.perS,
      brokers,
      model_version: slot.current()?.card.version ?? null,
      last_inference_at: lastInferenceAt,
    };
  }

  async function heartbeat() {
    const now = Date.now();
    const published = forwarder.acked();
    rate.perS = ((published - rate.published) * 1000) / Math.max(1, now - rate.at);
    rate.at = now;
    rate.published = published;
    const report = health();
    const model = slot.current();
    await mqttLink
      ?.publishStatus({
        agent_id: config.AGENT_ID,
        status: 'online',
        at: new Date().toISOString(),
        model_name: model?.card.name ?? null,
        model_version: model?.card.version ?? null,
        queue_depth: report.queue_depth,
        oldest_unsent_age_s: report.oldest_unsent_age_s,
      })
      .catch((err: unknown) => logger.debug({ err }, 'heartbeat not sent'));
  }

  const healthServer: HealthServer | null =
    config.HEALTH_PORT >= 0
      ? await startHealthServer({
          host: config.HEALTH_HOST,
          port: config.HEALTH_PORT,
          registry: metrics.registry,
          report: health,
        })
      : null;
  const heartbeatTimer = setInterval(() => void heartbeat(), config.HEARTBEAT_MS || 30_000);
  const firstBeat = setTimeout(() => void heartbeat(), 500);

  async function flush() {
    const deadline = AbortSignal.timeout(config.FLUSH_TIMEOUT_MS);
    const left = await forwarder.drain(deadline);
    if (left > 0)
      logger.warn(
        { left },
        'shutdown flush ended with readings still queued; they go out on the next start',
      );
    return left;
  }

  let closed = false;
  return {
    outbox,
    slot,
    metrics,
    features,
    updater,
    healthUrl: healthServer?.url ?? null,
    health,
    async run(signal) {
      const forwarding = forwarder.run(signal);
      await ingest(signal).catch((err: unknown) => {
        if (!signal.aborted) throw err;
      });
      await forwarding;
      await flush();
    },
    async runOnce(signal) {
      const stop = new AbortController();
      signal.addEventListener('abort', () => stop.abort(), { once: true });
      const forwarding = forwarder.run(stop.signal);
      try {
        await ingest(signal);
      } finally {
        stop.abort();
        await forwarding;
      }
      return forwarder.drain(signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeatTimer);
      clearTimeout(firstBeat);
      await features.save();
      await source.close();
      for (const publisher of publishers) await publisher.close();
      await healthServer?.close();
      await slot.close();
      await outbox.close();
    },
  };
}

function createSource(config: EdgeConfig, deps: AgentDeps): ReadingSource {
  switch (config.SOURCE) {
    case 'aims':
      if (!config.AIMS_API_KEY) {
        throw new ConfigError('REEFGUARD_AIMS_API_KEY is required with REEFGUARD_SOURCE=aims');
      }
      return createAimsSource({
        baseUrl: config.AIMS_BASE_URL,
        doi: config.AIMS_DOI,
        apiKey: config.AIMS_API_KEY,
        siteId: config.SITE_ID,
        filters: {
          series: config.AIMS_SERIES,
          parameter: config.AIMS_PARAMETER,
          from_date: config.AIMS_FROM_DATE,
          thru_date: config.AIMS_THRU_DATE,
        },
        pollIntervalMs: config.AIMS_POLL_INTERVAL_MS,
        fetch: deps.fetch,
      });
    case 'line':
      return createLineSource({
        path: config.LINE_PATH,
        siteId: config.SITE_ID,
        stationId: config.STATION_ID,
        stdin: deps.stdin,
      });
    default:
      return createReplaySource({
        file: config.REPLAY_FILE,
        generate: config.REPLAY_FILE
          ? undefined
          : {
              siteId: config.SITE_ID,
              stationId: config.STATION_ID,
              count: config.REPLAY_GENERATE_COUNT,
              startAt: config.REPLAY_START_AT,
              intervalMs: config.REPLAY_INTERVAL_MS,
            },
        speed: config.REPLAY_SPEED,
      });
  }
}

function toMessage(reading: BuoyReading): OutboxMessage {
  return {
    id: reading.id,
    kind: 'reading',
    siteId: reading.site_id,
    stationId: reading.station_id,
    body: JSON.stringify(reading),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string) {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}
