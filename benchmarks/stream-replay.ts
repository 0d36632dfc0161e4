/**
 * Replay + ingest of one season of daily GBR-grid SST: `writeReplaySeason` writes one
 * MODIS L3m-style NetCDF4 file per day (0.01-degree grid, 15,928 reef pixels), a local HTTP
 * server hands them to `ingestModisDays` (fetch, read with h5wasm, sample at every pixel,
 * DuckDB), then the CRW DHW recomputed from the ingested samples is compared with the shipped
 * annual maximum DHW per pixel. Goal: replay + ingest under 2 minutes; DHW within 10 %.
 *
 * Prints where the time goes (calibration, writing files, HTTP fetch, HDF5 decode, sampling,
 * DuckDB store, DHW check), CPU seconds of the process (all its threads, DuckDB's included) and
 * the load average, since the machine may be shared. `--sequential` ingests as the first build
 * did (one file at a time, one store call per day) for an A/B comparison in the same run.
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-replay.ts [YEAR] [--sequential] [--days-per-commit N]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeHeatStress } from '@reefguard/core';
import {
  createFetcher,
  emptyIngestTimings,
  type IngestTimings,
  ingestModisDays,
  loadReplayPixels,
  openOfflineStore,
  type ReplayPixel,
  type ReplayTimings,
  replayMmmC,
  writeReplaySeason,
} from '@reefguard/stream-processor';

const GOAL_S = 120;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sequential: { type: 'boolean', default: false },
    'days-per-commit': { type: 'string' },
  },
});
const year = Number(positionals[0] ?? 2016);
const daysPerCommit =
  values['days-per-commit'] === undefined ? undefined : Number(values['days-per-commit']);
const root = resolve(import.meta.dirname, '..');
const dir = await mkdtemp(join(tmpdir(), 'stream-replay-'));
const server = createServer((req, res) => {
  const name = (req.url ?? '').split('/').pop() ?? '';
  createReadStream(join(dir, 'files', name))
    .on('error', () => res.writeHead(404).end())
    .pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const cpuS = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function ingest(
  pixels: readonly ReplayPixel[],
  days: readonly number[],
  path: string,
  sequential: boolean,
) {
  const offline = await openOfflineStore(path);
  const timings = emptyIngestTimings();
  const started = performance.now();
  const cpu = process.cpuUsage();
  let reported = 0;
  const summary = await ingestModisDays(days, {
    fetcher: createFetcher({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    }),
    sites: pixels.map((p) => ({ ...p, mmmC: p.minC + p.rangeC, monthlyMeanC: [] })),
    offline,
    timings,
    ...(sequential
      ? { prefetch: 0, daysPerCommit: 1, overlapStores: false }
      : daysPerCommit
        ? { daysPerCommit }
        : {}),
    onProgress: (sofar) => {
      if (sofar.files >= reported + 38 || sofar.files === days.length) {
        reported = sofar.files;
        console.log(
          `  ingest${sequential ? ' --sequential' : ''}: ${sofar.files}/${days.length} files, ${s(performance.now() - started)}`,
        );
      }
    },
  });
  return { offline, summary, timings, ms: performance.now() - started, cpuS: cpuS(cpu) };
}

const phaseLines = (t: IngestTimings) => [
  `    HTTP fetch (sum of request times, overlapped): ${s(t.fetchMs)}`,
  `    gunzip + HDF5 decode (call to result; when overlapped it includes the store's appender loop on the event loop): ${s(t.decodeMs)}`,
  `    sampling at the pixels    : ${s(t.sampleMs)}`,
  `    DuckDB store (appender + INSERT OR IGNORE, overlapped): ${s(t.storeMs)}`,
];

try {
  console.log(`load average at start: ${load()} (machine may be shared, 2 cores)`);
  const pixels = await loadReplayPixels(join(root, 'data/sample'), year);
  const replayTimings: ReplayTimings = { calibrateMs: 0, writeMs: 0 };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const season = await writeReplaySeason(pixels, year, join(dir, 'files'), {
    timings: replayTimings,
    onProgress: (written, of) => {
      if (written % 38 === 0 || written === of) console.log(`  replay: ${written}/${of} files`);
    },
  });
  const replayMs = performance.now() - t0;
  const replayCpuS = cpuS(cpu0);
  const ours = await ingest(pixels, season.days, join(dir, 'ingest.duckdb'), false);
  const total = (replayMs + ours.ms) / 1000;

  // DHW recomputed from what was ingested, pixel by pixel.
  const t3 = performance.now();
  const rows = await ours.offline.query(
    `SELECT site_id, floor(epoch(observed_at) / 86400)::INT AS day, value FROM satellite_samples`,
  );
  await ours.offline.close();
  const index = new Map(pixels.map((p, i) => [p.siteId, i]));
  const n = pixels.length;
  const sst = new Float32Array(season.days.length * n).fill(Number.NaN);
  const first = season.days[0] as number;
  for (const r of rows) {
    sst[(Number(r.day) - first) * n + (index.get(String(r.site_id)) as number)] = Number(r.value);
  }
  const series = computeHeatStress({
    days: Int32Array.from(season.days),
    sstC: sst,
    pixels: n,
    mmmC: replayMmmC(pixels),
  });
  const firstOfYear = Date.UTC(year, 0, 1) / 86_400_000;
  let within = 0;
  let stressed = 0;
  let stressedWithin = 0;
  pixels.forEach((p, i) => {
    let max = 0;
    season.days.forEach((day, t) => {
      const v = series.dhw[t * n + i] as number;
      if (day >= firstOfYear && v > max) max = v;
    });
    const ok = Math.abs(max - p.targetDhw) <= Math.max(0.1 * p.targetDhw, 0.005);
    within += ok ? 1 : 0;
    if (p.targetDhw >= 1) {
      stressed += 1;
      stressedWithin += ok ? 1 : 0;
    }
  });
  const checkMs = performance.now() - t3;

  const baseline = values.sequential
    ? await ingest(pixels, season.days, join(dir, 'sequential.duckdb'), true)
    : null;
  await baseline?.offline.close();

  console.log(`season ${year}: ${season.files.length} daily files, ${n} reef pixels`);
  console.log(
    `  replay: ${s(replayMs)} wall, ${replayCpuS.toFixed(1)} CPU s`,
    `\n    heatwave calibration      : ${s(replayTimings.calibrateMs)}`,
    `\n    writing files (h5wasm)    : ${s(replayTimings.writeMs)}`,
  );
  // The heatwave's trims: added to the counted days, or the level of a short plateau.
  const { trimC, plateauDays } = season.heatwave;
  const heated = pixels.flatMap((p, i) => (p.targetDhw > 0 ? [i] : []));
  const spread = (values: number[]) => {
    values.sort((a, b) => a - b);
    const at = (q: number) =>
      (values[Math.floor(q * (values.length - 1))] ?? Number.NaN).toFixed(2);
    return `p50 ${at(0.5)}  p90 ${at(0.9)}  max ${at(1)}`;
  };
  const added = heated.filter((i) => plateauDays[i] === 0).map((i) => trimC[i] as number);
  const plateaus = heated.filter((i) => (plateauDays[i] as number) > 0);
  console.log(
    `    trim added to the counted days, degC: ${spread(added)} (${added.length} pixels with heat stress)`,
    `\n    plateau of the hottest days instead: ${plateaus.length} pixels, ${spread(plateaus.map((i) => plateauDays[i] as number))} days at ${spread(plateaus.map((i) => trimC[i] as number))} degC over the MMM`,
  );
  console.log(
    `  ingest: ${s(ours.ms)} wall, ${ours.cpuS.toFixed(1)} CPU s, ${ours.summary.samples} samples`,
  );
  for (const line of phaseLines(ours.timings)) console.log(line);
  if (baseline) {
    console.log(
      `  ingest --sequential (one file at a time, one store per day): ${s(baseline.ms)} wall, ${baseline.cpuS.toFixed(1)} CPU s, ${baseline.summary.samples} samples: ours ${(baseline.ms / ours.ms).toFixed(2)}x faster`,
    );
    for (const line of phaseLines(baseline.timings)) console.log(line);
  }
  console.log(`  DHW check (query + recompute, not in the total): ${s(checkMs)}`);
  console.log(
    `  total ${total.toFixed(1)} s vs goal ${GOAL_S} s: ratio ${(GOAL_S / total).toFixed(2)}x`,
  );
  console.log(
    `  annual max DHW within 10 %: ${within}/${n} pixels; ${stressedWithin}/${stressed} with shipped DHW >= 1`,
  );
  console.log(`load average at end: ${load()}`);
} finally {
  server.close();
  await rm(dir, { recursive: true, force: true });
}
