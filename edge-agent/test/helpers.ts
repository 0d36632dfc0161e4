import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { mqttTopics } from '@reefguard/core';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { type EdgeConfig, loadEdgeConfig } from '../src/index.js';

export const quietLogger = () => pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

export async function tempDir(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function edgeConfig(values: Record<string, unknown>): EdgeConfig {
  return loadEdgeConfig(
    {
      AGENT_ID: 'gw-test',
      SITE_ID: '18-054',
      STATION_ID: 'davies-buoy',
      HEALTH_PORT: 0,
      RECONNECT_BASE_MS: 100,
      HEARTBEAT_MS: 1000,
      OUTBOX_FSYNC: 'never',
      ...values,
    },
    {},
  );
}

/** A persistent-session MQTT subscriber counting every reading id it gets, repeats included. */
export async function collectMqtt(url: string, clientId: string) {
  const ids: string[] = [];
  const client = await mqtt.connectAsync(url, {
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 100,
  });
  client.on('message', (_topic, payload) =>
    ids.push((JSON.parse(payload.toString()) as { id: string }).id),
  );
  await client.subscribeAsync(mqttTopics.readingsAll, { qos: 1 });
  return { ids, close: () => client.endAsync(true) };
}

/** Every reading id stored in a JetStream stream, in order. */
export async function streamIds(natsUrl: string, stream: string): Promise<string[]> {
  const nc = await connectNats({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq });
      if (msg) ids.push((msg.json() as { id: string }).id);
    }
    return ids;
  } finally {
    await nc.close();
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const distinct = (ids: readonly string[]) => new Set(ids).size;
