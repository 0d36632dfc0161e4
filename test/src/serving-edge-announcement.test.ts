import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, Secret, startMosquitto, startNats } from '@reefguard/core';
import { type Agent, loadEdgeConfig, startAgent } from '@reefguard/edge-agent';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAnnouncer } from '../../serving/src/announcer.js';
import { MODEL_NAME, startTestApp, type TestApp, testSites } from '../../serving/test/helpers.js';

const { redisUrl } = inject('stack');
const TOKEN = 'edge-announcement-token';
const V1_SHA = '1f17507884b74f0bef13c7fb2ef3087ccb1099f1f3c55a5d060e8ae26b1e7114';

describe('serving -> edge agent - model announcements are acted on by a real agent', () => {
  let dir: string;
  let nats: LocalServer;
  let mosquitto: LocalServer;
  let t: TestApp;
  let agent: Agent;
  let base: string;
  let v2Sha: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-edge-announce-'));
    [nats, mosquitto] = await Promise.all([
      startNats({ dataDir: join(dir, 'nats') }),
      startMosquitto({ dataDir: join(dir, 'mosquitto') }),
    ]);
    t = await startTestApp({
      redisUrl,
      sites: testSites(`edge-${process.pid}`, 1),
      versions: { '1': 'v1', '2': 'v2' },
      aliases: { champion: '1' },
      approved: [`${MODEL_NAME} 2`],
      announcer: createAnnouncer({ natsUrl: nats.url, mqttUrl: mosquitto.url }),
      adminToken: new Secret(TOKEN),
    });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    // Announced URLs must point at this instance: the edge downloads from there.
    t.promotion.publicUrl = base;
    v2Sha = (await t.registry.readCard('2')).files.model.sha256;
    const config = loadEdgeConfig(
      {},
      {
        REEFGUARD_AGENT_ID: 'buoy-edge-announce',
        REEFGUARD_SITE_ID: 'pixel-8110',
        REEFGUARD_STATION_ID: 'davies-reef-wx',
        REEFGUARD_TRANSPORT: 'mqtt',
        REEFGUARD_MQTT_URL: mosquitto.url,
        REEFGUARD_NATS_URL: nats.url,
        REEFGUARD_STATE_DIR: join(dir, 'agent'),
        REEFGUARD_SOURCE: 'line',
        REEFGUARD_HEALTH_PORT: '0',
      },
    );
    agent = await startAgent(config, { logger: pino({ level: 'silent' }) });
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await t?.promotion.announcer?.close();
    await t?.close();
    await Promise.allSettled([nats?.stop(), mosquitto?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const admin = (path: string, payload?: unknown) =>
    t.app.inject({
      method: 'POST',
      url: path,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: payload as Record<string, unknown>,
    });

  it('a promotion is announced, downloaded from serving, checked and swapped in by the agent', async () => {
    const promoted = await admin('/admin/promote', { to: 'champion', version: '2' });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({ applied: true, version: '2' });
    await expect
      .poll(() => agent.slot.current()?.sha256, { timeout: 15_000, interval: 100 })
      .toBe(v2Sha);
    expect(t.app.models.hub.current()?.champion.version).toBe('2');
  });

  it('a rollback is announced and the agent goes back to the previous champion', async () => {
    const back = await admin('/admin/rollback');
    expect(back.json()).toMatchObject({ applied: true, target: 'champion', version: '1' });
    await expect
      .poll(() => agent.slot.current()?.sha256, { timeout: 15_000, interval: 100 })
      .toBe(V1_SHA);
  });
});
