/**
 * Redis CPU of the stream processor's scripts per live batch, on a private Redis: 150 readings
 * over 100 sites (a 5,000/s batch), the event state (one call per batch) and the feature write
 * with the year-to-date DHW folded in (ours: one call per batch, `createRedisFeatureWriter`)
 * vs the two-step write (baseline: `createDhwYearToDate`, one script per site, then the online
 * write), which other online stores use; and the event state of a processor that keeps the sites it
 * has seen (ours: one checked write per batch) vs one that knows nothing of them (baseline: every
 * batch reads each site's hash and id sets first, as a new instance or another instance's site
 * costs, and as the former all-in-Redis script did on every call); and the processor's path: the
 * state commit, the year-to-date DHW (worked out in the processor) and the online write in one
 * call vs the two calls above. Redis CPU from INFO cpu around
 * each call and the processor's own CPU (process.cpuUsage), so the numbers hold on a busy
 * machine better than wall times do; wall times are printed too.
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-redis-scripts.ts [--batches 300]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dayEndIso, FEATURE_SET_VERSION, Secret, startRedis } from '@reefguard/core';
import {
  connectRedis,
  createDhwYearToDate,
  createEventState,
  createFeatureWriter,
  createOnlineStore,
  createRedisFeatureWriter,
  type FeatureRow,
  type FeatureWriter,
  type OnlineItem,
  type SiteApplyResult,
  STREAM_FEATURES,
  type StateReading,
} from '@reefguard/stream-processor';

const SITES = 100;
const PER_BATCH = 150;
const WARMUP = 20;

const { values: flags } = parseArgs({ options: { batches: { type: 'string', default: '300' } } });
const batches = Number(flags.batches);
if (!Number.isInteger(batches) || batches <= WARMUP) {
  throw new RangeError(`--batches: "${flags.batches}" is not a whole number above ${WARMUP}`);
}

const dir = await mkdtemp(join(tmpdir(), 'stream-redis-'));
const server = await startRedis({ dataDir: dir });
const redis = await connectRedis(new Secret(server.url));
const cpuMicros = async () => {
  const info = await redis.info('cpu');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
};

/** The processor's Redis writer under `prefix` (year-to-date DHW and feature hashes). */
const redisWriter = (prefix: string) =>
  createRedisFeatureWriter({ redis, ytdPrefix: prefix, keyOf: (s) => `${prefix}features:${s}` });

/** Live batches through the event state and `writer`; mean Redis CPU and wall ms per batch. */
async function run(
  name: string,
  makeWriter: (prefix: string) => FeatureWriter,
  {
    coldState,
    alternate = false,
    merged = false,
  }: { coldState: boolean; alternate?: boolean; merged?: boolean },
) {
  const prefix = `bench:${name}:`;
  let state = createEventState({ redis, prefix });
  // Two instances taking turns, as a consumer shared by two processors hands batches out.
  const other = createEventState({ redis, prefix });
  const writer = makeWriter(prefix);
  let observedMs = Date.parse('2024-02-01T00:00:00Z');
  let n = 0;
  const sums = {
    stateCpu: 0,
    writeCpu: 0,
    stateWall: 0,
    writeWall: 0,
    stateClient: 0,
    writeClient: 0,
  };
  for (let b = 0; b < batches; b++) {
    const bySite = new Map<string, StateReading[]>();
    for (let i = 0; i < PER_BATCH; i++, n++) {
      const site = `site-${n % SITES}`;
      observedMs += 200;
      const list = bySite.get(site) ?? [];
      list.push({
        id: `${site}-buoy/${observedMs}`,
        observedMs,
        kind: 'w',
        value: 27 + (n % 30) / 10,
      });
      bySite.set(site, list);
    }
    if (coldState) state = createEventState({ redis, prefix });
    const applying = alternate && b % 2 === 1 ? other : state;
    const c0 = await cpuMicros();
    const p0 = process.cpuUsage();
    const w0 = performance.now();
    // The processor's vectors (every stream feature), DHW rising through the season.
    const featuresOf = (results: Map<string, SiteApplyResult>) => {
      const rows: FeatureRow[] = [];
      const online: OnlineItem[] = [];
      for (const [site, { window }] of results) {
        const values: FeatureRow['values'] = {};
        STREAM_FEATURES.forEach((f, k) => {
          values[f] = 20 + k + (b % 13) / 10;
        });
        values.dhw = (b % 40) / 10;
        values.dhw_max_ytd = null;
        rows.push({ siteId: site, day: window.lastDay, ingestedMs: observedMs, values });
        online.push({
          seq: window.seq,
          vector: {
            schema_version: 1,
            site_id: site,
            as_of: dayEndIso(window.lastDay),
            computed_at: new Date(observedMs).toISOString(),
            feature_set_version: FEATURE_SET_VERSION,
            values,
          },
        });
      }
      return { rows, online };
    };
    // Merged: the state's commit and the feature write in one call (the processor's path), all
    // of it counted as the event state's; else the state's own call, then the writer's.
    const commitWith = merged ? writer.commitWith?.bind(writer) : undefined;
    if (merged && !commitWith) throw new Error(`${name}: the writer has no commitWith`);
    const applied = await applying.apply(
      bySite,
      commitWith &&
        ((results, call) => {
          const { rows, online } = featuresOf(results);
          return commitWith(call, rows, online);
        }),
    );
    const w1 = performance.now();
    const p1 = process.cpuUsage(p0);
    const c1 = await cpuMicros();
    const w2 = performance.now();
    const p2 = process.cpuUsage();
    if (!commitWith) {
      const { rows, online } = featuresOf(applied);
      await writer.write(rows, online);
    }
    const w3 = performance.now();
    const p3 = process.cpuUsage(p2);
    const c2 = await cpuMicros();
    if (b < WARMUP) continue;
    sums.stateCpu += c1 - c0;
    sums.writeCpu += c2 - c1;
    sums.stateWall += w1 - w0;
    sums.stateClient += p1.user + p1.system;
    sums.writeClient += p3.user + p3.system;
    sums.writeWall += w3 - w2;
  }
  const m = batches - WARMUP;
  return {
    stateCpuMs: sums.stateCpu / m / 1000,
    writeCpuMs: sums.writeCpu / m / 1000,
    stateWallMs: sums.stateWall / m,
    stateClientMs: sums.stateClient / m / 1000,
    writeClientMs: sums.writeClient / m / 1000,
    writeWallMs: sums.writeWall / m,
  };
}

