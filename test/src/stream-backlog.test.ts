import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type BatchOutcome,
  createCrwHeatStress,
  ensureReadingsConsumer,
  STREAM_FEATURES,
  type StreamProcessor,
  startStreamProcessor,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, isolation, reading } from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');
const SITE = '18-054';
const DAYS = 40;
const FIRST_DAY = Math.floor(Date.parse('2024-01-01T00:00:00Z') / 86_400_000);

/** 40 warm days (1 Jan - 9 Feb 2024), four readings a day, so DHW builds up day by day. */
const readings = Array.from({ length: DAYS * 4 }, (_, i) => {
  const day = FIRST_DAY + Math.floor(i / 4);
  const at = new Date(day * 86_400_000 + (i % 4) * 6 * 3_600_000).toISOString();
  return reading(SITE, at, 29.4 + (i % 4) * 0.2 + (Math.floor(i / 4) % 5) * 0.1);
});

const daySpan = (o: BatchOutcome) => {
  const days = o.deliveries.map((d) => {
    const text = Buffer.from(d.data).toString();
    const at = text.indexOf('"observed_at":"');
    return Math.floor(Date.parse(text.slice(at + 15, at + 39)) / 86_400_000);
  });
  return days.length === 0 ? 0 : Math.max(...days) - Math.min(...days) + 1;
};

describe('stream processor - a backlog batch spanning weeks', () => {
  let nc: NatsConnection;
  let redis: Redis;
  const isos: Awaited<ReturnType<typeof isolation>>[] = [];
  const processors: StreamProcessor[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: natsUrl });
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    for (const p of processors) await p.close();
    await nc.close();
    await redis.quit();
    for (const iso of isos) await iso.cleanup();
  });

  async function start(iso: Awaited<ReturnType<typeof isolation>>, outcomes: BatchOutcome[]) {
    const processor = await startStreamProcessor({
      ...iso.options,
      nc,
      redis,
      offlinePath: `${iso.dir}/offline.duckdb`,
      offlineThread: false,
      heat: createCrwHeatStress(),
      maxBatch: 1000,
      afterAck: (o) => {
        outcomes.push(o);
      },
    });
    processors.push(processor);
    return processor;
  }

  it('writes every day of the backlog offline, as the same readings streamed day by day do', async () => {
    const js = jetstream(nc);
    // Backlog: everything is in the stream before the processor starts.
    const backlog = await isolation();
    isos.push(backlog);
    await ensureReadingsConsumer({ nc, ...backlog.options });
    for (const r of readings) {
      await js.publish(backlog.subject(SITE), JSON.stringify(r), { msgID: r.id });
    }
    const backlogOutcomes: BatchOutcome[] = [];
    const batched = await start(backlog, backlogOutcomes);
    await eventually(async () => {
      const n = backlogOutcomes.reduce((s, o) => s + o.applied, 0);
      return n === readings.length ? n : undefined;
    }, 20_000);
    // The case under test: one batch held more than MAX_RECOMPUTE_DAYS + 1 days of the site.
    expect(Math.max(...backlogOutcomes.map(daySpan))).toBeGreaterThan(30);

    // Live: one day at a time, each acknowledged before the next is published.
    const live = await isolation();
    isos.push(live);
    const liveOutcomes: BatchOutcome[] = [];
    const streamed = await start(live, liveOutcomes);
    for (let d = 0; d < DAYS; d++) {
      const day = readings.slice(d * 4, d * 4 + 4);
      for (const r of day) await js.publish(live.subject(SITE), JSON.stringify(r), { msgID: r.id });
      await eventually(async () => {
        const n = liveOutcomes.reduce((s, o) => s + o.applied, 0);
        return n === (d + 1) * 4 ? n : undefined;
      });
    }

    const days = await batched.offline.query(
      `SELECT count(DISTINCT as_of_day)::INT AS n, min(as_of_day)::VARCHAR AS first FROM daily_features`,
    );
    expect(days).toEqual([{ n: DAYS, first: '2024-01-01' }]);
    const now = Date.now();
    let withDhw = 0;
    for (let day = FIRST_DAY; day < FIRST_DAY + DAYS; day++) {
      const a = await batched.offline.featuresAsOf(SITE, day, now);
      const b = await streamed.offline.featuresAsOf(SITE, day, now);
      expect(a, `day ${day}`).not.toBeNull();
      for (const f of STREAM_FEATURES) {
        const [x, y] = [a?.[f] ?? null, b?.[f] ?? null];
        if (y === null) expect(x, `${f} on day ${day}`).toBeNull();
        else expect(x, `${f} on day ${day}`).toBeCloseTo(y, 9);
      }
      if ((a?.dhw ?? 0) > 0) withDhw += 1;
    }
    // Heat stress accumulated over the backlog, and the year-to-date maximum saw every day.
    expect(withDhw).toBeGreaterThan(20);
    const last = await batched.offline.featuresAsOf(SITE, FIRST_DAY + DAYS - 1, now);
    expect(last?.dhw_max_ytd).toBeGreaterThan(0);
    const online = await redis.hgetall(backlog.onlineKey(SITE));
    expect(online.as_of).toBe('2024-02-09T23:59:59.999Z');
    expect(Number(online.dhw_max_ytd)).toBeCloseTo(last?.dhw_max_ytd ?? Number.NaN, 9);
  });
});
