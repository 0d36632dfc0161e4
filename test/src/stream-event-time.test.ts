import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BuoyReading, featureVectorSchema } from '@reefguard/core';
import type { BatchOutcome, StreamProcessor } from '@reefguard/stream-processor';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, type isolation, reading, startIsolatedProcessor } from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');

describe('stream processor - event time, lateness, point in time, TTL', () => {
  let nc: NatsConnection;
  let redis: Redis;
  let processor: StreamProcessor;
  let iso: Awaited<ReturnType<typeof isolation>>;
  let outcomes: BatchOutcome[];
  let harness: Awaited<ReturnType<typeof startIsolatedProcessor>>;
  beforeAll(async () => {
    harness = await startIsolatedProcessor(
      { natsUrl, redisUrl },
      {
        allowedLatenessMs: 2 * 60 * 60 * 1000,
        onlineTtlSeconds: 2,
      },
    );
    ({ nc, redis, processor, iso, outcomes } = harness);
  });
  afterAll(() => harness.close());

  async function publish(readings: BuoyReading[]) {
    const js = jetstream(nc);
    for (const r of readings) {
      await js.publish(iso.subject(r.site_id), JSON.stringify(r), {
        msgID: `${r.id}#${outcomes.length}`,
      });
    }
  }
  const settled = (count: number) =>
    eventually(async () => {
      const seen = outcomes.reduce((n, o) => n + o.deliveries.length, 0);
      return seen >= count ? seen : undefined;
    });

  it('applies out-of-order readings by event time and sends later ones to the late table', async () => {
    // Day 1: 27.0 and 29.0 arrive in reverse order; day 2 arrives, then a day-1 reading
    // within the 2 h lateness (applied) and one 20 h behind the watermark (late).
    await publish([
      reading('18-054', '2024-02-01T12:00:00Z', 29.0),
      reading('18-054', '2024-02-01T11:00:00Z', 27.0),
      reading('18-054', '2024-02-02T01:00:00Z', 30.0),
      reading('18-054', '2024-02-01T23:30:00Z', 28.0),
      reading('18-054', '2024-02-01T05:00:00Z', 10.0),
    ]);
    await settled(5);
    const day1 = await processor.offline.query(
      `SELECT sst_daily_mean, sst_daily_max FROM daily_features
       WHERE site_id = '18-054' AND as_of_day = DATE '2024-02-01'
       ORDER BY ingested_at DESC, sst_daily_mean DESC LIMIT 1`,
    );
    expect(day1[0]).toEqual({ sst_daily_mean: 28, sst_daily_max: 29 });
    const late = await processor.offline.query('SELECT id, reason, value FROM late_readings');
    expect(late).toEqual([
      {
        id: '18-054-buoy/water_temperature/1706763600000',
        reason: 'beyond_allowed_lateness',
        value: 10,
      },
    ]);
    const raw = await processor.offline.query('SELECT count(*)::INT AS n FROM readings');
    expect(raw[0]?.n).toBe(5);
    const online = await processor.online.read('18-054');
    expect(featureVectorSchema.parse(online).as_of).toBe('2024-02-02T23:59:59.999Z');
    expect(online?.values).toMatchObject({
      sst_daily_mean: 30,
      sst_daily_max: 30,
      sst_rolling_avg_7d: 29,
    });
  });

  it('answers "features as known at time T": a later write never shows in an earlier view', async () => {
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await publish([reading('19-138', '2024-03-05T02:00:00Z', 26.0)]);
    await settled(6);
    const firstKnown = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await publish([reading('19-138', '2024-03-05T04:00:00Z', 30.0)]);
    await settled(7);
    const day = Math.floor(Date.parse('2024-03-05T00:00:00Z') / 86_400_000);
    expect(await processor.offline.featuresAsOf('19-138', day, before)).toBeNull();
    const early = await processor.offline.featuresAsOf('19-138', day, firstKnown);
    expect(early?.sst_daily_mean).toBe(26);
    const now = await processor.offline.featuresAsOf('19-138', day, Date.now());
    expect(now?.sst_daily_mean).toBe(28);
    expect(now?.sst_daily_max).toBe(30);
  });

  it('online features expire after their TTL', async () => {
    await publish([reading('16-024', '2024-03-05T02:00:00Z', 27.5)]);
    await settled(8);
    expect(await redis.ttl(iso.onlineKey('16-024'))).toBeGreaterThan(0);
    expect(await redis.hget(iso.onlineKey('16-024'), 'sst_daily_mean')).toBe('27.5');
    await new Promise((r) => setTimeout(r, 2_300));
    expect(await redis.exists(iso.onlineKey('16-024'))).toBe(0);
    expect(await processor.online.read('16-024')).toBeNull();
  });
});
