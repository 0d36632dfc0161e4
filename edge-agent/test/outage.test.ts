import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMosquitto, startNats } from '@reefguard/core';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../src/index.js';
import {
  collectMqtt,
  distinct,
  edgeConfig,
  quietLogger,
  streamIds,
  tempDir,
  waitFor,
} from './helpers.js';

const N = 3000;

describe('outage - brokers stopped mid-stream and restarted', () => {
  it('every reading arrives exactly once after de-duplication, on MQTT and JetStream', async () => {
    const temp = await tempDir('edge-outage-');
    const mosquitto = await startMosquitto({ dataDir: join(temp.dir, 'mosquitto') });
    const nats = await startNats({ dataDir: join(temp.dir, 'nats') });
    const subscriber = await collectMqtt(mosquitto.url, 'outage-subscriber');
    const agent = await startAgent(
      edgeConfig({
        STATE_DIR: join(temp.dir, 'agent'),
        MQTT_URL: mosquitto.url,
        NATS_URL: nats.url,
        NATS_STREAM: 'OUTAGE',
        SOURCE: 'replay',
        REPLAY_GENERATE_COUNT: N,
        // 10-minute readings at 2 ms each: about 6 s of continuous publishing.
        REPLAY_SPEED: 300_000,
      }),
      { logger: quietLogger() },
    );
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    try {
      await waitFor(
        () => agent.metrics.enqueued.get().then((m) => (m.values[0]?.value ?? 0) > 500),
        10_000,
        'first readings',
      );
      await Promise.all([mosquitto.stop(), nats.stop()]);
      await sleep(1_500);
      const during = agent.health();
      expect(during.status).toBe('degraded');
      expect(during.queue_depth).toBeGreaterThan(0);
      await Promise.all([mosquitto.restart(), nats.restart()]);
      await waitFor(
        async () => {
          const enqueued = (await agent.metrics.enqueued.get()).values[0]?.value ?? 0;
          return enqueued === N && agent.outbox.stats().depth === 0;
        },
        25_000,
        'the outbox to drain after the outage',
      );
      await waitFor(() => distinct(subscriber.ids) >= N, 10_000, 'MQTT subscriber to catch up');
      const stored = await streamIds(nats.url, 'OUTAGE');
      const counts = {
        generated: N,
        mqttReceived: subscriber.ids.length,
        mqttDistinct: distinct(subscriber.ids),
        jetstreamStored: stored.length,
        jetstreamDistinct: distinct(stored),
        queueDepthDuringOutage: during.queue_depth,
      };
      console.log('outage counts', JSON.stringify(counts));
      expect(counts.mqttDistinct).toBe(N);
      expect(counts.jetstreamStored).toBe(N);
      expect(counts.jetstreamDistinct).toBe(N);
    } finally {
      controller.abort();
      await running;
      await agent.close();
      await subscriber.close();
      await Promise.allSettled([mosquitto.stop(), nats.stop()]);
      await temp.remove();
    }
  }, 60_000);
});
