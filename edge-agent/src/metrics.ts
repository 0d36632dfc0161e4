import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Outbox } from './outbox.js';

/** Every metric the agent exposes on /metrics, in one registry it owns. */
export interface AgentMetrics {
  readonly registry: Registry;
  readonly enqueued: Counter;
  readonly rejected: Counter<'reason'>;
  readonly dropped: Counter<'policy'>;
  readonly published: Counter<'broker'>;
  readonly publishFailures: Counter<'broker'>;
  readonly inferences: Counter;
  readonly inferenceFailures: Counter;
  readonly lastInference: Gauge;
  readonly modelInfo: Gauge<'name' | 'version' | 'sha256'>;
  readonly modelUpdates: Counter<'outcome'>;
  readonly alerts: Counter<'channel'>;
}

export function createAgentMetrics(outbox: Outbox): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reefguard_edge_' });
  const registers = [registry];
  new Gauge({
    name: 'reefguard_edge_queue_depth',
    help: 'messages in the durable outbox not yet acknowledged by every broker',
    registers,
    collect() {
      this.set(outbox.stats().depth);
    },
  });
  new Gauge({
    name: 'reefguard_edge_queue_bytes',
    help: 'approximate bytes held by the outbox',
    registers,
    collect() {
      this.set(outbox.stats().bytes);
    },
  });
  new Gauge({
    name: 'reefguard_edge_oldest_unsent_age_seconds',
    help: 'age of the oldest message still waiting for a broker (0 when empty)',
    registers,
    collect() {
      const oldest = outbox.stats().oldestEnqueuedAtMs;
      this.set(oldest === null ? 0 : (Date.now() - oldest) / 1000);
    },
  });
  return {
    registry,
    enqueued: new Counter({
      name: 'reefguard_edge_readings_enqueued_total',
      help: 'readings stored in the outbox',
      registers,
    }),
    rejected: new Counter({
      name: 'reefguard_edge_readings_rejected_total',
      help: 'source records that failed validation',
      labelNames: ['reason'],
      registers,
    }),
    dropped: new Counter({
      name: 'reefguard_edge_queue_dropped_total',
      help: 'messages lost to the full-queue policy',
      labelNames: ['policy'],
      registers,
    }),
    published: new Counter({
      name: 'reefguard_edge_published_total',
      help: 'messages acknowledged by a broker',
      labelNames: ['broker'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'reefguard_edge_publish_failures_total',
      help: 'publish rounds that failed and will be retried',
      labelNames: ['broker'],
      registers,
    }),
    inferences: new Counter({
      name: 'reefguard_edge_inferences_total',
      help: 'local model predictions',
      registers,
    }),
    inferenceFailures: new Counter({
      name: 'reefguard_edge_inference_failures_total',
      help: 'local predictions that threw',
      registers,
    }),
    lastInference: new Gauge({
      name: 'reefguard_edge_last_inference_timestamp_seconds',
      help: 'unix time of the last local prediction',
      registers,
    }),
    modelInfo: new Gauge({
      name: 'reefguard_edge_model_info',
      help: '1 for the model the agent runs',
      labelNames: ['name', 'version', 'sha256'],
      registers,
    }),
    modelUpdates: new Counter({
      name: 'reefguard_edge_model_updates_total',
      help: 'model announcements handled, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    alerts: new Counter({
      name: 'reefguard_edge_alerts_total',
      help: 'local alerts raised, by channel',
      labelNames: ['channel'],
      registers,
    }),
  };
}
