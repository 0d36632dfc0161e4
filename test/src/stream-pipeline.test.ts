import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  createEventState,
  createJetStreamSource,
  createOnlineStore,
  createProcessorMetrics,
  type OfflineStore,
  openOfflineStore,
  runProcessor,
} from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { eventually, reading, TEST_SITES, useIsolatedConnections } from './stream-helpers.js';

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
});
