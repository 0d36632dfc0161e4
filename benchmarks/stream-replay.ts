/**
 * Replay + ingest of one season of daily GBR-grid SST: `writeReplaySeason` writes one
 * MODIS L3m-style NetCDF4 file per day (0.01-degree grid, 15,928 reef pixels), a local HTTP
 * server hands them to `ingestModisDays` (fetch, read with h5wasm, sample at every pixel,
 * DuckDB), then the CRW DHW recomputed from the ingested samples is compared with the shipped
 * annual maximum DHW per pixel. Goal: replay + ingest under 2 minutes; DHW within 10 %.
 *
 * Run: node_modules/.bin/tsx benchmarks/stream-replay.ts [YEAR]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { computeHeatStress } from '@reefguard/core';
import {
  createFetcher,
  ingestModisDays,
  loadReplayPixels,
  openOfflineStore,
  writeReplaySeason,
} from '@reefguard/stream-processor';

const GOAL_S = 120;
const year = Number(process.argv[2] ?? 2016);
const root = resolve(import.meta.dirname, '..');
const dir = await mkdtemp(join(tmpdir(), 'stream-replay-'));
const server = createServer((req, res) => {
  const name = (req.url ?? '').split('/').pop() ?? '';
  createReadStream(join(dir, 'files', name))
    .on('error', () => res.writeHead(404).end())
    .pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
try {
  const pixels = await loadReplayPixels(join(root, 'data/sample'), year);
  const t0 = performance.now();
  const season = await writeReplaySeason(pixels, year, join(dir, 'files'));
  const t1 = performance.now();
  const offline = await openOfflineStore(join(dir, 'ingest.duckdb'));
  const port = (server.address() as AddressInfo).port;
  const summary = await ingestModisDays(season.days, {
    fetcher: createFetcher({ baseUrl: `http://127.0.0.1:${port}/` }),
    sites: pixels.map((p) => ({ ...p, mmmC: p.minC + p.rangeC, monthlyMeanC: [] })),
    offline,
  });
  const t2 = performance.now();
  // DHW recomputed from what was ingested, pixel by pixel.
  const rows = await offline.query(
    `SELECT site_id, floor(epoch(observed_at) / 86400)::INT AS day, value FROM satellite_samples`,
  );
  await offline.close();
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
    mmmC: Float64Array.from(pixels, (p) => p.minC + p.rangeC),
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
  const total = (t2 - t0) / 1000;
  console.log(
    `season ${year}: ${season.files.length} daily files, ${n} reef pixels (machine shared, 2 cores)`,
  );
  console.log(`  replay (calibrate + write) : ${((t1 - t0) / 1000).toFixed(1)} s`);
  console.log(
    `  ingest (HTTP, read, sample, DuckDB): ${((t2 - t1) / 1000).toFixed(1)} s, ${summary.samples} samples`,
  );
  console.log(
    `  total ${total.toFixed(1)} s vs goal ${GOAL_S} s: ratio ${(GOAL_S / total).toFixed(2)}x`,
  );
  console.log(
    `  annual max DHW within 10 %: ${within}/${n} pixels; ${stressedWithin}/${stressed} with shipped DHW >= 1`,
  );
} finally {
  server.close();
  await rm(dir, { recursive: true, force: true });
}
