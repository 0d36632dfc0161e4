import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { FeatureVector } from '@reefguard/core';
import {
  createOnlineStore,
  type OnlineStore,
  openDuckDbOnlineStore,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually, reading, startIsolatedProcessor } from './stream-helpers.js';

const { redisUrl } = inject('stack');

const vector = (siteId: string, asOf: string, values: FeatureVector['values']): FeatureVector => ({
  schema_version: 1,
  site_id: siteId,
  as_of: asOf,
  computed_at: '2024-02-16T00:00:05.000Z',
  feature_set_version: 'v1',
  values,
});

interface Subject {
  store: OnlineStore;
  close(): Promise<void>;
}

const redisClients: Redis[] = [];
afterAll(async () => {
  await Promise.all(redisClients.map((r) => r.quit()));
});

/** The same contract suite for both implementations, as the style guide asks. */
const implementations: [string, (ttlSeconds: number) => Promise<Subject>][] = [
  [
    'redis',
    async (ttlSeconds) => {
      const redis = new Redis(redisUrl);
      redisClients.push(redis);
      const prefix = `reefguard:test:${randomUUID().slice(0, 8)}:features:`;
      return {
        store: createOnlineStore({ redis, ttlSeconds, keyOf: (s) => `${prefix}${s}` }),
        close: async () => undefined,
      };
    },
  ],
  [
    'duckdb (embedded)',
    async (ttlSeconds) => {
      const store = await openDuckDbOnlineStore({ path: ':memory:', ttlSeconds });
      return { store, close: () => store.close() };
    },
  ],
];

describe.each(implementations)('online store contract - %s', (_name, open) => {
  it('reads back what was written; missing values stay absent', async () => {
    const { store, close } = await open(3600);
    try {
      expect(await store.read('18-054')).toBeNull();
      expect(
        await store.write(
          vector('18-054', '2024-02-15T23:59:59.999Z', {
            dhw: 4.25,
            hotspot: 1.5,
            turbidity_ntu: null,
          }),
          1,
        ),
      ).toBe(true);
      const read = await store.read('18-054');
      expect(read).toEqual(
        vector('18-054', '2024-02-15T23:59:59.999Z', { dhw: 4.25, hotspot: 1.5 }),
      );
    } finally {
      await close();
    }
  });

  it('a write from an older state sequence never replaces a newer one', async () => {
    const { store, close } = await open(3600);
    try {
      expect(await store.write(vector('19-138', '2024-02-16T23:59:59.999Z', { dhw: 5 }), 7)).toBe(
        true,
      );
      expect(await store.write(vector('19-138', '2024-02-15T23:59:59.999Z', { dhw: 4 }), 6)).toBe(
        false,
      );
      expect(await store.write(vector('19-138', '2024-02-16T23:59:59.999Z', { dhw: 5 }), 7)).toBe(
        false,
      );
      expect((await store.read('19-138'))?.values).toEqual({ dhw: 5 });
      expect(await store.write(vector('19-138', '2024-02-17T23:59:59.999Z', { dhw: 6 }), 8)).toBe(
        true,
      );
      expect((await store.read('19-138'))?.values).toEqual({ dhw: 6 });
    } finally {
      await close();
    }
  });

  it('writeMany writes every site in one call and counts what it wrote', async () => {
    const { store, close } = await open(3600);
    try {
      await store.write(vector('a', '2024-02-16T23:59:59.999Z', { dhw: 1 }), 10);
      const written = await store.writeMany([
        { vector: vector('a', '2024-02-15T23:59:59.999Z', { dhw: 0.5 }), seq: 9 }, // older
        { vector: vector('b', '2024-02-16T23:59:59.999Z', { dhw: 2 }), seq: 1 },
        { vector: vector('c', '2024-02-16T23:59:59.999Z', { dhw: 3 }), seq: 1 },
      ]);
      expect(written).toBe(2);
      expect((await store.read('a'))?.values.dhw).toBe(1);
      expect((await store.read('b'))?.values.dhw).toBe(2);
      expect((await store.read('c'))?.values.dhw).toBe(3);
      expect(await store.writeMany([])).toBe(0);
    } finally {
      await close();
    }
  });

  it('entries expire after the TTL, and an expired site takes any new write', async () => {
    const { store, close } = await open(1);
    try {
      await store.write(vector('ttl', '2024-02-16T23:59:59.999Z', { dhw: 9 }), 50);
      expect(await store.read('ttl')).not.toBeNull();
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await store.read('ttl')).toBeNull();
      // The old sequence expired with it: a restarted state (lower seq) writes again.
      expect(await store.write(vector('ttl', '2024-02-17T23:59:59.999Z', { dhw: 1 }), 1)).toBe(
        true,
      );
      expect((await store.read('ttl'))?.values.dhw).toBe(1);
    } finally {
      await close();
    }
  });
});

describe('stream processor - embedded online store chosen instead of Redis', () => {
  it('the processor writes its feature vectors to the DuckDB online store', async () => {
    const embedded = await openDuckDbOnlineStore({ path: ':memory:' });
    const { natsUrl } = inject('stack');
    const harness = await startIsolatedProcessor({ natsUrl, redisUrl }, { online: embedded });
    try {
      const js = jetstream(harness.nc);
      for (const [i, value] of [27, 29, 28].entries()) {
        const r = reading('16-024', `2024-02-20T0${i}:00:00.000Z`, value);
        await js.publish(harness.iso.subject('16-024'), JSON.stringify(r), { msgID: r.id });
      }
      const read = await eventually(async () => {
        const v = await embedded.read('16-024');
        return v?.values.sst_daily_max === 29 && v.values.sst_daily_mean === 28 ? v : undefined;
      });
      expect(read.as_of).toBe('2024-02-20T23:59:59.999Z');
      // Nothing went to Redis under the harness's online key.
      expect(await harness.redis.exists(harness.iso.onlineKey('16-024'))).toBe(0);
    } finally {
      await harness.close();
      await embedded.close();
    }
  });
});
