import { dayEndIso, FEATURE_SET_VERSION } from '@reefguard/core';
import {
  createDhwYearToDate,
  createEventState,
  createRedisFeatureWriter,
  type DhwOfDay,
  type FeatureRow,
  yearStartDay,
} from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { useRedisPrefix } from './stream-helpers.js';

const { redisUrl } = inject('stack');

/** The rule, kept in a Map: each day's last DHW; the maximum from 1 January to the day. */
function reference() {
  const days = new Map<number, number>();
  return (rows: DhwOfDay[]) => {
    for (const { day, dhw } of rows) if (Number.isFinite(dhw)) days.set(day, dhw);
    const keepFrom = yearStartDay(yearStartDay(Math.max(...rows.map((r) => r.day))) - 1);
    for (const day of days.keys()) if (day < keepFrom) days.delete(day);
    return rows.map(({ day }) => {
      let best = Number.NaN;
      for (const [d, v] of days) {
        if (d >= yearStartDay(day) && d <= day && !(v <= best)) best = v;
      }
      return best;
    });
  };
}

/** A batch's feature rows of `site` (only their DHW set) and the online vector of its last day. */
function batchOf(site: string, rows: DhwOfDay[]) {
  const featureRows: FeatureRow[] = rows.map(({ day, dhw }) => ({
    siteId: site,
    day,
    ingestedMs: 0,
    values: { dhw: Number.isFinite(dhw) ? dhw : null, dhw_max_ytd: null },
  }));
  const last = featureRows.at(-1) as FeatureRow;
  const vector = {
    schema_version: 1 as const,
    site_id: site,
    as_of: dayEndIso(last.day),
    computed_at: new Date(0).toISOString(),
    feature_set_version: FEATURE_SET_VERSION,
    values: { ...last.values },
  };
  return { featureRows, last, vector };
}

