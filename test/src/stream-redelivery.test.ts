import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { jetstream } from '@nats-io/jetstream';
import { type BatchOutcome, startStreamProcessor } from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { eventually, reading, useIsolatedConnections } from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');

/** Starts the child processor and resolves with the line it prints when it matches. */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before "${pattern}"`)));
  });
}

describe('stream processor - exactly-once effect under redelivery', () => {
  const stack = useIsolatedConnections({ natsUrl, redisUrl });

  it('a processor SIGKILLed between write and ack leaves every reading counted once', async () => {
    const { nc, redis, iso } = stack;
    const offlinePath = `${iso.dir}/offline.duckdb`;
    const onlinePrefix = `${iso.options.statePrefix}features:`;
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        'test/src/stream-child.ts',
        JSON.stringify({
          natsUrl,
          redisUrl,
          offlinePath,
          stream: iso.options.stream,
          subjects: iso.options.subjects,
          durable: iso.options.durable,
          statePrefix: iso.options.statePrefix,
          onlinePrefix,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await waitForLine(child, /^ready/);

    // 48 half-hourly readings of one day, mean 28.0 (27.0 .. 28.96 .. in alternation).
    const readings = Array.from({ length: 48 }, (_, i) =>
      reading(
        '14-116',
        new Date(Date.parse('2024-02-10T00:00:00Z') + i * 1_800_000).toISOString(),
        i % 2 ? 29 : 27,
      ),
    );
    const js = jetstream(nc);
    await Promise.all(
      readings.map((r) => js.publish(iso.subject('14-116'), JSON.stringify(r), { msgID: r.id })),
    );
    const committed = await waitForLine(child, /^committed \d+/);
    const firstBatch = Number(committed.split(' ')[1]);
    expect(firstBatch).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await once(child, 'exit');

    // The first batch's writes are committed (DuckDB, Redis) but never acknowledged; the
    // next batches may already be applied to the event state and written online too (up to
    // maxInFlight batches wait for their offline commit).
    const appliedBeforeKill = Number(
      await redis.hget(`${iso.options.statePrefix}days:14-116`, '19763n'),
    );
    expect(appliedBeforeKill).toBeGreaterThanOrEqual(firstBatch);

    const outcomes: BatchOutcome[] = [];
    const successor = await startStreamProcessor({
      ...iso.options,
      nc,
      redis,
      offlinePath,
      ackWaitMs: 1_000,
      afterAck: (o) => {
        outcomes.push(o);
      },
    });
    try {
      await eventually(async () => {
        const seen = outcomes.reduce((s, o) => s + o.applied + o.duplicates, 0);
        return seen >= 48 ? seen : undefined;
      }, 20_000);
      const applied = outcomes.reduce((s, o) => s + o.applied, 0);
      const duplicates = outcomes.reduce((s, o) => s + o.duplicates, 0);
      // Everything the dead process wrote came back and was recognised, nothing twice.
      expect(duplicates).toBe(appliedBeforeKill);
      expect(applied).toBe(48 - appliedBeforeKill);
      expect(Number(await redis.hget(`${iso.options.statePrefix}days:14-116`, '19763n'))).toBe(48);
      const rows = await successor.offline.query(
        `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, avg(value) AS mean FROM readings`,
      );
      expect(rows[0]).toEqual({ n: 48, ids: 48, mean: 28 });
      expect(await redis.hget(`${onlinePrefix}14-116`, 'sst_daily_mean')).toBe('28');
    } finally {
      await successor.close();
    }
  });
});
