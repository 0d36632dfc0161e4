import {
  type CommitWith,
  createEventState,
  createRedisFeatureWriter,
  type OnlineItem,
  type SiteApplyResult,
  type StateReading,
} from '@reefguard/stream-processor';
import { describe, expect, inject, it } from 'vitest';
import { useRedisPrefix } from './stream-helpers.js';

const { redisUrl } = inject('stack');

const T0 = Date.parse('2024-02-01T00:30:00Z');
const DAY = Math.floor(T0 / 86_400_000);
const HOUR = 3_600_000;

/** Water temperatures of one site, one every 10 minutes from `fromMs`, ids `{prefix}{k}`. */
function temperatures(count: number, fromMs: number, prefix = 'r'): StateReading[] {
  return Array.from({ length: count }, (_, k) => ({
    id: `${prefix}${k}`,
    observedMs: fromMs + k * 600_000,
    kind: 'w' as const,
    value: 28 + (k % 7) / 10,
  }));
}

const meanOf = (readings: readonly StateReading[]) =>
  readings.reduce((sum, r) => sum + r.value, 0) / readings.length;

describe('stream processor - event state kept in memory, committed to Redis', () => {
  const { redis, prefix } = useRedisPrefix(redisUrl);

  it('reads a site once, then commits batches without reading it again', async () => {
    const state = createEventState({ redis, prefix });
    const all = temperatures(60, T0);
    for (let b = 0; b < 6; b++) {
      await state.apply(new Map([['A', all.slice(b * 10, b * 10 + 10)]]));
    }
    expect(state.counts).toEqual({ siteReads: 1, conflicts: 0, dropped: 0 });
    // What Redis holds is what a new instance sees: it continues from there.
    expect(Number(await redis.hget(`${prefix}days:A`, `${DAY}n`))).toBe(60);
    expect(Number(await redis.hget(`${prefix}days:A`, 'seq'))).toBe(6);
    const other = createEventState({ redis, prefix });
    const result = (
      await other.apply(
        new Map([['A', [...all.slice(50), ...temperatures(3, T0 + 11 * HOUR, 'x')]]]),
      )
    ).get('A');
    expect(result?.statuses.join('')).toBe('DDDDDDDDDDNNN');
    expect(result?.window.seq).toBe(7);
    // Its view of the day's ids began mid-day: an older id of the day is still a duplicate.
    const older = (await other.apply(new Map([['A', [all[0] as StateReading]]]))).get('A');
    expect(older?.statuses).toEqual(['D']);
    expect(older?.window.meanC.at(-1)).toBeCloseTo(meanOf([...all, ...temperatures(3, 0, 'x')]), 9);
  });

  it('two instances on the same sites count every reading once, re-reading what the other changed', async () => {
    const a = createEventState({ redis, prefix });
    const b = createEventState({ redis, prefix });
    const readings = temperatures(80, T0);
    // Alternating batches (as a shared consumer hands them out), with redeliveries of the
    // other instance's readings: each instance's view is stale at every second commit.
    const statuses: string[] = [];
    for (let k = 0; k < 8; k++) {
      const own = readings.slice(k * 10, k * 10 + 10);
      const redelivered = k > 0 ? readings.slice(k * 10 - 3, k * 10) : [];
      const result = await (k % 2 === 0 ? a : b).apply(new Map([['B', [...redelivered, ...own]]]));
      statuses.push(result.get('B')?.statuses.join('') ?? '');
      const window = result.get('B')?.window;
      expect(window?.seq).toBe(k + 1);
      expect(window?.meanC.at(-1)).toBeCloseTo(meanOf(readings.slice(0, k * 10 + 10)), 9);
    }
    expect(statuses[0]).toBe('N'.repeat(10));
    for (const s of statuses.slice(1)) expect(s).toBe(`DDD${'N'.repeat(10)}`);
    expect(Number(await redis.hget(`${prefix}days:B`, `${DAY}n`))).toBe(80);
    expect(await redis.scard(`${prefix}seen:B:${DAY}`)).toBe(80);
    // Every commit after the first of each instance found the other's newer state.
    expect(a.counts.conflicts + b.counts.conflicts).toBe(6);
  });

  it('concurrent batches from two instances: nothing lost, nothing doubled', async () => {
    // Either instance may run ahead of the other: a lateness that keeps every reading in time.
    const a = createEventState({ redis, prefix, allowedLatenessMs: 48 * HOUR });
    const b = createEventState({ redis, prefix, allowedLatenessMs: 48 * HOUR });
    const sites = ['C1', 'C2', 'C3'];
    const batchesOf = (tag: string) =>
      Array.from(
        { length: 12 },
        (_, k) => new Map(sites.map((s) => [s, temperatures(5, T0 + k * HOUR, `${tag}${k}-`)])),
      );
    // Both instances also see the same ids ('same') at once: one of them applies each.
    const same = new Map(sites.map((s) => [s, temperatures(4, T0 + 20 * HOUR, 'same')]));
    const [ra, rb] = await Promise.all([
      (async () => {
        const out = [];
        for (const batch of [...batchesOf('a'), same]) out.push(await a.apply(batch));
        return out;
      })(),
      (async () => {
        const out = [];
        for (const batch of [...batchesOf('b'), same]) out.push(await b.apply(batch));
        return out;
      })(),
    ]);
    for (const site of sites) {
      expect(Number(await redis.hget(`${prefix}days:${site}`, `${DAY}n`))).toBe(12 * 5 * 2 + 4);
      expect(Number(await redis.hget(`${prefix}days:${site}`, 'seq'))).toBe(26);
      const sameStatuses = [ra.at(-1)?.get(site)?.statuses, rb.at(-1)?.get(site)?.statuses]
        .map((s) => s?.join(''))
        .sort();
      expect(sameStatuses).toEqual(['DDDD', 'NNNN']);
    }
  });

  it('late readings, a new day without reading its id set, and satellite ids kept apart', async () => {
    const state = createEventState({ redis, prefix });
    await state.apply(new Map([['D', temperatures(3, T0 + 20 * HOUR)]]));
    // Next day: applied without reading the site; 7 h behind the watermark is late.
    const next = await state.apply(
      new Map([
        [
          'D',
          [
            { id: 'n1', observedMs: T0 + 25 * HOUR, kind: 'w', value: 30 },
            { id: 'late', observedMs: T0 + 18 * HOUR, kind: 'w', value: 20 },
            { id: 's1', observedMs: T0 - 48 * HOUR, kind: 's', value: 4 },
            { id: 's1', observedMs: T0 - 48 * HOUR, kind: 's', value: 4 },
          ],
        ],
      ]),
    );
    expect(state.counts.siteReads).toBe(1);
    expect(next.get('D')?.statuses.join('')).toBe('NLND');
    const window = next.get('D')?.window;
    expect(window?.lastDay).toBe(DAY + 1);
    expect(window?.meanC.at(-1)).toBe(30);
    expect(window?.turbidity).toEqual({ latest: 4, n: 1, mean: 4, std: 0 });
    expect(window?.firstTouchedDay).toBe(DAY + 1);
    // The satellite id stays applied for a new instance (no expiry), the late one was never applied.
    const again = await createEventState({ redis, prefix }).apply(
      new Map([
        [
          'D',
          [
            { id: 's1', observedMs: T0 - 48 * HOUR, kind: 's', value: 4 },
            { id: 'late', observedMs: T0 + 24 * HOUR, kind: 'w', value: 29 },
          ],
        ],
      ]),
    );
    expect(again.get('D')?.statuses.join('')).toBe('DN');
    expect(Number(await redis.hget(`${prefix}days:D`, 'tn'))).toBe(1);
  });

  it('days that fall out of the 92-day window are deleted from the hash', async () => {
    const state = createEventState({ redis, prefix });
    await state.apply(new Map([['E', temperatures(2, T0)]]));
    const later = T0 + 100 * 86_400_000;
    const result = await state.apply(new Map([['E', temperatures(2, later, 'later')]]));
    expect(Number.isNaN(result.get('E')?.window.meanC[0] ?? 0)).toBe(true);
    expect(await redis.hget(`${prefix}days:E`, `${DAY}n`)).toBeNull();
    expect(Number(await redis.hget(`${prefix}days:E`, `${DAY + 100}n`))).toBe(2);
  });

  it('with the online write in the commit, a commit that meets another writer writes neither', async () => {
    const writer = createRedisFeatureWriter({
      redis,
      keyOf: (site) => `${prefix}features:${site}`,
      ytdPrefix: null,
    });
    const commitWith = writer.commitWith;
    if (!commitWith) throw new Error('the Redis writer commits with the event state');
    // The online vector of each site: its latest daily mean, from the windows the commit makes.
    const vectors = (results: Map<string, SiteApplyResult>): OnlineItem[] =>
      [...results].map(([site, { window }]) => ({
        seq: window.seq,
        vector: {
          schema_version: 1,
          site_id: site,
          as_of: new Date((window.lastDay + 1) * 86_400_000 - 1).toISOString(),
          computed_at: new Date(T0).toISOString(),
          feature_set_version: 'test',
          values: { sst_mean: window.meanC.at(-1) ?? null },
        },
      }));
    const onlineSeqs: string[] = [];
    const attempt: CommitWith = async (results, call) => {
      onlineSeqs.push((await redis.hget(`${prefix}features:W`, 'state_seq')) ?? 'none');
      return commitWith.call(writer, call, [], vectors(results));
    };
    const a = createEventState({ redis, prefix });
    const b = createEventState({ redis, prefix });
    const readings = temperatures(30, T0);
    await a.apply(new Map([['W', readings.slice(0, 10)]]), attempt);
    // Another instance commits the site (state only): a's view is stale now.
    await b.apply(new Map([['W', readings.slice(10, 20)]]));
    const result = await a.apply(new Map([['W', readings.slice(20)]]), attempt);
    // Three calls: a's first batch; then the stale attempt, which wrote nothing (the hash still
    // held batch 1's vector when the re-applied attempt began), and the re-applied one.
    expect(onlineSeqs).toEqual(['none', '1', '1']);
    expect(a.counts.conflicts).toBe(1);
    expect(result.get('W')?.window.seq).toBe(3);
    const stored = await redis.hgetall(`${prefix}features:W`);
    expect(Number(stored.state_seq)).toBe(3);
    expect(Number(stored.sst_mean)).toBeCloseTo(meanOf(readings), 9);
    expect(Number(await redis.hget(`${prefix}days:W`, `${DAY}n`))).toBe(30);
  });
});