describe('stream processor - year-to-date DHW blocks', () => {
  const { redis, prefix } = useRedisPrefix(redisUrl);

  /** Random batches of today and recomputed days (the processor's shape) checked by `check`. */
  async function walk(
    check: (rows: DhwOfDay[], want: number[]) => Promise<void>,
    model = reference(),
  ) {
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let latest = Date.UTC(2023, 10, 1) / 86_400_000;
    let checked = 0;
    let rising = 0;
    while (latest < Date.UTC(2025, 1, 20) / 86_400_000) {
      latest += 1 + Math.floor(random() * 3);
      // Today and some recomputed days up to 7 back, a few without a DHW.
      const rows: DhwOfDay[] = [];
      for (let back = Math.floor(random() * 8); back >= 0; back--) {
        rows.push({ day: latest - back, dhw: random() < 0.1 ? Number.NaN : 12 * random() ** 3 });
      }
      const want = model(rows);
      await check(rows, want);
      checked += rows.length;
      if ((want.at(-1) ?? 0) > 6) rising += 1;
    }
    expect(checked).toBeGreaterThan(1000);
    expect(rising).toBeGreaterThan(50);
  }

  it('equals the whole-history maximum through recomputes, gaps and two new years', async () => {
    const store = createDhwYearToDate({ redis, prefix });
    await walk(async (rows, want) => {
      const got = (await store.update(new Map([['18-054', rows]]))).get('18-054');
      expect(got, `latest ${rows.at(-1)?.day}`).toEqual(want);
    });
  });

  it('follows the same rule inside the online write, which stores the as-of day maximum', async () => {
    const writer = createRedisFeatureWriter({
      redis,
      ytdPrefix: prefix,
      keyOf: (site) => `${prefix}features:${site}`,
    });
    let seq = 0;
    await walk(async (rows, want) => {
      const { featureRows, last, vector } = batchOf('16-024', rows);
      seq += 1;
      expect(await writer.write(featureRows, [{ vector, seq }])).toBe(1);
      const got = featureRows.map((r) => r.values.dhw_max_ytd ?? Number.NaN);
      expect(got, `latest ${last.day}`).toEqual(want);
      expect(vector.values.dhw_max_ytd ?? Number.NaN).toEqual(want.at(-1));
      const stored = await redis.hget(`${prefix}features:16-024`, 'dhw_max_ytd');
      expect(stored === null ? Number.NaN : Number(stored)).toEqual(want.at(-1));
    });
    // An older sequence writes nothing online, but its DHW still counts for the year.
    const day = Date.UTC(2025, 1, 25) / 86_400_000;
    const rows: FeatureRow[] = [{ siteId: '16-024', day, ingestedMs: 0, values: { dhw: 99 } }];
    const vector = {
      schema_version: 1 as const,
      site_id: '16-024',
      as_of: dayEndIso(day),
      computed_at: new Date(0).toISOString(),
      feature_set_version: FEATURE_SET_VERSION,
      values: { dhw: 99 },
    };
    expect(await writer.write(rows, [{ vector, seq: 1 }])).toBe(0);
    expect(rows[0]?.values.dhw_max_ytd).toBe(99);
    expect(await redis.hget(`${prefix}features:16-024`, 'dhw')).not.toBe('99');
  });

  it('kept in memory and written with the state commit: the same hash and maxima as the script', async () => {
    const writer = createRedisFeatureWriter({
      redis,
      ytdPrefix: prefix,
      keyOf: (site) => `${prefix}features:${site}`,
    });
    const commitWith = writer.commitWith?.bind(writer);
    if (!commitWith) throw new Error('the Redis writer commits with the event state');
    const state = createEventState({ redis, prefix: `${prefix}state:` });
    // The script's own hash, side by side: after every batch both hashes hold the same fields.
    const script = createDhwYearToDate({ redis, prefix: `${prefix}script:` });
    const model = reference();
    let batches = 0;
    let reading = 0;
    await walk(async (rows, want) => {
      batches += 1;
      if (batches % 40 === 0) {
        // Another writer (a satellite ingest's update) changes the hash behind the processor's
        // copy; the processor's next commit must see it and read the hash again.
        const other = [{ day: (rows.at(-1)?.day ?? 0) - 2, dhw: 11.5 }];
        model(other);
        await createDhwYearToDate({ redis, prefix }).update(new Map([['17-001', other]]));
        await script.update(new Map([['17-001', other]]));
        want.splice(0, want.length, ...model(rows));
      }
      const last = rows.at(-1) as DhwOfDay;
      reading += 1;
      await state.apply(
        new Map([
          [
            '17-001',
            [{ id: `r${reading}`, observedMs: last.day * 86_400_000, kind: 'w', value: 28 }],
          ],
        ]),
        async (results, call) => {
          const { featureRows, vector } = batchOf('17-001', rows);
          const seq = results.get('17-001')?.window.seq ?? 0;
          const stale = await commitWith(call, featureRows, [{ vector, seq }]);
          if (stale.length > 0) return stale;
          const got = featureRows.map((r) => r.values.dhw_max_ytd ?? Number.NaN);
          expect(got, `latest ${last.day}`).toEqual(want);
          return stale;
        },
      );
      await script.update(new Map([['17-001', rows]]));
      const stored = await redis.hget(`${prefix}features:17-001`, 'dhw_max_ytd');
      expect(stored === null ? Number.NaN : Number(stored)).toEqual(want.at(-1));
      const [memory, lua] = await Promise.all([
        redis.hgetall(`${prefix}dhw:17-001`),
        redis.hgetall(`${prefix}script:dhw:17-001`),
      ]);
      expect(memory, `latest ${last.day}`).toEqual(lua);
    }, model);
    // Each change behind its back cost one conflict (a re-read), nothing else.
    expect(state.counts.conflicts).toBe(Math.floor(batches / 40));
  });

  it('builds its blocks from a hash written before they existed', async () => {
    const key = `${prefix}dhw:19-138`;
    const day = Date.UTC(2024, 2, 10) / 86_400_000;
    // The earlier layout: day -> DHW only.
    await redis.hset(key, String(day - 60), '7.5', String(day - 5), '3.25', String(day - 400), '9');
    const store = createDhwYearToDate({ redis, prefix });
    const got = await store.update(new Map([['19-138', [{ day, dhw: 1 }]]]));
    expect(got.get('19-138')).toEqual([7.5]);
    // Last year's day is kept (a late reading may still need it) and counts for its own year.
    const late = await store.update(new Map([['19-138', [{ day: day - 400, dhw: 8 }]]]));
    expect(late.get('19-138')).toEqual([8]);
  });
});
