/**
 * Offline store appends: a batch's readings and daily feature rows into DuckDB as Apache Arrow
 * record batches copied column by column into DuckDB data chunks (ours, `appendPath: 'arrow'`)
 * vs DuckDB's row appender, one call per value (baseline, `appendPath: 'rows'`). Same rows
 * both ways, one transaction per batch like the processor; rows/s each way, then the two
 * files' tables are compared row for row (sha256 of their ordered contents).
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-offline-append.ts [--batches N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AppendPath,
  type FeatureRow,
  openOfflineStore,
  STREAM_FEATURES,
  type StoredReading,
} from '@reefguard/stream-processor';
import { GENERATED_FROM_MS, generatedReading } from './stream-readings.js';

const { values: flags } = parseArgs({ options: { batches: { type: 'string', default: '100' } } });
const BATCHES = Number(flags.batches);
if (!Number.isInteger(BATCHES) || BATCHES < 1) {
  throw new RangeError(`--batches: a positive integer, got ${flags.batches}`);
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
  const digest = async (table: string, order: string) => {
    const [row] = await store.query(
      `SELECT count(*)::INT AS n, sha256(string_agg(t::VARCHAR, chr(10) ORDER BY ${order})) AS h FROM ${table} t`,
    );
    return `${row?.n}:${row?.h}`;
  };
  const readings = await digest('readings', 'id');
  const features = await digest('daily_features', 'site_id, as_of_day, ingested_at');
  await store.close();
  return { rowsPerS: rows / seconds, cpuUsPerRow, seconds, readings, features };
}

const dir = await mkdtemp(join(tmpdir(), 'offline-append-'));
try {
  const [startLoad] = loadavg();
  console.log(
    `${BATCHES} batches of ${READINGS_PER_BATCH} readings + ${SITES} feature rows (${STREAM_FEATURES.length} features), one transaction each; load ${startLoad?.toFixed(1)}`,
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
  const [load1] = loadavg();
  console.log(
    `load average at end ${load1?.toFixed(1)} (2 shared cores; re-run on a quiet machine)`,
  );
  if (same !== 'identical') process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
