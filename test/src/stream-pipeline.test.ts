import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  createBatchQueue,
  createEventState,
  createJetStreamSource,
  createOnlineStore,
  createProcessorMetrics,
  type OfflineStore,
  openOfflineStore,
  runProcessor,
} from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import {
  eventually,
  reading,
  TEST_SITES,
  useIsolatedConnections,
  useRedisPrefix,
} from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');

describe('stream processor - online write first, offline commit behind it, ack last', () => {
  const stack = useIsolatedConnections({ natsUrl, redisUrl });

  it('features reach Redis while DuckDB is held, acks wait for the commit, in-flight is bounded', async () => {
    const { nc, redis, iso } = stack;
    const { stream, subjects, durable, statePrefix } = iso.options;
    const source = await createJetStreamSource({ nc, stream, subjects, durable });
    const store = await openOfflineStore(`${iso.dir}/offline.duckdb`);
    // The real store behind a gate: nothing is committed offline until the test opens it.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let commits = 0;
    const offline: OfflineStore = {
      ...store,
      appendBatch: async (batch) => {
        await gate;
        await store.appendBatch(batch);
        commits += 1;
      },
    };
    const metrics = createProcessorMetrics();
    const controller = new AbortController();
    const done = runProcessor(
      {
        source,
        sites: TEST_SITES,
        state: createEventState({ redis, prefix: statePrefix }),
        offline,
        online: createOnlineStore({ redis, keyOf: iso.onlineKey }),
        heat: null,
        metrics,
        sourceName: 'jetstream',
        maxInFlight: 1,
      },
      controller.signal,
    );
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    // One reading per wave, so each wave is one batch.
    const publishSite = async (site: string, value: number) => {
      const r = reading(site, '2024-02-15T06:00:00Z', value);
      await js.publish(iso.subject(site), JSON.stringify(r), { msgID: r.id });
    };
    const mean = (site: string) => redis.hget(iso.onlineKey(site), 'sst_daily_mean');
    /** Waits until the site's online daily mean is `expected`. */
    const meanReaches = (site: string, expected: string) =>
      eventually(async () => ((await mean(site)) === expected ? true : undefined));
    try {
      // Wave 1: online at once although DuckDB has committed nothing, and not acknowledged.
      await publishSite('18-054', 27.5);
      await meanReaches('18-054', '27.5');
      expect(commits).toBe(0);
      const pending = await jsm.consumers.info(stream, durable);
      expect(pending.num_ack_pending).toBe(1);

      // Wave 2 still goes online (one batch may wait for its commit); wave 3 is pulled but
      // not applied until a commit frees the slot.
      await publishSite('19-138', 27.25);
      await meanReaches('19-138', '27.25');
      await publishSite('16-024', 26.5);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await mean('16-024')).toBeNull();
      expect(commits).toBe(0);
      expect((await jsm.consumers.info(stream, durable)).num_ack_pending).toBe(3);

      // Open DuckDB: every batch commits, wave 3 is applied, and everything is acknowledged.
      open();
      await meanReaches('16-024', '26.5');
      await eventually(async () => {
        const info = await jsm.consumers.info(stream, durable);
        return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
      });
      const [row] = await store.query('SELECT count(DISTINCT id)::INT AS n FROM readings');
      expect(row?.n).toBe(3);
      expect(commits).toBeGreaterThanOrEqual(3);
      // Every stage of every batch is in reefguard_stream_stage_seconds.
      const stages = await metrics.registry.getSingleMetricAsString(
        'reefguard_stream_stage_seconds',
      );
      for (const stage of ['decode', 'event_state', 'online_write', 'offline_commit', 'ack']) {
        const count = new RegExp(`_count\\{stage="${stage}"\\} (\\d+)`).exec(stages)?.[1];
        expect(Number(count), stage).toBeGreaterThanOrEqual(3);
      }
    } finally {
      open();
      controller.abort();
      await source.close();
      await done;
      await store.close();
    }
  });

  const { redis: ownRedis, prefix } = useRedisPrefix(redisUrl);

  it('batches applied while DuckDB is busy share one commit; a reading repeated across them is stored once; acks in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-group-'));
    const store = await openOfflineStore(join(dir, 'offline.duckdb'));
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const calls: number[] = [];
    const offline: OfflineStore = {
      ...store,
      appendBatch: async (batch) => {
        await gate;
        await store.appendBatch(batch);
        calls.push(batch.fresh.length + batch.repeated.length);
      },
    };
    // Five batches of one reading each; the fourth redelivers the second's reading.
    const payloads = ['18-054', '19-138', '16-024', '19-138', '14-116'].map((site) =>
      JSON.stringify(reading(site, '2024-02-15T06:00:00Z', 27)),
    );
    const queue = createBatchQueue(1);
    const acked: number[] = [];
    const onlineAt: number[] = [];
    for (const [i, payload] of payloads.entries()) {
      queue.push({
        data: new TextEncoder().encode(payload),
        subject: 'readings',
        receivedAtMs: Date.now(),
        ack: () => {
          acked.push(i);
        },
      });
    }
    const done = runProcessor({
      source: { batches: () => queue.batches(), close: async () => queue.end() },
      sites: TEST_SITES,
      state: createEventState({ redis: ownRedis, prefix }),
      offline,
      online: createOnlineStore({ redis: ownRedis, keyOf: (s) => `${prefix}features:${s}` }),
      heat: null,
      metrics: createProcessorMetrics(),
      sourceName: 'test',
      maxInFlight: 8,
      afterOnline: () => {
        onlineAt.push(calls.length);
      },
    });
    try {
      // All five go online while DuckDB is held; the first commit is waiting on the gate.
      await eventually(async () => (onlineAt.length === 5 ? true : undefined));
      expect(acked).toEqual([]);
      open();
      queue.end();
      await done;
      // The first batch's commit had started alone; the other four went in one commit, the
      // redelivered reading once.
      expect(calls).toEqual([1, 3]);
      expect(acked).toEqual([0, 1, 2, 3, 4]);
      const [row] = await store.query(
        'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM readings',
      );
      expect(row).toEqual({ n: 4, d: 4 });
    } finally {
      open();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** 12 batches of one reading, one every 25 ms (300 ms in all); when each commit started. */
  async function commitStarts(tag: string, interval: { option?: number; source?: number }) {
    const dir = await mkdtemp(join(tmpdir(), 'sp-interval-'));
    const store = await openOfflineStore(join(dir, 'offline.duckdb'));
    const starts: number[] = [];
    const sizes: number[] = [];
    const offline: OfflineStore = {
      ...store,
      appendBatch: async (batch) => {
        starts.push(performance.now());
        sizes.push(batch.fresh.length);
        await store.appendBatch(batch);
      },
    };
    const queue = createBatchQueue(1);
    let acked = 0;
    const done = runProcessor({
      source: {
        batches: () => queue.batches(),
        close: async () => queue.end(),
        ...(interval.source !== undefined ? { commitIntervalMs: interval.source } : {}),
      },
      sites: TEST_SITES,
      state: createEventState({ redis: ownRedis, prefix: `${prefix}${tag}:` }),
      offline,
      online: createOnlineStore({ redis: ownRedis, keyOf: (s) => `${prefix}${tag}:f:${s}` }),
      heat: null,
      metrics: createProcessorMetrics(),
      sourceName: 'test',
      ...(interval.option !== undefined ? { offlineCommitIntervalMs: interval.option } : {}),
    });
    try {
      for (let i = 0; i < 12; i++) {
        const observedAt = new Date(Date.parse('2024-02-15T06:00:00Z') + i * 60_000).toISOString();
        queue.push({
          data: new TextEncoder().encode(JSON.stringify(reading('18-054', observedAt, 27))),
          subject: 'readings',
          receivedAtMs: Date.now(),
          ack: () => {
            acked += 1;
          },
        });
        await new Promise((r) => setTimeout(r, 25));
      }
      queue.end();
      await done;
      expect(acked).toBe(12);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(12);
      return starts;
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('offline commits start at most once per interval, each with every batch applied since', async () => {
    const starts = await commitStarts('interval', { option: 150 });
    // One commit per batch without the interval; here 2-4, at least 150 ms apart.
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(4);
    for (let k = 1; k < starts.length; k++) {
      expect((starts[k] as number) - (starts[k - 1] as number)).toBeGreaterThanOrEqual(145);
    }
    // The default paces at 50 ms: 300 ms of batches in at most 8 commits.
    expect((await commitStarts('default', {})).length).toBeLessThanOrEqual(8);
  });

  it("the source's own commit interval applies: 0 for a source that waits for acks (MQTT)", async () => {
    // 0 from the source: batches commit on their own (or a few together on a slow machine).
    expect((await commitStarts('unpaced', { source: 0 })).length).toBeGreaterThanOrEqual(6);
    expect((await commitStarts('source-paced', { source: 200 })).length).toBeLessThanOrEqual(3);
  });
});
