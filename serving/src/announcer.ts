import { connect as connectNats, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  type ModelAnnouncement,
  modelAnnouncementSchema,
  mqttTopics,
  natsSubjects,
  type RolloutDecision,
  rolloutDecisionSchema,
  type Secret,
  TransportError,
} from '@reefguard/core';
import mqtt, { type MqttClient } from 'mqtt';

/** Tells edge agents (and other servers) which model to run after each decision. */
export interface Announcer {
  announce(announcement: ModelAnnouncement): Promise<void>;
  /** Publishes a rollout decision (NATS only: it is for the trace and the report). */
  publishDecision(decision: RolloutDecision): Promise<void>;
  close(): Promise<void>;
}

export interface AnnouncerOptions {
  natsUrl: string;
  natsToken?: Secret;
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: Secret;
}

function msgIdHeaders(id: string) {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  return h;
}

/**
 * Publishes on NATS and on MQTT, retained at QoS 1 so an agent that connects later still gets
 * the latest decision. Connections open on the first announcement and stay open until close.
 */
export function createAnnouncer(options: AnnouncerOptions): Announcer {
  let nats: Promise<NatsConnection> | null = null;
  let broker: Promise<MqttClient> | null = null;
  const natsConnection = () => {
    nats ??= connectNats({
      servers: options.natsUrl,
      token: options.natsToken?.reveal(),
      name: 'reefguard-serving-announcer',
    });
    return nats;
  };
  const mqttClient = () => {
    broker ??= mqtt.connectAsync(options.mqttUrl, {
      username: options.mqttUsername,
      password: options.mqttPassword?.reveal(),
      clean: true,
      reconnectPeriod: 1_000,
    });
    return broker;
  };
  return {
    async announce(announcement) {
      const payload = JSON.stringify(modelAnnouncementSchema.parse(announcement));
      try {
        const nc = await natsConnection();
        nc.publish(natsSubjects.modelAnnouncements, payload);
        await nc.flush();
      } catch (cause) {
        throw new TransportError(`could not announce on NATS ${options.natsUrl}`, { cause });
      }
      try {
        const client = await mqttClient();
        await client.publishAsync(mqttTopics.modelAnnouncements, payload, { qos: 1, retain: true });
      } catch (cause) {
        throw new TransportError(`could not announce on MQTT ${options.mqttUrl}`, { cause });
      }
    },
    async publishDecision(decision) {
      const payload = JSON.stringify(rolloutDecisionSchema.parse(decision));
      try {
        const nc = await natsConnection();
        // The loop's MODELS stream keeps it; the id makes a repeated publish a no-op there.
        nc.publish(natsSubjects.rolloutDecisions, payload, {
          headers: msgIdHeaders(decision.id),
        });
        await nc.flush();
      } catch (cause) {
        throw new TransportError(`could not publish a rollout decision on ${options.natsUrl}`, {
          cause,
        });
      }
    },
    async close() {
      const [nc, client] = [nats, broker];
      nats = null;
      broker = null;
      await Promise.allSettled([nc?.then((c) => c.close()), client?.then((c) => c.endAsync())]);
    },
  };
}
