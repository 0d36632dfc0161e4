import { jetstream } from '@nats-io/jetstream';
import {
  type BatchOutcome,
  createMqttSource,
  type StreamProcessor,
  startStreamProcessor,
} from '@reefguard/stream-processor';
import mqtt from 'mqtt';
import { describe, expect, inject, it } from 'vitest';
import { eventually, isolation, reading, useIsolatedConnections } from './stream-helpers.js';

const { natsUrl, redisUrl, mqttUrl } = inject('stack');
const SITES = ['18-054', '19-138', '16-024', '14-116'];
const DAY = Math.floor(Date.parse('2024-02-15T00:00:00Z') / 86_400_000);

/** 4 sites x 60 readings of 2024-02-15, value 26 + (i mod 5): mean 28 per site. */
const readings = SITES.flatMap((site) =>
  Array.from({ length: 60 }, (_, i) =>
    reading(site, new Date(DAY * 86_400_000 + i * 60_000).toISOString(), 26 + (i % 5)),
  ),
);

describe('stream processor - two instances share the load without double counting', () => {
  const stack = useIsolatedConnections({ natsUrl, redisUrl });

  async function expectCountedOnce(instances: StreamProcessor[], outcomes: BatchOutcome[][]) {
    const { redis, iso } = stack;
    await eventually(async () => {
      const applied = outcomes.flat().reduce((s, o) => s + o.applied + o.duplicates, 0);
      return applied >= readings.length ? applied : undefined;
    });
    const perInstance = outcomes.map((list) => list.reduce((s, o) => s + o.applied, 0));
    // Both took part, and together they applied each reading exactly once.
    expect(perInstance.every((n) => n > 0)).toBe(true);
    expect(perInstance[0]! + perInstance[1]!).toBe(readings.length);
    const stored = await Promise.all(
      instances.map(async (p) => {
        const rows = await p.offline.query('SELECT count(*)::INT AS n FROM readings');
        return rows[0]?.n as number;
      }),
    );
    expect(stored[0]! + stored[1]!).toBe(readings.length);
    // Each instance read a site whole the first time it saw it and after each conflict (the
    // other instance had committed to it since): the metrics say so.
    for (const [i, p] of instances.entries()) {
      const seen = new Set(outcomes[i]?.flatMap((o) => o.vectors.map((v) => v.site_id)));
      const reads = (await p.metrics.stateSiteReads.get()).values[0]?.value;
      const conflicts = (await p.metrics.stateConflicts.get()).values[0]?.value ?? 0;
      expect(reads).toBe(seen.size + conflicts);
    }
    for (const site of SITES) {
      expect(await redis.hget(`${iso.options.statePrefix}days:${site}`, `${DAY}n`)).toBe('60');
      expect(await redis.hget(iso.onlineKey(site), 'sst_daily_mean')).toBe('28');
    }
  }

  it('JetStream - two instances on one durable consumer', async () => {
    const { nc, redis, iso } = stack;
    const outcomes: BatchOutcome[][] = [[], []];
    const instances = await Promise.all(
      [0, 1].map((i) =>
        startStreamProcessor({
          ...iso.options,
          nc,
          redis,
          offlinePath: `${iso.dir}/js-${i}.duckdb`,
          maxBatch: 20,
          afterAck: (o) => {
            outcomes[i]?.push(o);
          },
        }),
      ),
    );
    try {
      const js = jetstream(nc);
      await Promise.all(
        readings.map((r) => js.publish(iso.subject(r.site_id), JSON.stringify(r), { msgID: r.id })),
      );
      await expectCountedOnce(instances, outcomes);
    } finally {
      await Promise.all(instances.map((p) => p.close()));
    }
  });

  it('MQTT - two instances in one shared subscription group', async () => {
    const { redis, iso } = stack;
    const mqttIso = await isolation();
    const root = `sptest/${mqttIso.tag}/readings`;
    const outcomes: BatchOutcome[][] = [[], []];
    const instances = await Promise.all(
      [0, 1].map(async (i) =>
        startStreamProcessor({
          ...mqttIso.options,
          redis,
          offlinePath: `${mqttIso.dir}/mqtt-${i}.duckdb`,
          // The JetStream case runs DuckDB on its worker threads; here the subject is MQTT, and
          // two more thread starts from TypeScript sources cost seconds on a busy machine.
          offlineThread: false,
          sourceName: 'mqtt',
          source: await createMqttSource({
            url: mqttUrl,
            group: `sp-${mqttIso.tag}`,
            clientId: `sp-${mqttIso.tag}-${i}`,
            filter: `${root}/#`,
            connections: 8,
          }),
          afterAck: (o) => {
            outcomes[i]?.push(o);
          },
        }),
      ),
    );
    const publisher = await mqtt.connectAsync(mqttUrl, { clientId: `pub-${mqttIso.tag}` });
    try {
      await Promise.all(
        readings.map((r) =>
          publisher.publishAsync(`${root}/${r.site_id}/${r.station_id}`, JSON.stringify(r), {
            qos: 1,
          }),
        ),
      );
      iso.options.statePrefix = mqttIso.options.statePrefix;
      iso.onlineKey = mqttIso.onlineKey;
      await expectCountedOnce(instances, outcomes);
      // Eight sessions per instance, each holding one unacknowledged message: batches of
      // several readings, each acknowledged only after its batch committed.
      const sizes = outcomes.flat().map((o) => o.deliveries.length);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
      expect(sizes.length).toBeLessThan(readings.length / 2);
    } finally {
      await publisher.endAsync();
      await Promise.all(instances.map((p) => p.close()));
      // Drop the persistent sessions so the shared broker keeps nothing for them.
      for (const i of [0, 1]) {
        for (let k = 0; k < 8; k++) {
          const c = await mqtt.connectAsync(mqttUrl, {
            clientId: `sp-${mqttIso.tag}-${i}-${k}`,
            clean: true,
          });
          await c.endAsync();
        }
      }
      await mqttIso.cleanup();
    }
  });
});
