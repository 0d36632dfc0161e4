import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import {
  freePort,
  type LocalServer,
  natsSubjects,
  type Prediction,
  predictionSchema,
  startNats,
} from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createPredictionPublisher,
  DEFAULT_PREDICTIONS_STREAM,
  type PredictionPublisher,
} from '../src/prediction-publisher.js';
import {
  featureHash,
  HOT,
  startTestApp,
  type TestApp,
  testSites,
  writeFeatures,
} from './helpers.js';

const { redisUrl } = inject('stack');
const asOf = new Date(Date.now() - 3_600_000).toISOString();

/** Reads `n` messages of the predictions stream from its start with an ordered consumer. */
async function readStream(
  nc: NatsConnection,
  n: number,
  timeoutMs = 10_000,
): Promise<Prediction[]> {
  const consumer = await jetstream(nc).consumers.get(DEFAULT_PREDICTIONS_STREAM);
  const out: Prediction[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const message = await consumer.next({ expires: 1_000 });
    if (!message) continue;
    const prediction = predictionSchema.parse(message.json());
    expect(message.subject).toBe(natsSubjects.prediction(prediction.site_id));
    out.push(prediction);
  }
  return out;
}

async function metric(t: TestApp, pattern: RegExp): Promise<number> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const match = text.match(pattern);
  return match ? Number(match[1]) : Number.NaN;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('predictions topic - real NATS JetStream', () => {
  const sites = testSites(`pred-${process.pid}`, 4);
  const ids = sites.map((s) => s.site_id);
  let dir: string;
  let nats: LocalServer;
  let nc: NatsConnection;
  let publisher: PredictionPublisher;
  let t: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-predictions-'));
    nats = await startNats({ dataDir: join(dir, 'nats') });
    nc = await connectNats({ servers: nats.url });
    publisher = createPredictionPublisher({ natsUrl: nats.url });
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
      predictions: publisher,
    });
    for (const id of ids.slice(0, 3)) await writeFeatures(t.redis, id, featureHash(asOf, HOT));
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    await publisher?.close();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('each answer of /v1/predict and /v1/predict/batch arrives on reefguard.v1.predictions.{site}, as answered', async () => {
    const one = await t.app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: { site_id: ids[0] },
    });
    expect(one.statusCode).toBe(200);
    // The fourth site has no features: its error is answered, not published.
    const batch = await t.app.inject({
      method: 'POST',
      url: '/v1/predict/batch',
      payload: { site_ids: ids.slice(1) },
    });
    expect(batch.json().predictions).toHaveLength(2);
    expect(batch.json().errors).toHaveLength(1);
    const answered = [one.json(), ...batch.json().predictions] as Prediction[];

    const received = await readStream(nc, 3);
    expect(received).toEqual(answered);
    // Nothing else was published: the failed site and the risk map stay off the topic.
    await t.app.inject({ method: 'GET', url: '/v1/risk-map' });
    await publisher.flush();
    const info = await (await jetstreamManager(nc)).streams.info(DEFAULT_PREDICTIONS_STREAM);
    expect(info.state.messages).toBe(3);
    expect(info.config.subjects).toEqual(['reefguard.v1.predictions.>']);
    expect(await metric(t, /reefguard_predictions_published_total (\d+)/)).toBe(3);
    expect(
      await metric(t, /reefguard_predictions_dropped_total\{reason="buffer_full"\} (\d+)/),
    ).toBe(0);
  });
});

describe('predictions topic - NATS away: answers never wait, the buffer is bounded', () => {
  it('close() with NATS never reached stops retrying (a server shuts down instead of hanging)', async () => {
    const port = await freePort();
    const publisher = createPredictionPublisher({ natsUrl: `nats://127.0.0.1:${port}` });
    await new Promise((r) => setTimeout(r, 700));
    const started = Date.now();
    await publisher.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    // Anything still retrying would connect here within its 500 ms retry wait.
    let attempts = 0;
    const listener = createServer((socket) => {
      attempts += 1;
      socket.destroy();
    });
    await new Promise<void>((r) => listener.listen(port, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 1_500));
    await new Promise((r) => listener.close(r));
    expect(attempts).toBe(0);
  });

  it('predictions wait in a bounded buffer while NATS is down, the rest are dropped and counted, and the buffer drains when NATS comes back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reefguard-predictions-down-'));
    const sites = testSites(`pred-down-${process.pid}`, 5);
    const port = await freePort();
    const publisher = createPredictionPublisher({
      natsUrl: `nats://127.0.0.1:${port}`,
      maxBuffered: 3,
      flushIntervalMs: 5,
    });
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
      predictions: publisher,
    });
    let nats: LocalServer | undefined;
    let nc: NatsConnection | undefined;
    try {
      for (const site of sites) await writeFeatures(t.redis, site.site_id, featureHash(asOf, HOT));
      // No NATS server at all: every request is still answered.
      for (const site of sites) {
        const response = await t.app.inject({
          method: 'POST',
          url: '/v1/predict',
          payload: { site_id: site.site_id },
        });
        expect(response.statusCode).toBe(200);
      }
      expect(await metric(t, /reefguard_predictions_buffered (\d+)/)).toBe(3);
      expect(
        await metric(t, /reefguard_predictions_dropped_total\{reason="buffer_full"\} (\d+)/),
      ).toBe(2);

      nats = await startNats({ dataDir: join(dir, 'nats'), port });
      await waitFor(async () => publisher.stats().published === 3, 15_000);
      nc = await connectNats({ servers: nats.url });
      const received = await readStream(nc, 3);
      expect(received.map((p) => p.site_id)).toEqual(sites.slice(0, 3).map((s) => s.site_id));

      // Down again after it was up: the reconnecting client is not handed anything.
      await nc.close();
      nc = undefined;
      await nats.kill();
      await waitFor(async () => {
        await t.app.inject({
          method: 'POST',
          url: '/v1/predict',
          payload: { site_id: sites[4]?.site_id },
        });
        return publisher.stats().buffered === 3;
      });
      const dropped = publisher.stats().droppedFull;
      expect(dropped).toBeGreaterThanOrEqual(2);
      await nats.restart();
      await waitFor(async () => publisher.stats().buffered === 0, 15_000);
      nc = await connectNats({ servers: nats.url });
      const all = await readStream(nc, 6);
      expect(all.slice(3).map((p) => p.site_id)).toEqual(Array(3).fill(sites[4]?.site_id));
    } finally {
      await t.close();
      await publisher.close(500);
      await nc?.close();
      await nats?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
