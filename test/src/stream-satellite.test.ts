import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createFetcher,
  ingestModisDays,
  modisL3mFileName,
  openOfflineStore,
  readModisL3mSst,
  writeModisL3mSst,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolation, testSite } from './stream-helpers.js';

const DAY = Math.floor(Date.parse('2024-02-20T00:00:00Z') / 86_400_000);
// A 0.1-degree L3m tile over the central GBR, north to south as OBPG writes it.
const lat = Float64Array.from({ length: 20 }, (_, i) => -17.05 - 0.1 * i);
const lon = Float64Array.from({ length: 20 }, (_, j) => 146.55 + 0.1 * j);
const sstC = Float32Array.from(
  { length: 400 },
  (_, k) => 28 + (k % 20) * 0.05 + Math.floor(k / 20) * 0.01,
);
const quality = new Int8Array(400);
const sites = [
  { ...testSite('18-054'), lat: -18.83, lon: 147.63 }, // row 18, col 11
  { ...testSite('cloudy'), lat: -17.05, lon: 146.55 }, // row 0, col 0: quality 3, dropped
  { ...testSite('land'), lat: -17.15, lon: 146.65 }, // row 1, col 1: no value
];
quality[0] = 3;
sstC[21] = Number.NaN;

describe('stream processor - MODIS L3m ingestion over HTTP', () => {
  let server: Server;
  let requests = 0;
  let files: Map<string, Uint8Array>;
  let iso: Awaited<ReturnType<typeof isolation>>;
  beforeAll(async () => {
    iso = await isolation();
    const good = await writeModisL3mSst(
      { lat, lon, sstC },
      { productName: modisL3mFileName(DAY), timeCoverageStart: '2024-02-20T00:00:00Z', quality },
    );
    files = new Map([
      [modisL3mFileName(DAY), good],
      [modisL3mFileName(DAY + 1), good.subarray(0, Math.floor(good.length / 2))],
      [modisL3mFileName(DAY + 2), new TextEncoder().encode('<html>503 maintenance</html>')],
    ]);
    let failFirst = true;
    server = createServer((req, res) => {
      requests += 1;
      // The first request fails like a busy archive: the fetcher must retry.
      if (failFirst) {
        failFirst = false;
        res.writeHead(503).end();
        return;
      }
      const body = files.get(req.url?.split('/').pop() ?? '');
      if (!body) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/x-netcdf' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await iso.cleanup();
  });

  it('reads scale factor, fill value, quality and latitude order from the file', async () => {
    const grid = await readModisL3mSst(files.get(modisL3mFileName(DAY)) as Uint8Array);
    expect(grid.lat[0]).toBeCloseTo(-17.05, 4);
    expect(grid.lon.length).toBe(20);
    expect(grid.sstC[18 * 20 + 11]).toBeCloseTo(28 + 11 * 0.05 + 18 * 0.01, 3);
    expect(grid.sstC[0]).toBeNaN();
    expect(grid.sstC[21]).toBeNaN();
    const lenient = await readModisL3mSst(files.get(modisL3mFileName(DAY)) as Uint8Array, {
      maxQuality: 5,
    });
    expect(lenient.sstC[0]).toBeCloseTo(28, 3);
  });

  it('samples good pixels at sites, quarantines truncated and corrupt files, reports missing days', async () => {
    const offline = await openOfflineStore(`${iso.dir}/offline.duckdb`);
    try {
      const port = (server.address() as AddressInfo).port;
      const fetcher = createFetcher({
        baseUrl: `http://127.0.0.1:${port}/ob/getfile/`,
        timeoutMs: 2_000,
        retries: 2,
      });
      const summary = await ingestModisDays([DAY, DAY + 1, DAY + 2, DAY + 3], {
        fetcher,
        sites,
        offline,
      });
      expect(summary.files).toBe(1);
      expect(summary.samples).toBe(1);
      expect(summary.missing).toEqual([modisL3mFileName(DAY + 3)]);
      expect(summary.quarantined.map((q) => q.reason)).toEqual(['truncated_file', 'corrupt_file']);
      expect(requests).toBe(5);
      const rows = await offline.query(
        'SELECT site_id, round(value, 3) AS value, observed_at::VARCHAR AS at FROM satellite_samples',
      );
      expect(rows).toEqual([{ site_id: '18-054', value: 28.73, at: '2024-02-20 12:00:00' }]);
      // Ingesting the same day again stores nothing twice.
      await ingestModisDays([DAY], { fetcher, sites, offline });
      const count = await offline.query('SELECT count(*)::INT AS n FROM satellite_samples');
      expect(count[0]?.n).toBe(1);
      const quarantine = await offline.query(
        'SELECT source, reason FROM quarantine ORDER BY reason',
      );
      expect(quarantine).toEqual([
        { source: 'modis-aqua-l3m-sst', reason: 'corrupt_file' },
        { source: 'modis-aqua-l3m-sst', reason: 'truncated_file' },
      ]);
    } finally {
      await offline.close();
    }
  });
});
