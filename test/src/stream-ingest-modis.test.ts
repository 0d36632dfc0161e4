import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  loadGbrSites,
  loadReplayPixels,
  modisL3mFileName,
  openOfflineStore,
  readModisL3mSst,
  sampleGridAtSites,
  sitesLatLonBox,
  writeModisL3mSst,
  writeReplaySeason,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE, isolation } from './stream-helpers.js';

const DATA = new URL('../../data/sample/', import.meta.url).pathname;
const FIRST_DAY = Math.floor(Date.parse('2016-02-01T00:00:00Z') / 86_400_000);
const DAYS = 20;
// A 0.25-degree L3m grid over the whole GBR, north to south; every cell has a value.
const lat = Float64Array.from({ length: 64 }, (_, i) => -9 - 0.25 * i);
const lon = Float64Array.from({ length: 48 }, (_, j) => 142 + 0.25 * j);
const sstOfDay = (t: number) =>
  Float32Array.from({ length: lat.length * lon.length }, (_, k) => 24 + (k % 97) * 0.05 + t * 0.1);

describe('MODIS L3m ingestion - hyperslab reads, parallel replay writes, resume after a kill', () => {
  let iso: Awaited<ReturnType<typeof isolation>>;
  let dir: string;
  beforeAll(async () => {
    iso = await isolation();
    dir = iso.dir;
  });
  afterAll(() => iso.cleanup());

  it('reads only the rows and columns around the sites and samples exactly what the whole grid gives', async () => {
    const bytes = await writeModisL3mSst(
      { lat, lon, sstC: sstOfDay(3) },
      { productName: 'x.nc', timeCoverageStart: '2016-02-04T00:00:00Z', gzip: true },
    );
    const sites = (await loadGbrSites()).filter((_, i) => i % 50 === 0 && i < 4000);
    const box = sitesLatLonBox(sites);
    if (!box) throw new Error('no sites');
    const whole = await readModisL3mSst(bytes);
    const part = await readModisL3mSst(bytes, { box });
    expect(part.lat.length * part.lon.length).toBeLessThan(whole.sstC.length / 2);
    expect(part.lat[0]).toBeGreaterThanOrEqual(box.north - 0.125);
    expect(part.lat[part.lat.length - 1]).toBeLessThanOrEqual(box.south + 0.125);
    const meta = { observedAt: '2016-02-04T12:00:00.000Z', sourceUri: 'x.nc' };
    const fromPart = sampleGridAtSites(part, sites, meta);
    expect(fromPart).toHaveLength(sites.length);
    expect(fromPart).toEqual(sampleGridAtSites(whole, sites, meta));
  });

  it("samples no site outside the file's grid (a regional file), every site inside it", async () => {
    // The northern quarter of the grid only: -9 .. -12.75 degrees.
    const rows = 16;
    const north = {
      lat: lat.slice(0, rows),
      lon,
      sstC: sstOfDay(0).slice(0, rows * lon.length),
    };
    const sites = (await loadGbrSites()).filter((_, i) => i % 25 === 0);
    const inside = sites.filter((s) => s.lat >= -12.75 - 0.125 && s.lat <= -9 + 0.125);
    const outside = sites.filter((s) => s.lat < -12.75 - 0.125);
    expect(inside.length).toBeGreaterThan(5);
    expect(outside.length).toBeGreaterThan(100);
    const meta = { observedAt: '2016-02-01T12:00:00.000Z', sourceUri: 'north.nc' };
    const samples = sampleGridAtSites(north, sites, meta);
    expect(samples.map((s) => s.site_id).sort()).toEqual(inside.map((s) => s.siteId).sort());
    for (const sample of samples) {
      const site = inside.find((s) => s.siteId === sample.site_id);
      expect(Math.abs((site?.lat ?? Number.NaN) - sample.lat)).toBeLessThanOrEqual(0.125);
      expect(Math.abs((site?.lon ?? Number.NaN) - sample.lon)).toBeLessThanOrEqual(0.125);
    }
  });

  it('writes the same replay files on two threads as on one', async () => {
    const pixels = (await loadReplayPixels(DATA, 2016)).slice(0, 40);
    const one = await writeReplaySeason(pixels, 2016, join(dir, 'one'), { threads: 1 });
    let progress = 0;
    const two = await writeReplaySeason(pixels, 2016, join(dir, 'two'), {
      threads: 2,
      onProgress: (written) => {
        progress = written;
      },
    });
    expect(two.files).toEqual(one.files);
    expect(progress).toBe(152);
    for (const t of [0, 91, 151]) {
      const name = one.files[t] as string;
      const [a, b] = await Promise.all([
        readModisL3mSst(await readFile(join(dir, 'one', name))),
        readModisL3mSst(await readFile(join(dir, 'two', name))),
      ]);
      expect(b.sstC).toEqual(a.sstC);
      expect(b.lat).toEqual(a.lat);
      expect(a.sstC.some((v) => Number.isFinite(v))).toBe(true);
    }
  });

  describe('./reefguard ingest modis killed mid-season', () => {
    let server: Server;
    let held: ServerResponse[] = [];
    let holdFrom = Number.POSITIVE_INFINITY;
    let files: Map<string, Uint8Array>;
    beforeAll(async () => {
      files = new Map();
      for (let t = 0; t < DAYS; t++) {
        const name = modisL3mFileName(FIRST_DAY + t);
        const bytes = await writeModisL3mSst(
          { lat, lon, sstC: sstOfDay(t) },
          {
            productName: name,
            timeCoverageStart: new Date((FIRST_DAY + t) * 86_400_000).toISOString(),
            gzip: true,
          },
        );
        files.set(name, bytes);
      }
      server = createServer((req, res) => {
        const name = req.url?.split('/').pop() ?? '';
        const body = files.get(name);
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        const t = [...files.keys()].indexOf(name);
        // Days from `holdFrom` on hang like a stalled archive, until the test kills the client.
        if (t >= holdFrom) held.push(res);
        else res.writeHead(200).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    });
    afterAll(async () => {
      for (const res of held) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    });

    const ingest = (offline: string): ChildProcess =>
      spawn(
        process.execPath,
        [
          ...CLI_FROM_SOURCE,
          'ingest',
          'modis',
          '--start',
          '2016-02-01',
          '--end',
          '2016-02-20',
          '--base-url',
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
          '--offline',
          offline,
        ],
        { env: { ...process.env, REEFGUARD_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const output = (child: ChildProcess, until: RegExp) =>
      new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (until.test(text)) resolve(text);
        });
        child.stderr?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        child.on('exit', (code) =>
          until.test(text) ? resolve(text) : reject(new Error(`exit ${code}: ${text}`)),
        );
      });

    it('a SIGKILL leaves whole days stored in day order; the re-run stores the rest, each sample once', async () => {
      const path = join(dir, 'killed.duckdb');
      const sites = await loadGbrSites();
      holdFrom = 12;
      const first = ingest(path);
      const before = await output(first, /^8\/20 files stored/m);
      expect(before).toMatch(
        /^8\/20 files stored \(\d+ site samples, up to AQUA_MODIS\.20160208\./m,
      );
      first.kill('SIGKILL');
      if (first.exitCode === null && first.signalCode === null) await once(first, 'exit');
      for (const res of held) res.destroy();
      held = [];

      let offline = await openOfflineStore(path);
      const stored = await offline.query(
        `SELECT (floor(epoch(observed_at) / 86400) - ${FIRST_DAY})::INT AS t, count(*)::INT AS n
         FROM satellite_samples GROUP BY t ORDER BY t`,
      );
      await offline.close();
      // Days 0-7 (the commit it reported), whole days only; days 8-11 were read but wait for
      // the next commit, which the stalled day 12 never let happen.
      expect(stored.map((r) => r.t)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const r of stored) expect(r.n).toBe(sites.length);

      holdFrom = Number.POSITIVE_INFINITY;
      const again = ingest(path);
      const after = await output(again, /^20 files, \d+ site samples/m);
      if (again.exitCode === null) await once(again, 'exit');
      expect(again.exitCode).toBe(0);
      expect(after).toMatch(/^20\/20 files stored/m);
      expect(after).toMatch(
        new RegExp(`^20 files, ${20 * sites.length} site samples, 0 missing, 0 quarantined`, 'm'),
      );
      offline = await openOfflineStore(path);
      try {
        const [total] = await offline.query(
          `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids,
             count(DISTINCT observed_at)::INT AS days FROM satellite_samples`,
        );
        expect(total).toEqual({ n: DAYS * sites.length, ids: DAYS * sites.length, days: DAYS });
        // The value of day t at a site is the file's cell nearest it.
        const site = sites[0] as (typeof sites)[number];
        const [row] = await offline.query(
          `SELECT value FROM satellite_samples WHERE site_id = '${site.siteId}'
           AND observed_at = '2016-02-20 12:00:00'`,
        );
        const i = Math.round((-9 - site.lat) / 0.25);
        const j = Math.round((site.lon - 142) / 0.25);
        expect(Number(row?.value)).toBeCloseTo(sstOfDay(19)[i * lon.length + j] as number, 2);
      } finally {
        await offline.close();
      }
    }, 60_000);
  });
});
