import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis } from 'ioredis';
import { createDhwYearToDate } from './dhw-ytd.js';
import { createEventState } from './event-state.js';
import type { HeatStress } from './heat-stress.js';
import { createJetStreamSource, type ReadingSource } from './jetstream-source.js';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.js';
import { type OfflineStore, openOfflineStore } from './offline-store.js';
import { openOfflineStoreThread } from './offline-store-thread.js';
import { createOnlineStore, createRedisFeatureWriter, type OnlineStore } from './online-store.js';
import { type BatchOutcome, runProcessor, type Stage } from './processor.js';
import type { SiteRegistry } from './sites.js';

/** Key prefix of the processor's shared event-time state in Redis. */
export const DEFAULT_STATE_PREFIX = 'reefguard:sp:';

export interface StreamProcessorOptions {
  redis: Redis;
  sites: SiteRegistry;
  /** DuckDB file of this instance. */
  offlinePath: string;
  /**
   * Run the offline store on a worker thread of its own (default true), so DuckDB's synchronous
   * appends and commits stay off the event loop that writes the online features.
   */
  offlineThread?: boolean;
  /** JetStream source settings; or give `source` directly (e.g. MQTT). */
  nc?: NatsConnection;
  stream?: string;
  subjects?: string[];
  durable?: string;
  ackWaitMs?: number;
  maxBatch?: number;
  /** JetStream batches smaller than maxBatch wait up to this long for more (default 0). */
  lingerMs?: number;
  source?: ReadingSource;
  sourceName?: string;
  statePrefix?: string;
  allowedLatenessMs?: number;
  /**
   * Sites kept in memory by the event state and the DHW writer (default `DEFAULT_SITES_KEPT`),
   * least recently used dropped and read from Redis again when they next have readings.
   */
  sitesKept?: number;
  heat?: HeatStress | null;
  onlineTtlSeconds?: number;
  /** Another online store (e.g. the embedded DuckDB one); the Redis one by default. */
  online?: OnlineStore;
  onlineKeyOf?: (siteId: string) => string;
  metrics?: ProcessorMetrics;
  afterOnline?: (outcome: BatchOutcome) => void;
  afterCommit?: (outcome: BatchOutcome) => Promise<void> | void;
  afterAck?: (outcome: BatchOutcome) => Promise<void> | void;
  /** Batches written online whose offline commit is pending, at most. */
  maxInFlight?: number;
  /** Least time between offline commits (default DEFAULT_OFFLINE_COMMIT_INTERVAL_MS). */
  offlineCommitIntervalMs?: number;
  onStage?: (stage: Stage, ms: number, readings: number) => void;
}

export interface StreamProcessor {
  readonly offline: OfflineStore;
  readonly online: OnlineStore;
  readonly metrics: ProcessorMetrics;
  /** Settles when the loop ends (after close, or with the error that stopped it). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/** Wires source, state, stores and metrics and starts the loop. */
export async function startStreamProcessor(
  options: StreamProcessorOptions,
): Promise<StreamProcessor> {
  const offline =
    options.offlineThread === false
      ? await openOfflineStore(options.offlinePath)
      : await openOfflineStoreThread(options.offlinePath);
  const redisOnline = {
    redis: options.redis,
    ...(options.onlineTtlSeconds !== undefined ? { ttlSeconds: options.onlineTtlSeconds } : {}),
    ...(options.onlineKeyOf ? { keyOf: options.onlineKeyOf } : {}),
  };
  const online = options.online ?? createOnlineStore(redisOnline);
  const state = createEventState({
    redis: options.redis,
    prefix: options.statePrefix ?? DEFAULT_STATE_PREFIX,
    ...(options.sitesKept !== undefined ? { sitesKept: options.sitesKept } : {}),
    ...(options.allowedLatenessMs !== undefined
      ? { allowedLatenessMs: options.allowedLatenessMs }
      : {}),
  });
  const dhwYtd =
    options.heat === null || options.heat === undefined
      ? null
      : createDhwYearToDate({
          redis: options.redis,
          prefix: options.statePrefix ?? DEFAULT_STATE_PREFIX,
        });
  // On Redis the year-to-date DHW and the online write are one script call per batch.
  const writer = options.online
    ? undefined
    : createRedisFeatureWriter({
        ...redisOnline,
        ytdPrefix: dhwYtd ? (options.statePrefix ?? DEFAULT_STATE_PREFIX) : null,
        ...(options.sitesKept !== undefined ? { sitesKept: options.sitesKept } : {}),
      });
  const metrics = options.metrics ?? createProcessorMetrics();
  let source = options.source;
  if (!source) {
    if (!options.nc) throw new RangeError('startStreamProcessor needs `nc` or a `source`');
    source = await createJetStreamSource({
      nc: options.nc,
      ...(options.stream ? { stream: options.stream } : {}),
      ...(options.subjects ? { subjects: options.subjects } : {}),
      ...(options.durable ? { durable: options.durable } : {}),
      ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
      ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
      ...(options.lingerMs ? { lingerMs: options.lingerMs } : {}),
    });
  }
  const controller = new AbortController();
  const done = runProcessor(
    {
      source,
      sites: options.sites,
      state,
      offline,
      online,
      heat: options.heat ?? null,
      dhwYtd,
      ...(writer ? { writer } : {}),
      metrics,
      sourceName: options.sourceName ?? 'jetstream',
      ...(options.afterOnline ? { afterOnline: options.afterOnline } : {}),
      ...(options.afterCommit ? { afterCommit: options.afterCommit } : {}),
      ...(options.afterAck ? { afterAck: options.afterAck } : {}),
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      ...(options.offlineCommitIntervalMs !== undefined
        ? { offlineCommitIntervalMs: options.offlineCommitIntervalMs }
        : {}),
      ...(options.onStage ? { onStage: options.onStage } : {}),
    },
    controller.signal,
  );
  const ownSource = source;
  return {
    offline,
    online,
    metrics,
    done,
    async close() {
      controller.abort();
      await ownSource.close();
      await done.catch(() => undefined);
      await offline.close();
    },
  };
}
