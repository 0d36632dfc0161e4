import type { ContractName } from './contracts/index.js';

/** Every MQTT topic and NATS subject starts with the product and the contract major version. */
export const MQTT_ROOT = 'reefguard/v1';
export const NATS_ROOT = 'reefguard.v1';

/** MQTT topics. Site and station ids are restricted to characters safe in topic levels. */
export const mqttTopics = {
  reading: (siteId: string, stationId: string) => `${MQTT_ROOT}/readings/${siteId}/${stationId}`,
  readingsAll: `${MQTT_ROOT}/readings/#`,
  /** Shared subscription: each reading goes to one member of the group. */
  readingsShared: (group: string) => `$share/${group}/${MQTT_ROOT}/readings/#`,
  agentStatus: (agentId: string) => `${MQTT_ROOT}/agents/${agentId}/status`,
  alert: (siteId: string) => `${MQTT_ROOT}/alerts/${siteId}`,
  modelAnnouncements: `${MQTT_ROOT}/models/announcements`,
} as const;

/** NATS subjects and the JetStream streams that hold them. */
export const natsSubjects = {
  reading: (siteId: string) => `${NATS_ROOT}.readings.${siteId}`,
  satellite: (product: string) => `${NATS_ROOT}.satellite.${product}`,
  features: (siteId: string) => `${NATS_ROOT}.features.${siteId}`,
  prediction: (siteId: string) => `${NATS_ROOT}.predictions.${siteId}`,
  drift: (feature: string) => `${NATS_ROOT}.drift.${feature}`,
  retrainRequests: `${NATS_ROOT}.retrain.requests`,
  retrainResults: `${NATS_ROOT}.retrain.results`,
  modelAnnouncements: `${NATS_ROOT}.models.announcements`,
  rolloutDecisions: `${NATS_ROOT}.models.decisions`,
  quarantine: (source: string) => `${NATS_ROOT}.quarantine.${source}`,
} as const;

export const STREAMS = {
  READINGS: `${NATS_ROOT}.readings.>`,
  SATELLITE: `${NATS_ROOT}.satellite.>`,
  DRIFT: `${NATS_ROOT}.drift.>`,
  RETRAIN: `${NATS_ROOT}.retrain.>`,
  MODELS: `${NATS_ROOT}.models.>`,
  QUARANTINE: `${NATS_ROOT}.quarantine.>`,
} as const;

/**
 * The JetStream streams of the closed loop (drift -> retrain -> rollout), kept so that
 * `reefguard trace` can read a whole chain back. Whoever starts first creates the stream;
 * a stream that already takes the subjects is used as it is.
 */
export const LOOP_STREAMS = {
  drift: { name: 'REEFGUARD_DRIFT', subjects: [STREAMS.DRIFT] },
  retrain: { name: 'REEFGUARD_RETRAIN', subjects: [STREAMS.RETRAIN] },
  models: { name: 'REEFGUARD_MODELS', subjects: [STREAMS.MODELS] },
} as const;

export interface TopicEntry {
  topic: string;
  payload: ContractName | 'agent-status' | 'quarantined-item';
  producer: string;
  consumers: string;
}

/** The one table of who publishes what where; README's topic table is generated from it. */
export const TOPIC_TABLE: readonly TopicEntry[] = [
  {
    topic: `MQTT ${MQTT_ROOT}/readings/{site}/{station}`,
    payload: 'buoy-reading',
    producer: 'edge-agent',
    consumers: 'stream-processor (shared subscription)',
  },
  {
    topic: `NATS ${NATS_ROOT}.readings.{site}`,
    payload: 'buoy-reading',
    producer: 'edge-agent',
    consumers: 'stream-processor (durable consumer)',
  },
  {
    topic: `MQTT ${MQTT_ROOT}/agents/{agent}/status`,
    payload: 'agent-status',
    producer: 'edge-agent (retained, last will "offline")',
    consumers: 'serving, monitoring',
  },
  {
    topic: `MQTT ${MQTT_ROOT}/alerts/{site}`,
    payload: 'prediction',
    producer: 'edge-agent',
    consumers: 'operators, serving',
  },
  {
    topic: `NATS ${NATS_ROOT}.satellite.{product}`,
    payload: 'satellite-observation',
    producer: 'stream-processor ingest',
    consumers: 'stream-processor features',
  },
  {
    topic: `NATS ${NATS_ROOT}.features.{site}`,
    payload: 'feature-vector',
    producer: 'stream-processor',
    consumers: 'edge-agent (cloud context)',
  },
  {
    topic: `NATS ${NATS_ROOT}.predictions.{site}`,
    payload: 'prediction',
    producer: 'serving',
    consumers: 'audit, report',
  },
  {
    topic: `NATS ${NATS_ROOT}.drift.{feature}`,
    payload: 'drift-event',
    producer: 'stream-processor',
    consumers: 'trainer retrain worker, report',
  },
  {
    topic: `NATS ${NATS_ROOT}.retrain.requests`,
    payload: 'retrain-request',
    producer: 'stream-processor',
    consumers: 'trainer retrain worker',
  },
  {
    topic: `NATS ${NATS_ROOT}.retrain.results`,
    payload: 'retrain-result',
    producer: 'trainer retrain worker',
    consumers: 'serving rollout controller (durable consumer)',
  },
  {
    topic: `NATS ${NATS_ROOT}.models.announcements / MQTT ${MQTT_ROOT}/models/announcements`,
    payload: 'model-announcement',
    producer: 'serving (promotion, canary, rollback)',
    consumers: 'edge-agent',
  },
  {
    topic: `NATS ${NATS_ROOT}.models.decisions`,
    payload: 'rollout-decision',
    producer: 'serving (promotion, canary, rollback)',
    consumers: 'trace, report',
  },
  {
    topic: `NATS ${NATS_ROOT}.quarantine.{source}`,
    payload: 'quarantined-item',
    producer: 'stream-processor, edge-agent',
    consumers: 'operators',
  },
];

/** The topic table as Markdown, as it stands in README.md. */
export function renderTopicTable(): string {
  const rows = TOPIC_TABLE.map(
    (t) => `| \`${t.topic}\` | ${t.payload} | ${t.producer} | ${t.consumers} |`,
  );
  return ['| topic | payload schema | producer | consumers |', '|---|---|---|---|', ...rows].join(
    '\n',
  );
}