try {
  console.log(`load average at start ${loadavg()[0]?.toFixed(1)} (2 shared cores)`);
  const baseline = await run(
    'two-step',
    (prefix) =>
      createFeatureWriter(
        createOnlineStore({ redis, keyOf: (s) => `${prefix}features:${s}` }),
        createDhwYearToDate({ redis, prefix }),
      ),
    { coldState: true },
  );
  const ours = await run('one-call', redisWriter, { coldState: false });
  const merged = await run('merged', redisWriter, { coldState: false, merged: true });
  const row = (label: string, a: number, b: number) =>
    console.log(
      `${label.padEnd(44)} ${a.toFixed(2).padStart(8)} ${b.toFixed(2).padStart(10)} ${(b / a).toFixed(2).padStart(7)}x`,
    );
  console.log(
    `per batch of ${PER_BATCH} readings over ${SITES} sites, ${batches - WARMUP} batches`,
  );
  console.log(
    `${'ms per batch'.padEnd(44)} ${'ours'.padStart(8)} ${'baseline'.padStart(10)}   ratio`,
  );
  row('feature write (+ year-to-date DHW), Redis CPU', ours.writeCpuMs, baseline.writeCpuMs);
  row('feature write (+ year-to-date DHW), wall', ours.writeWallMs, baseline.writeWallMs);
  row('event state (sites known vs read), Redis CPU', ours.stateCpuMs, baseline.stateCpuMs);
  row('event state (sites known vs read), wall', ours.stateWallMs, baseline.stateWallMs);
  row('event state, processor CPU', ours.stateClientMs, baseline.stateClientMs);
  // The processor's path: state commit, year-to-date DHW (kept in memory) and online write in
  // one call, against the two calls above (state commit, then the write with the DHW in Lua).
  row(
    'state + feature write in one call, Redis CPU',
    merged.stateCpuMs,
    ours.stateCpuMs + ours.writeCpuMs,
  );
  row(
    'state + feature write in one call, wall',
    merged.stateWallMs,
    ours.stateWallMs + ours.writeWallMs,
  );
  row(
    'state + feature write in one call, proc. CPU',
    merged.stateClientMs,
    ours.stateClientMs + ours.writeClientMs,
  );
  const turns = await run('alternating', redisWriter, { coldState: false, alternate: true });
  console.log(
    `event state, two instances taking turns on the same sites: Redis CPU ${turns.stateCpuMs.toFixed(2)} ms, processor CPU ${turns.stateClientMs.toFixed(2)} ms, wall ${turns.stateWallMs.toFixed(2)} ms per batch`,
  );
  console.log(`load average at end ${loadavg()[0]?.toFixed(1)}`);
} finally {
  await redis.quit();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
