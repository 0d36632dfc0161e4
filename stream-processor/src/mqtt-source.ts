import { mqttTopics, type Secret, TransportError } from '@reefguard/core';
import mqtt from 'mqtt';
import { createBatchQueue, type Delivery } from './batch-queue.js';
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
  /** Topic filter inside the share; all readings by default (tests use their own root). */
  filter?: string;
}

/**
 * Readings from `$share/{group}/reefguard/v1/readings/#` at QoS 1 with a persistent session.
 * The PUBACK is sent only when `ack()` is called after the commit; MQTT.js handles one
 * incoming packet at a time while an ack is pending, so this source trades throughput for
 * the guarantee (JetStream is the high-volume path).
 */
export async function createMqttSource(options: MqttSourceOptions): Promise<ReadingSource> {
  const queue = createBatchQueue(options.maxBatch ?? 1000);
  const client = await mqtt
    .connectAsync(options.url, {
      clientId: options.clientId,
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
  const topic = options.filter
    ? `$share/${options.group}/${options.filter}`
    : mqttTopics.readingsShared(options.group);
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    batches: () => queue.batches(),
    async close() {
      queue.end();
      await client.endAsync(true);
    },
  };
}
