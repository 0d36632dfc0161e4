import { mqttTopics, type Secret, TransportError } from '@reefguard/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { StoredMessage } from './outbox.js';
import { backoffMs, type Publisher } from './publisher.js';
import { type AgentStatus, offlineStatus } from './status.js';

export interface MqttLinkOptions {
  url: string;
  agentId: string;
  username?: string;
  password?: Secret;
  /** PEM contents for mqtts:// (read from files by the CLI). */
  tls?: { ca?: string; cert?: string; key?: Secret };
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** MQTT 5 session expiry: how long the broker keeps our session while we are away. */
  sessionExpirySeconds?: number;
  onAnnouncement?: (payload: string) => void;
}

export const DEFAULT_RECONNECT_BASE_MS = 500;
export const DEFAULT_RECONNECT_MAX_MS = 30_000;
export const DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600;

/** The MQTT side of the agent: a Publisher plus the retained status and model announcements. */
export interface MqttLink extends Publisher {
  publishStatus(status: AgentStatus): Promise<void>;
}

/**
 * One persistent MQTT 5 session (clean start off, session expiry) per agent: QoS 1 readings
 * and alerts, a retained status whose last will is "offline", and the announcement
 * subscription, which the broker keeps for us while we are away.
 */
export function connectMqttLink(options: MqttLinkOptions): MqttLink {
  const baseMs = options.reconnectBaseMs ?? DEFAULT_RECONNECT_BASE_MS;
  const maxMs = options.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS;
  const statusTopic = mqttTopics.agentStatus(options.agentId);
  const clientOptions: IClientOptions = {
    clientId: `reefguard-edge-${options.agentId}`,
    protocolVersion: 5,
    clean: false,
    properties: {
      sessionExpiryInterval: options.sessionExpirySeconds ?? DEFAULT_SESSION_EXPIRY_S,
    },
    username: options.username,
    password: options.password?.reveal(),
    reconnectPeriod: backoffMs(0, baseMs, maxMs),
    connectTimeout: 10_000,
    will: {
      topic: statusTopic,
      payload: Buffer.from(JSON.stringify(offlineStatus(options.agentId))),
      qos: 1,
      retain: true,
    },
    ca: options.tls?.ca,
    cert: options.tls?.cert,
    key: options.tls?.key?.reveal(),
  };
  // Not awaited: an agent must start and queue readings while the link is down.
  const client: MqttClient = mqtt.connect(options.url, clientOptions);
  // mqtt.js retries at a fixed period; we widen it after each failure, with jitter.
  let attempt = 0;
  client.on('close', () => {
    client.options.reconnectPeriod = backoffMs(attempt++, baseMs, maxMs);
  });
  client.on('connect', () => {
    attempt = 0;
    if (options.onAnnouncement) {
      client.subscribe(mqttTopics.modelAnnouncements, { qos: 1 });
    }
  });
  client.on('error', () => {
    // Reported through isConnected() and failed publishes; reconnect is the client's job.
  });
  if (options.onAnnouncement) {
    const handler = options.onAnnouncement;
    client.on('message', (topic, payload) => {
      if (topic === mqttTopics.modelAnnouncements) handler(payload.toString());
    });
  }

  return {
    broker: 'mqtt',
    isConnected: () => client.connected,
    async publish(messages: readonly StoredMessage[]) {
      if (!client.connected) throw new TransportError(`MQTT ${options.url} is not connected`);
      try {
        await Promise.all(
          messages.map((message) =>
            client.publishAsync(topicOf(message), message.body, { qos: 1 }),
          ),
        );
      } catch (cause) {
        throw new TransportError(`MQTT ${options.url} did not acknowledge the batch`, { cause });
      }
    },
    async publishStatus(status) {
      if (!client.connected) return;
      await client.publishAsync(statusTopic, JSON.stringify(status), { qos: 1, retain: true });
    },
    async close() {
      if (client.connected) {
        await client
          .publishAsync(statusTopic, JSON.stringify(offlineStatus(options.agentId)), {
            qos: 1,
            retain: true,
          })
          .catch(() => undefined);
      }
      await client.endAsync(!client.connected);
    },
  };
}

function topicOf(message: StoredMessage): string {
  return message.kind === 'alert'
    ? mqttTopics.alert(message.siteId)
    : mqttTopics.reading(message.siteId, message.stationId);
}
