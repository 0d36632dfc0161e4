import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Secret, TransportError } from '@reefguard/core';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';

/** Connects to NATS; the error says which server could not be reached. */
export async function connectNats(url: string, token?: Secret): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, ...(token ? { token: token.reveal() } : {}) });
  } catch (cause) {
    throw new TransportError(`cannot connect to NATS at ${url}; is nats-server up?`, { cause });
  }
}

/** Connects to Redis eagerly, so a wrong URL fails at start-up rather than on first write. */
export async function connectRedis(url: Secret): Promise<Redis> {
  const redis = new Redis(url.reveal(), { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new TransportError('cannot connect to Redis (REEFGUARD_REDIS_URL); is it up?', { cause });
  }
  return redis;
}

/** Publishes readings (or any JSON) onto subjects kept by a JetStream stream. */
export interface SubjectPublisher {
  /** Waits for the stream's ack; `msgId` lets JetStream drop a duplicate publish. */
  publish(subject: string, payload: string, msgId?: string): Promise<void>;
  /** Fire and forget (core NATS); the stream still stores it, without a publish ack. */
  publishFast(subject: string, payload: string): void;
  flush(): Promise<void>;
}

export function createSubjectPublisher(nc: NatsConnection): SubjectPublisher {
  const js = jetstream(nc);
  return {
    async publish(subject, payload, msgId) {
      await js.publish(subject, payload, msgId ? { msgID: msgId } : undefined);
    },
    publishFast: (subject, payload) => nc.publish(subject, payload),
    flush: () => nc.flush(),
  };
}

/** A QoS 1 MQTT publisher (replays, benchmarks): resolves each publish on its PUBACK. */
export interface MqttPublisher {
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export async function connectMqttPublisher(url: string, clientId: string): Promise<MqttPublisher> {
  const client = await mqtt.connectAsync(url, { clientId }).catch((cause: unknown) => {
    throw new TransportError(`cannot connect to MQTT at ${url}; is the broker up?`, { cause });
  });
  return {
    async publish(topic, payload) {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    close: () => client.endAsync(),
  };
}
