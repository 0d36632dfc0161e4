/**
 * Offline store commits, two cases (`--cases live,bulk`, both by default):
 *
 * - live: the processor's commit of one live batch (60 readings, 55 daily feature rows; every
 *   10th batch also a redelivered reading, a late one and a quarantined item) into a store that
 *   already holds `--history` readings (1,500,000) and 100,000 feature rows, `--commits` (500)
 *   times, each store on its own thread as the processor opens it. Ours (DuckDB without a
 *   worker pool, one appender per table and the transaction statements prepared once, the
 *   batch sent to the thread packed) vs the same with DuckDB's worker pool vs the earlier
 *   sequence (`legacyStatements` and the pool: a new appender per call, BEGIN / COMMIT planned
 *   each batch, the batch cloned as objects), on copies of the same file, commits rotating
 *   between them; wall ms (plain batches; those with a redelivery apart) and process CPU ms per
 *   commit, then every table compared (sha256 of ordered rows).
 * - bulk: batches of 2,000 readings + 100 feature rows as Apache Arrow record batches copied
 *   into DuckDB data chunks (`appendPath: 'arrow'`) vs the row appender (`'rows'`, best of 2).
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-offline-append.ts [--cases live,bulk]
 *      [--commits 500] [--history 1500000] [--batches 100]
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AppendPath,
  type FeatureRow,
  type LateReading,
  type OfflineStore,
  openOfflineStore,
  openOfflineStoreThread,
  type QuarantinedItem,
  STREAM_FEATURES,
  type StoredReading,
} from '@reefguard/stream-processor';
import { GENERATED_FROM_MS, generatedReading } from './stream-readings.js';

const { values: flags } = parseArgs({
  options: {
    cases: { type: 'string', default: 'live,bulk' },
    commits: { type: 'string', default: '500' },
    history: { type: 'string', default: '1500000' },
    batches: { type: 'string', default: '100' },
  },
});
const count = (name: 'commits' | 'history' | 'batches') => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`--${name}: a positive integer, got ${flags[name]}`);
  }
  return n;
};
const BATCHES = count('batches');
const COMMITS = count('commits');
const HISTORY = count('history');
const CASES = new Set(flags.cases.split(','));
for (const c of CASES) {
  if (c !== 'live' && c !== 'bulk') throw new RangeError(`--cases: live and/or bulk, got ${c}`);
}
const READINGS_PER_BATCH = 2000;
const SITES = 100;

/** Batch `b`: 2,000 readings over 100 sites and one feature row per site (some nulls). */
function batch(b: number): { fresh: StoredReading[]; features: FeatureRow[] } {
  const ingestedMs = GENERATED_FROM_MS + 86_400_000 + b * 100;
  const fresh: StoredReading[] = [];
  for (let k = 0; k < READINGS_PER_BATCH; k++) {
    const i = b * READINGS_PER_BATCH + k;
    fresh.push({
      reading: generatedReading(i, SITES),
      observedMs: GENERATED_FROM_MS + Math.floor(i / SITES) * 1000,
      ingestedMs,
    });
  }
  const features: FeatureRow[] = Array.from({ length: SITES }, (_, s) => ({
    siteId: `site-${s}`,
    day: Math.floor(GENERATED_FROM_MS / 86_400_000) + (b % 30),
    ingestedMs,
    values: Object.fromEntries(
      STREAM_FEATURES.map((f, j) => [f, (s + j + b) % 7 === 0 ? null : (s * 31 + j + b) / 10]),
    ),
  }));
  return { fresh, features };
}

async function run(path: AppendPath, dir: string) {
  const store = await openOfflineStore(join(dir, `${path}.duckdb`), { appendPath: path });
  const batches = Array.from({ length: BATCHES }, (_, b) => batch(b));
  let rows = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const { fresh, features } of batches) {
    await store.appendBatch({ fresh, repeated: [], quarantined: [], late: [], features });
    rows += fresh.length + features.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuUsPerRow = (used.user + used.system) / rows;
  const readings = await digest(store, 'readings', 'id');
  const features = await digest(store, 'daily_features', 'site_id, as_of_day, ingested_at');
  await store.close();
  return { rowsPerS: rows / seconds, cpuUsPerRow, seconds, readings, features };
}

/** The digest of a table's ordered rows: `count:sha256`. */
async function digest(store: OfflineStore, table: string, order: string): Promise<string> {
  const [row] = await store.query(
    `SELECT count(*)::INT AS n, sha256(coalesce(string_agg(t::VARCHAR, chr(10) ORDER BY ${order}), '')) AS h FROM ${table} t`,
  );
  return `${row?.n}:${row?.h}`;
}

const LIVE_TABLES = [
  ['readings', 'id'],
  ['daily_features', 'site_id, as_of_day, ingested_at'],
  ['late_readings', 'id'],
  ['quarantine', 'quarantined_at, payload'],
] as const;

