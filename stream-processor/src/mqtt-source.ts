import { mqttTopics, type Secret, TransportError } from '@reefguard/core';
import mqtt from 'mqtt';
import { type BatchQueue, createBatchQueue, type Delivery } from './batch-queue.js';
import type { ReadingSource } from './jetstream-source.js';

export interface MqttSourceOptions {
  url: string;
  username?: string | undefined;
  password?: Secret | undefined;
  /** Shared-subscription group: each reading goes to one member. */
  group: string;
  /** Stable client id, so a restarted instance gets its unacknowledged messages again. */
  clientId: string;
  maxBatch?: number;
  /**
   * Sessions this instance holds in the shared subscription. MQTT.js hands over the next
   * QoS 1 message of a session only after the previous one is acknowledged, and we
   * acknowledge after the commit: each session contributes one message per batch, so the
   * batch size (and the throughput) grows with the sessions.
   */
  connections?: number;
  /** How long a batch waits for the other sessions' messages (default 2 ms). */
  lingerMs?: number;
  /** Topic filter inside the share; all readings by default (tests use their own root). */
  filter?: string;
}

export const DEFAULT_MQTT_CONNECTIONS = 32;
export const DEFAULT_MQTT_LINGER_MS = 2;

/**
 * Readings from `$share/{group}/reefguard/v1/readings/#` at QoS 1 with persistent sessions
 * (`{clientId}-{k}`, k < connections). The PUBACK is sent only when `ack()` is called after
 * the batch commits; each session has at most one message in hand, so a batch collects one
 * message from each session (micro-batches by size or `lingerMs`).
 */
export async function createMqttSource(options: MqttSourceOptions): Promise<ReadingSource> {
  const connections = options.connections ?? DEFAULT_MQTT_CONNECTIONS;
  const queue = createBatchQueue(
    options.maxBatch ?? 1000,
    connections > 1 ? (options.lingerMs ?? DEFAULT_MQTT_LINGER_MS) : 0,
  );
  const topic = options.filter
    ? `$share/${options.group}/${options.filter}`
    : mqttTopics.readingsShared(options.group);
  const clients = await Promise.all(
    Array.from({ length: connections }, (_, k) =>
      connectSession(
        options,
        connections === 1 ? options.clientId : `${options.clientId}-${k}`,
        queue,
      ),
    ),
  );
  await Promise.all(clients.map((c) => c.subscribeAsync(topic, { qos: 1 })));
  return {
    // Each session gets its next message only after this one's ack (after the commit).
    commitIntervalMs: 0,
    batches: () => queue.batches(),
    async close() {
      queue.end();
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}

async function connectSession(options: MqttSourceOptions, clientId: string, queue: BatchQueue) {
  return mqtt
    .connectAsync(options.url, {
      clientId,
      clean: false,
      // MQTT.js honours customHandleAcks (ack after commit) only on MQTT 5.
      protocolVersion: 5,
      username: options.username,
      password: options.password?.reveal(),
      reconnectPeriod: 1000,
      customHandleAcks: (topic, message, _packet, done) => {
        const delivery: Delivery = {
          data: message,
          subject: topic,
          receivedAtMs: Date.now(),
          ack: () => done(0),
        };
        queue.push(delivery);
      },
    })
    .catch((cause: unknown) => {
      throw new TransportError(`cannot connect to MQTT at ${options.url}; is the broker up?`, {
        cause,
      });
    });
}
