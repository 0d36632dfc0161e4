import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BatchOutcome, StreamProcessor } from '@reefguard/stream-processor';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, type isolation, reading, startIsolatedProcessor } from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');

describe('stream processor - quarantine', () => {
  let nc: NatsConnection;
  let redis: Redis;
  let processor: StreamProcessor;
  let iso: Awaited<ReturnType<typeof isolation>>;
  let outcomes: BatchOutcome[];
  let harness: Awaited<ReturnType<typeof startIsolatedProcessor>>;
  beforeAll(async () => {
    harness = await startIsolatedProcessor({ natsUrl, redisUrl }, {});
    ({ nc, redis, processor, iso, outcomes } = harness);
  });
  afterAll(() => harness.close());

  it('sets each bad input aside with a machine-readable reason and keeps the good ones', async () => {
    const good = reading('18-054', '2024-02-01T03:00:00Z', 28.25);
    const { station_id: _dropped, ...withoutStation } = reading(
      '18-054',
      '2024-02-01T04:00:00Z',
      28,
    );
    const payloads: Array<[string, string]> = [
      ['malformed_json', '{"schema_version":1,"id":"x"'],
      ['schema_violation', JSON.stringify(withoutStation)],
      [
        'schema_violation',
        JSON.stringify({ ...reading('18-054', '2024-02-01T05:00:00Z', 82.4), unit: 'degF' }),
      ],
      ['impossible_value', JSON.stringify(reading('18-054', '2024-02-01T06:00:00Z', 55))],
      [
        'impossible_value',
        JSON.stringify(reading('18-054', '2024-02-01T07:00:00Z', -3, 'turbidity')),
      ],
      ['impossible_value', JSON.stringify(reading('18-054', '2099-01-01T00:00:00Z', 28))],
      ['unknown_site', JSON.stringify(reading('99-999', '2024-02-01T08:00:00Z', 28))],
      ['ok', JSON.stringify(good)],
    ];
    const js = jetstream(nc);
    for (const [, payload] of payloads) await js.publish(iso.subject('18-054'), payload);
    await eventually(async () => {
      const n = outcomes.reduce((s, o) => s + o.deliveries.length, 0);
      return n >= payloads.length ? n : undefined;
    });
    const rows = await processor.offline.query(
      'SELECT reason, detail FROM quarantine ORDER BY quarantined_at, reason, detail',
    );
    expect(rows.map((r) => r.reason).sort()).toEqual(
      payloads
        .filter(([r]) => r !== 'ok')
        .map(([r]) => r)
        .sort(),
    );
    expect(rows.map((r) => String(r.detail).split(':')[0]).sort()).toEqual(
      ['json', 'observed_at', 'site_id', 'station_id', 'unit', 'value', 'value'].sort(),
    );
    const metric = await processor.metrics.quarantined.get();
    const byReason = Object.fromEntries(metric.values.map((v) => [v.labels.reason, v.value]));
    expect(byReason).toEqual({
      malformed_json: 1,
      schema_violation: 2,
      impossible_value: 3,
      unknown_site: 1,
    });
    const stored = await processor.offline.query('SELECT id, value FROM readings');
    expect(stored).toEqual([{ id: good.id, value: 28.25 }]);
    expect(await redis.hget(iso.onlineKey('18-054'), 'sst_daily_mean')).toBe('28.25');
  });
});
