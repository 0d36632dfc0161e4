import { dayEndIso, FEATURE_SET_VERSION } from '@reefguard/core';
import {
  createEventState,
  createRedisFeatureWriter,
  type FeatureRow,
  type StateReading,
} from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { useRedisPrefix } from './stream-helpers.js';

const { redisUrl } = inject('stack');

const DAY_MS = 86_400_000;
const T0 = Date.parse('2024-02-01T00:30:00Z');
const SITES = Array.from({ length: 8 }, (_, i) => `site-${i}`);

/** An event state and a DHW writer on their own keys, committing together as the processor does. */
function instance(
  redis: ReturnType<typeof useRedisPrefix>['redis'],
  prefix: string,
  kept?: number,
) {
  const options = kept === undefined ? {} : { sitesKept: kept };
  const state = createEventState({ redis, prefix, ...options });
  const writer = createRedisFeatureWriter({
    redis,
    ytdPrefix: prefix,
    keyOf: (site) => `${prefix}features:${site}`,
    ...options,
  });
  const bound = writer.commitWith?.bind(writer);
  if (!bound) throw new Error('the Redis writer commits with the event state');
  const commitWith = bound;
  /** Applies a batch; the statuses, latest daily mean and year-to-date maximum per site. */
  async function apply(bySite: Map<string, StateReading[]>) {
    const out = new Map<string, { statuses: string; mean: number; ytd: number | null }>();
    const results = await state.apply(bySite, async (results, call) => {
      const rows: FeatureRow[] = [];
      const online = [];
      for (const [site, { window }] of results) {
        const day = window.lastDay;
        const mean = window.meanC.at(-1) ?? Number.NaN;
        // A DHW that moves with the mean, so the year-to-date maximum has work to do.
        const values = { sst_daily_mean: mean, dhw: Math.round((mean - 27) * 400) / 100 };
        rows.push({ siteId: site, day, ingestedMs: 0, values });
        online.push({
          seq: window.seq,
          vector: {
            schema_version: 1 as const,
            site_id: site,
            as_of: dayEndIso(day),
            computed_at: dayEndIso(day),
            feature_set_version: FEATURE_SET_VERSION,
            values,
          },
        });
      }
      const stale = await commitWith(call, rows, online);
      if (stale.length === 0) {
        for (const row of rows) {
          const statuses = results.get(row.siteId)?.statuses.join('') ?? '';
          const ytd = row.values.dhw_max_ytd ?? null;
          out.set(row.siteId, { statuses, mean: row.values.sst_daily_mean ?? Number.NaN, ytd });
        }
      }
      return stale;
    });
    expect([...results.keys()].sort()).toEqual([...out.keys()].sort());
    return out;
  }
  return { state, writer, apply };
}

describe('stream processor - sites kept in memory', () => {
  const { redis, prefix } = useRedisPrefix(redisUrl);

  it('an instance that keeps 3 of 8 sites gives what one that keeps all gives, reading dropped sites again', async () => {
    const kept = instance(redis, `${prefix}kept:`, 3);
    const all = instance(redis, `${prefix}all:`);
    let seed = 5;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sent: StateReading[][] = SITES.map(() => []);
    let n = 0;
    for (let round = 0; round < 60; round++) {
      // Three days of readings; each batch has 2-4 sites, in an order that keeps dropping some.
      const nowMs = T0 + Math.floor(round / 20) * DAY_MS + (round % 20) * 600_000;
      const bySite = new Map<string, StateReading[]>();
      const count = 2 + Math.floor(random() * 3);
      for (let k = 0; k < count; k++) {
        const s = (round * 3 + k * 5) % SITES.length;
        const readings: StateReading[] = Array.from({ length: 3 }, (_, j) => ({
          id: `r${n++}`,
          observedMs: nowMs - j * 60_000,
          kind: 'w' as const,
          value: 28 + 2 * random(),
        }));
        // Redelivered: an id of this site from an earlier batch, often of an earlier day and
        // from a time the site was dropped from memory since.
        const earlier = sent[s] as StateReading[];
        if (earlier.length > 0) readings.push(earlier[Math.floor(random() * earlier.length)]!);
        earlier.push(...readings.slice(0, 3));
        bySite.set(SITES[s] as string, readings);
      }
      const [a, b] = [await kept.apply(bySite), await all.apply(bySite)];
      expect(a, `round ${round}`).toEqual(b);
      for (const [, got] of a) {
        if (got.statuses.length === 4) expect(got.statuses.at(-1)).toBe('D');
      }
      expect(kept.state.sitesInMemory).toBeLessThanOrEqual(3);
      expect(kept.writer.sitesInMemory).toBeLessThanOrEqual(3);
    }
    // Every site read whole once per stay in memory: on first sight and after each drop.
    expect(kept.state.counts.dropped).toBeGreaterThan(20);
    expect(kept.state.counts.siteReads).toBe(kept.state.counts.dropped + kept.state.sitesInMemory);
    expect(all.state.counts).toEqual({ siteReads: SITES.length, conflicts: 0, dropped: 0 });
    expect(all.writer.sitesInMemory).toBe(SITES.length);
    // Redis holds the same state, DHW and online features field for field.
    for (const site of SITES) {
      for (const key of [`days:${site}`, `dhw:${site}`, `features:${site}`]) {
        const [mine, theirs] = await Promise.all([
          redis.hgetall(`${prefix}kept:${key}`),
          redis.hgetall(`${prefix}all:${key}`),
        ]);
        expect(Object.keys(mine).length, key).toBeGreaterThan(2);
        expect(mine, key).toEqual(theirs);
      }
    }
  });

  it('refuses a number of sites to keep that is not a whole number above 0', () => {
    expect(() => createEventState({ redis, prefix, sitesKept: 0 })).toThrow(/sitesKept/);
    expect(() => createRedisFeatureWriter({ redis, ytdPrefix: prefix, sitesKept: 2.5 })).toThrow(
      /sitesKept/,
    );
  });
});