/** The history: `HISTORY` readings (100 sites, one per site and second) and 100,000 feature rows. */
async function writeHistory(path: string): Promise<void> {
  const store = await openOfflineStore(path);
  const features = STREAM_FEATURES.map(
    (_feature, j) => `CASE WHEN (i + ${j}) % 7 = 0 THEN NULL ELSE (i % 1000 + ${j}) / 10.0 END`,
  ).join(', ');
  // Generated in SQL (seconds instead of a minute of appends); ids as readingId makes them.
  await store.query(
    `INSERT INTO readings SELECT
       'site-' || (i % ${SITES}) || '-buoy/water_temperature/' || (${GENERATED_FROM_MS} + (i // ${SITES}) * 1000),
       'site-' || (i % ${SITES}), 'site-' || (i % ${SITES}) || '-buoy', 'water_temperature',
       27 + (i % 30) / 10, 'degC', 'generated',
       epoch_ms(${GENERATED_FROM_MS} + (i // ${SITES}) * 1000),
       epoch_ms(${GENERATED_FROM_MS} + (i // ${SITES}) * 1000 + 500)
     FROM range(${HISTORY}) r(i)`,
  );
  await store.query(
    `INSERT INTO daily_features SELECT 'site-' || (i % ${SITES}),
       DATE '1970-01-01' + (${Math.floor(GENERATED_FROM_MS / 86_400_000) - 1000} + i // ${SITES})::INT,
       epoch_ms(${GENERATED_FROM_MS} + i), ${features}
     FROM range(100000) r(i)`,
  );
  await store.close();
}

interface LiveBatch {
  fresh: StoredReading[];
  repeated: StoredReading[];
  quarantined: QuarantinedItem[];
  late: LateReading[];
  features: FeatureRow[];
}

/**
 * Live batch `b`: the next 60 readings after the history, one feature row for 55 sites; every
 * 10th also a redelivered reading (stored in the history), a late one (never stored) and a
 * quarantined payload.
 */
function liveBatch(b: number): LiveBatch {
  const ingestedMs = GENERATED_FROM_MS + HISTORY * 10 + b * 7;
  const stored = (i: number) => ({
    reading: generatedReading(i, SITES),
    observedMs: GENERATED_FROM_MS + Math.floor(i / SITES) * 1000,
    ingestedMs,
  });
  const fresh = Array.from({ length: 60 }, (_, k) => stored(HISTORY + b * 60 + k));
  const features: FeatureRow[] = Array.from({ length: 55 }, (_, k) => {
    const s = (b * 55 + k) % SITES;
    return {
      siteId: `site-${s}`,
      day: Math.floor((GENERATED_FROM_MS + ((HISTORY + b * 60) / SITES) * 1000) / 86_400_000),
      ingestedMs,
      values: Object.fromEntries(
        STREAM_FEATURES.map((f, j) => [f, (s + j + b) % 7 === 0 ? null : (s * 31 + j + b) / 10]),
      ),
    };
  });
  if (b % 10 !== 0) return { fresh, repeated: [], quarantined: [], late: [], features };
  const redelivered = stored((b * 7919) % HISTORY);
  const lateRow = stored(HISTORY + COMMITS * 60 + b);
  return {
    fresh,
    repeated: [redelivered, lateRow],
    late: [{ ...lateRow, watermarkMs: ingestedMs, reason: 'beyond_allowed_lateness' }],
    quarantined: [
      {
        source: 'nats',
        reason: 'schema_violation',
        detail: `value: expected number (batch ${b})`,
        payload: `{"id":"bad-${b}","value":"warm"}`,
        quarantinedAt: new Date(ingestedMs).toISOString(),
      },
    ],
    features,
  };
}

interface CommitTimes {
  /** Wall ms of the plain batches and of those with a redelivered reading. */
  plainMs: number[];
  redeliveryMs: number[];
  /** Process CPU ms (every thread) of the plain batches and of those with a redelivery. */
  plainCpuMs: number;
  redeliveryCpuMs: number;
}

async function timedCommit(store: OfflineStore, batch: LiveBatch, into: CommitTimes) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await store.appendBatch(batch);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  if (batch.repeated.length > 0) {
    into.redeliveryMs.push(ms);
    into.redeliveryCpuMs += cpuMs;
  } else {
    into.plainMs.push(ms);
    into.plainCpuMs += cpuMs;
  }
}

