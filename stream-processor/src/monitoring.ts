import { headers, type NatsConnection } from '@nats-io/transport-node';
import { type ModelCard, natsSubjects } from '@reefguard/core';
import type { Redis } from 'ioredis';
import { createAlertWatch } from './alert-watch.js';
import {
  createDriftMonitor,
  type DriftMonitor,
  type DriftMonitorOptions,
} from './drift-monitor.js';
import type { ProcessorMetrics } from './metrics.js';
import type { BatchOutcome } from './processor.js';
import type { Notifier } from './slack.js';

/**
 * What happens after a batch is acknowledged: feature vectors and quarantined items are
 * published on NATS, drift is checked against the champion card and alert-level rises are
 * sent to Slack. None of it affects the stored effect of the batch.
 */
export interface MonitoringOptions {
  nc: NatsConnection;
  redis: Redis;
  metrics: ProcessorMetrics;
  card: Pick<ModelCard, 'version' | 'features'> | null;
  notifier: Notifier | null;
  /** Key prefix for cross-instance de-dup claims. */
  claimPrefix?: string;
  drift?: Partial<Omit<DriftMonitorOptions, 'card' | 'publishDrift' | 'publishRetrain'>>;
}

export interface Monitoring {
  afterAck(outcome: BatchOutcome): Promise<void>;
  readonly drift: DriftMonitor | null;
}

export function createMonitoring(options: MonitoringOptions): Monitoring {
  const { nc, redis } = options;
  const claimPrefix = options.claimPrefix ?? 'reefguard:sp:claim:';
  const claim = async (key: string, ttlMs: number) =>
    (await redis.set(`${claimPrefix}${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  const publishJson = (subject: string, payload: unknown, msgId?: string) => {
    const h = msgId ? headers() : undefined;
    // A JetStream stream on the subject drops a repeated id (de-dup across restarts).
    if (h && msgId) h.set('Nats-Msg-Id', msgId);
    nc.publish(subject, JSON.stringify(payload), h ? { headers: h } : undefined);
  };
  const drift = options.card
    ? createDriftMonitor({
        metrics: options.metrics,
        notifier: options.notifier,
        claim,
        ...options.drift,
        card: options.card,
        publishDrift: async (event) => publishJson(natsSubjects.drift(event.feature), event),
        publishRetrain: async (request) =>
          publishJson(natsSubjects.retrainRequests, request, request.id),
      })
    : null;
  const alerts = options.notifier ? createAlertWatch(options.notifier) : null;
  return {
    drift,
    async afterAck(outcome) {
      for (const vector of outcome.vectors) {
        publishJson(natsSubjects.features(vector.site_id), vector);
        await drift?.observe(vector);
        await alerts?.observe(vector);
      }
      for (const item of outcome.quarantined) {
        publishJson(natsSubjects.quarantine(item.source), item);
      }
    },
  };
}
