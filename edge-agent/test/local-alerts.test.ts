import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  type BuoyReading,
  freePort,
  mqttTopics,
  predictionSchema,
  readingId,
  readModelCard,
  SCHEMA_VERSION,
  startMosquitto,
} from '@reefguard/core';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createLocalFeatures, startAgent } from '../src/index.js';
import { edgeConfig, quietLogger, tempDir, waitFor } from './helpers.js';

const models = resolve(import.meta.dirname, '../../test/fixtures/models');
const DAY_MS = 86_400_000;
const start = Date.parse('2024-01-01T00:00:00Z');

/** Four readings a day (00, 06, 12, 18 UTC) at `sstC`, for `days` days. */
function warmDays(days: number, sstC: number, from = 0): BuoyReading[] {
  return Array.from({ length: days * 4 }, (_, i) => {
    const at = new Date(
      start + (from + Math.floor(i / 4)) * DAY_MS + (i % 4) * 6 * 3_600_000,
    ).toISOString();
    return {
      schema_version: SCHEMA_VERSION,
      id: readingId('davies-buoy', 'water_temperature', at),
      site_id: '18-054',
      station_id: 'davies-buoy',
      parameter: 'water_temperature',
      value: sstC,
      unit: 'degC',
      observed_at: at,
      source: 'serial',
    };
  });
}

describe('local features - core CRW code on the agent own readings', () => {
  it('30 days at MMM + 1.5 degC: HotSpot 1.5, DHW 30 x 1.5 / 7, Alert Level 1', async () => {
    const temp = await tempDir('edge-features-');
    const statePath = join(temp.dir, 'crw.bin');
    const features = await createLocalFeatures({ siteId: '18-054', mmmC: 28, statePath });
    for (const reading of warmDays(31, 29.5)) features.observe(reading);
    // Day 31 is still open: CRW products are those of the 30 complete days.
    expect(features.values()).toMatchObject({
      hotspot: 1.5,
      alert_level: 3,
      sst_daily_mean: 29.5,
      sst_rolling_avg_7d: 29.5,
      mmm: 28,
    });
    expect(features.values().dhw).toBeCloseTo((30 * 1.5) / 7, 2);
    expect(features.values().sst_anomaly).toBeNull();
    features.setCloudContext({
      schema_version: 1,
      site_id: '18-054',
      as_of: '2024-01-31T00:00:00Z',
      computed_at: '2024-01-31T00:00:00Z',
      feature_set_version: 'v1',
      values: { sst_clim_mean: 28.5, dhw_prev_year_max: 2.1 },
    });
    const card = await readModelCard(join(models, 'v1'));
    expect(Array.from(features.row(card)).map((v) => Math.round(v * 100) / 100)).toEqual([
      6.43, 1.5, 1, 29.5,
    ]);
    expect(features.values().dhw_prev_year_max).toBe(2.1);
    // The CRW state survives a restart: one more warm day adds 1.5 / 7.
    await features.save();
    const restarted = await createLocalFeatures({ siteId: '18-054', mmmC: 28, statePath });
    for (const reading of warmDays(2, 29.5, 31)) restarted.observe(reading);
    expect(restarted.values().dhw).toBeCloseTo((31 * 1.5) / 7, 2);
    await temp.remove();
  });
});

describe('local alerts - raised with the link down', () => {
  it('heat stress from the local feed alerts on the webhook once and queues the MQTT alert', async () => {
    const temp = await tempDir('edge-alert-');
    const received: unknown[] = [];
    const webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push(JSON.parse(body));
        response.end('ok');
      });
    });
    await new Promise<void>((done) => webhook.listen(0, '127.0.0.1', done));
    const lines = warmDays(40, 29.6).map((r) => `${r.observed_at},water_temperature,${r.value}\n`);
    const agent = await startAgent(
      edgeConfig({
        STATE_DIR: join(temp.dir, 'agent'),
        TRANSPORT: 'mqtt',
        MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`,
        SOURCE: 'line',
        MODEL_DIR: join(models, 'v1'),
        MMM_C: 28,
        CLIMATOLOGY_MONTHLY_C: Array(12).fill(28.2),
        ALERT_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alert`,
      }),
      { logger: quietLogger(), stdin: Readable.from(lines) },
    );
    try {
      const left = await agent.runOnce(AbortSignal.timeout(1_500));
      expect(received).toHaveLength(1);
      const alert = predictionSchema.parse(received[0]);
      expect(alert).toMatchObject({ site_id: '18-054', model_version: 'v1', band: 'severe' });
      expect(alert.risk).toBeGreaterThan(0.5);
      const queued = (await agent.outbox.peek(1000)).filter((m) => m.kind === 'alert');
      expect(queued).toHaveLength(1);
      expect(JSON.parse(queued[0]?.body ?? '{}')).toEqual(received[0]);
      expect(left).toBe(161);
      const metrics = await agent.metrics.registry.metrics();
      expect(metrics).toContain('reefguard_edge_alerts_total{channel="webhook"} 1');
      expect(metrics).toContain('reefguard_edge_inference_failures_total 0');
    } finally {
      await agent.close();
      await new Promise((done) => webhook.close(done));
      await temp.remove();
    }
  });

  it('online, the same alert reaches the MQTT alert topic of the site', async () => {
    const temp = await tempDir('edge-alert-mqtt-');
    const mosquitto = await startMosquitto({ dataDir: join(temp.dir, 'mosquitto') });
    const alerts: unknown[] = [];
    const watcher = await mqtt.connectAsync(mosquitto.url, { clean: true });
    watcher.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString())));
    await watcher.subscribeAsync(mqttTopics.alert('18-054'), { qos: 1 });
    const lines = warmDays(40, 29.6).map((r) => `${r.observed_at},water_temperature,${r.value}\n`);
    const agent = await startAgent(
      edgeConfig({
        STATE_DIR: join(temp.dir, 'agent'),
        TRANSPORT: 'mqtt',
        MQTT_URL: mosquitto.url,
        SOURCE: 'line',
        MODEL_DIR: join(models, 'v1'),
        MMM_C: 28,
      }),
      { logger: quietLogger(), stdin: Readable.from(lines) },
    );
    try {
      expect(await agent.runOnce(AbortSignal.timeout(10_000))).toBe(0);
      await waitFor(() => alerts.length > 0, 5_000, 'the MQTT alert');
      expect(alerts).toHaveLength(1);
      expect(predictionSchema.parse(alerts[0])).toMatchObject({
        site_id: '18-054',
        model_version: 'v1',
      });
    } finally {
      await agent.close();
      await watcher.endAsync();
      await mosquitto.stop();
      await temp.remove();
    }
  });
});