function summary(t: CommitTimes) {
  const sorted = [...t.plainMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = (ms: number[]) => ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  return {
    mean: mean(sorted),
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    cpu: t.plainCpuMs / Math.max(1, t.plainMs.length),
    redelivery: mean(t.redeliveryMs),
    redeliveryCpu: t.redeliveryCpuMs / Math.max(1, t.redeliveryMs.length),
  };
}

async function liveCase(dir: string): Promise<boolean> {
  const history = join(dir, 'history.duckdb');
  const prepared = performance.now();
  await writeHistory(history);
  console.log(
    `live: ${COMMITS} commits of 60 readings + 55 feature rows (every 10th + 1 redelivered, 1 late, 1 quarantined) onto ${HISTORY.toLocaleString('en')} readings + 100,000 feature rows (history written in ${((performance.now() - prepared) / 1000).toFixed(1)} s); load ${loadavg()[0]?.toFixed(1)}`,
  );
  // Each store as the processor opens it: on a thread of its own.
  const variants = [
    {
      name: 'ours (DuckDB on the store thread alone, kept appenders, packed)',
      options: {},
    },
    {
      name: 'ours but DuckDB worker pool (one thread per core)',
      options: { threads: availableParallelism() },
    },
    {
      name: 'baseline (worker pool, appender per call, objects cloned)',
      options: { threads: availableParallelism(), legacyStatements: true },
    },
  ];
  const stores: OfflineStore[] = [];
  for (const [k, v] of variants.entries()) {
    await copyFile(history, join(dir, `live-${k}.duckdb`));
    stores.push(await openOfflineStoreThread(join(dir, `live-${k}.duckdb`), v.options));
  }
  const times: CommitTimes[] = variants.map(() => ({
    plainMs: [],
    redeliveryMs: [],
    plainCpuMs: 0,
    redeliveryCpuMs: 0,
  }));
  for (let b = 0; b < COMMITS; b++) {
    const batch = liveBatch(b);
    // Rotate which goes first, so none always follows another's commit.
    for (let j = 0; j < stores.length; j++) {
      const k = (b + j) % stores.length;
      await timedCommit(stores[k] as OfflineStore, batch, times[k] as CommitTimes);
    }
    if ((b + 1) % 100 === 0) console.log(`  ${b + 1} / ${COMMITS} commits`);
  }
  const ours = stores[0] as OfflineStore;
  const differ: string[] = [];
  for (const [table, order] of LIVE_TABLES) {
    const digests = await Promise.all(stores.map((store) => digest(store, table, order)));
    if (new Set(digests).size !== 1) differ.push(table);
  }
  const [rows] = await ours.query(
    'SELECT (SELECT count(*) FROM readings)::INT AS readings, (SELECT count(*) FROM late_readings)::INT AS late',
  );
  await Promise.all(stores.map((store) => store.close()));
  const summaries = times.map(summary);
  for (const [k, s] of summaries.entries()) {
    console.log(
      `  ${variants[k]?.name.padEnd(66)}: plain batch mean ${s.mean.toFixed(2)} / p50 ${s.p50.toFixed(2)} / p99 ${s.p99.toFixed(2)} / max ${s.max.toFixed(1)} ms, CPU ${s.cpu.toFixed(2)} ms; with a redelivery mean ${s.redelivery.toFixed(1)} ms, CPU ${s.redeliveryCpu.toFixed(1)} ms`,
    );
  }
  const o = summaries[0] as ReturnType<typeof summary>;
  const z = summaries[2] as ReturnType<typeof summary>;
  console.log(
    `  ratio ours / baseline: ${(o.mean / z.mean).toFixed(2)}x the plain batch's mean wall time, ${(o.cpu / z.cpu).toFixed(2)}x its CPU; tables ${differ.length === 0 ? 'identical' : `DIFFER: ${differ.join(', ')}`} (readings ${rows?.readings}, late ${rows?.late})`,
  );
  return differ.length === 0;
}

async function bulkCase(dir: string): Promise<boolean> {
  console.log(
    `bulk: ${BATCHES} batches of ${READINGS_PER_BATCH} readings + ${SITES} feature rows (${STREAM_FEATURES.length} features), one transaction each; load ${loadavg()[0]?.toFixed(1)}`,
  );
  // Alternate so that neither path always runs on a colder or busier machine.
  const rowsFirst = await run('rows', dir);
  const arrow = await run('arrow', dir);
  const rowsAgain = await run('rows', join(dir, 'again'));
  const baseline = rowsFirst.rowsPerS > rowsAgain.rowsPerS ? rowsFirst : rowsAgain;
  const same =
    arrow.readings === baseline.readings && arrow.features === baseline.features
      ? 'identical'
      : 'DIFFER';
  const line = (name: string, r: typeof arrow) =>
    console.log(
      `  ${name.padEnd(47)}: ${r.rowsPerS.toFixed(0).padStart(7)} rows/s, CPU ${r.cpuUsPerRow.toFixed(2)} us/row`,
    );
  line('ours (Arrow record batch -> DuckDB data chunks)', arrow);
  line('baseline (row appender, best of 2)', baseline);
  console.log(
    `  ratio ${(arrow.rowsPerS / baseline.rowsPerS).toFixed(2)}x the rows/s, ${(arrow.cpuUsPerRow / baseline.cpuUsPerRow).toFixed(2)}x the CPU per row; tables ${same}`,
  );
  console.log(
    `  readings ${arrow.readings.split(':')[0]} rows, daily_features ${arrow.features.split(':')[0]} rows`,
  );
  return same === 'identical';
}

const dir = await mkdtemp(join(tmpdir(), 'offline-append-'));
try {
  let ok = true;
  if (CASES.has('live')) ok = (await liveCase(dir)) && ok;
  if (CASES.has('bulk')) ok = (await bulkCase(dir)) && ok;
  console.log(
    `load average at end ${loadavg()[0]?.toFixed(1)} (2 shared cores; re-run on a quiet machine)`,
  );
  if (!ok) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
