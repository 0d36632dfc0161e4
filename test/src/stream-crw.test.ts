import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createChipRaster, DEFAULT_CHIP_SPEC, epochDayOf, parseCsvColumns } from '@reefguard/core';
import {
  CRW_PRODUCT,
  createFetcher,
  crwErddapQuery,
  ingestCrwFiles,
  ingestVirtualStations,
  type OfflineStore,
  openOfflineStore,
  sitesBox,
  writeCrwDailyNetcdf4,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE, isolation, testSite } from './stream-helpers.js';

const CRW = 'test/fixtures/crw';
// The CSV is NOAA's own single-pixel download for this cell: an independent check of the
// values read from the ERDDAP NetCDF subset.
const LIZARD = { ...testSite('lizard-nw'), lat: -14.675, lon: 145.425 };
const FAR = { ...testSite('davies'), lat: -18.83, lon: 147.63 };
const KENYA_NEAR = { ...testSite('kenya-watamu'), lat: -3.35, lon: 40.2 }; // ~40 km
const KENYA_FAR = { ...testSite('kenya-far'), lat: -4.8, lon: 39.3 };

const START = epochDayOf('2015-01-01');
const END = epochDayOf('2016-12-31');

describe('stream processor - NOAA CRW ingestion (ERDDAP NetCDF-3, daily NetCDF-4, virtual station)', () => {
  let server: Server;
  let baseUrl: string;
  let offline: OfflineStore;
  let iso: Awaited<ReturnType<typeof isolation>>;
  let csv: Map<string, string[]>;
  const requests: string[] = [];
  let erddapCalls = 0;
  const files = new Map<string, Uint8Array>();

  beforeAll(async () => {
    iso = await isolation();
    offline = await openOfflineStore(`${iso.dir}/offline.duckdb`);
    csv = parseCsvColumns(await readFile(`${CRW}/lizard_island_pixel_2015_2024.csv`, 'utf8'));
    const erddap = await readFile(`${CRW}/lizard_island_crw5km_2010_2025_erddap.nc`);
    files.set('/vs/kenya.txt', await readFile(`${CRW}/virtual_station_kenya_2021-08-20.txt`));
    // A NOAA-style daily DHW file: 3 x 4 cells of 0.05 degrees, north to south.
    const daily = await writeCrwDailyNetcdf4({
      day: epochDayOf('2025-03-01'),
      lat: Float64Array.of(-14.625, -14.675, -14.725),
      lon: Float64Array.of(145.375, 145.425, 145.475, 145.525),
      values: Float64Array.from({ length: 12 }, (_, k) =>
        k === 5 ? 9.37 : k === 0 ? Number.NaN : k / 10,
      ),
    });
    files.set('/noaa/ct5km_dhw_v3.1_20250301.nc', daily);
    files.set('/noaa/ct5km_dhw_v3.1_20250302.nc', daily.subarray(0, Math.floor(daily.length / 2)));
    files.set('/noaa/ct5km_dhw_v3.1_20250303.nc', new TextEncoder().encode('<html>gone</html>'));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      requests.push(url);
      if (url.startsWith('/erddap/griddap/dhw_5km.nc?')) {
        erddapCalls += 1;
        if (erddapCalls === 1) {
          res.statusCode = 503; // ERDDAP under load: the fetcher retries
          res.end();
          return;
        }
        // The command's requests get a one-day file (the fixture holds 15 years).
        res.end(url.includes('2016-0') ? files.get('/noaa/ct5km_dhw_v3.1_20250301.nc') : erddap);
        return;
      }
      const file = files.get(url);
      res.statusCode = file ? 200 : 404;
      res.end(file ?? '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await offline?.close();
    await new Promise((r) => server?.close(r));
    await iso?.cleanup();
  });

  const fetcherAt = (path: string) =>
    createFetcher({ baseUrl: `${baseUrl}${path}`, retries: 2, timeoutMs: 10_000 });

  it('fetches an ERDDAP subset (query in ERDDAP form, retried), samples the site cell only', async () => {
    const query = crwErddapQuery(START, END, sitesBox([LIZARD]));
    expect(decodeURIComponent(query)).toBe(
      'dhw_5km.nc?CRW_SST[(2015-01-01T12:00:00Z):1:(2016-12-31T12:00:00Z)][(-14.625):1:(-14.725)][(145.375):1:(145.475)],' +
        'CRW_SSTANOMALY[(2015-01-01T12:00:00Z):1:(2016-12-31T12:00:00Z)][(-14.625):1:(-14.725)][(145.375):1:(145.475)],' +
        'CRW_HOTSPOT[(2015-01-01T12:00:00Z):1:(2016-12-31T12:00:00Z)][(-14.625):1:(-14.725)][(145.375):1:(145.475)],' +
        'CRW_DHW[(2015-01-01T12:00:00Z):1:(2016-12-31T12:00:00Z)][(-14.625):1:(-14.725)][(145.375):1:(145.475)],' +
        'CRW_BAA_7D_MAX[(2015-01-01T12:00:00Z):1:(2016-12-31T12:00:00Z)][(-14.625):1:(-14.725)][(145.375):1:(145.475)]',
    );
    const summary = await ingestCrwFiles([query], {
      fetcher: fetcherAt('erddap/griddap/'),
      sites: [LIZARD, FAR],
      offline,
    });
    expect(erddapCalls).toBe(2);
    expect(summary.files).toBe(1);
    expect(summary.quarantined).toEqual([]);
    // The fixture holds 5513 days x 3 x 2 cells; DHW and SSTA are kept as grids.
    expect(summary.gridCells).toBe(2 * 5513 * 6);
    const far = await offline.query(
      `SELECT count(*)::INT AS n FROM satellite_samples WHERE site_id = 'davies'`,
    );
    expect(far[0]?.n).toBe(0);
  });

  it('site samples equal NOAA single-pixel values day by day (2015-2024)', async () => {
    const rows = await offline.query(
      `SELECT variable, strftime(observed_at, '%Y-%m-%d') AS day, value FROM satellite_samples
       WHERE site_id = 'lizard-nw' AND product = '${CRW_PRODUCT}'`,
    );
    const byKey = new Map(rows.map((r) => [`${r.variable}/${r.day}`, Number(r.value)]));
    const times = csv.get('time') as string[];
    let compared = 0;
    for (const [variable, column] of [
      ['dhw', 'crw_dhw'],
      ['ssta', 'crw_sstanomaly'],
      ['sst', 'crw_sst'],
      ['hotspot', 'crw_hotspot'],
      ['baa_7d_max', 'crw_baa_7d_max'],
    ] as const) {
      const values = csv.get(column) as string[];
      times.forEach((time, i) => {
        const expected = Number(values[i]);
        const got = byKey.get(`${variable}/${time.slice(0, 10)}`);
        expect(got, `${variable} ${time}`).toBeCloseTo(expected, 4);
        compared += 1;
      });
    }
    expect(compared).toBe(5 * 3424); // every CSV row, 2015-2024
  });

  it('keeps the DHW grid so chips get dhw_max_ytd and dhw_prev_year_max per cell', async () => {
    const points = await offline.gridDhwChipPoints(CRW_PRODUCT, epochDayOf('2016-06-30'));
    expect(points.latDeg.length).toBe(6);
    const times = csv.get('time') as string[];
    const dhw = (csv.get('crw_dhw') as string[]).map(Number);
    const maxOver = (from: string, to: string) =>
      Math.max(...dhw.filter((_, i) => (times[i] as string) >= from && (times[i] as string) <= to));
    const k = [...points.latDeg].findIndex(
      (lat, i) =>
        Math.abs(lat - LIZARD.lat) < 1e-4 &&
        Math.abs((points.lonDeg[i] as number) - LIZARD.lon) < 1e-4,
    );
    expect(k).toBeGreaterThanOrEqual(0);
    expect(points.dhwMaxYtd[k]).toBeCloseTo(maxOver('2016-01-01', '2016-06-30T23'), 4);
    expect(points.dhwPrevYearMax[k]).toBeCloseTo(maxOver('2015-01-01', '2015-12-31T23'), 4);
    // 2016 was the Lizard Island bleaching year: far above the 2015 maximum.
    expect(points.dhwMaxYtd[k]).toBeGreaterThan(8);
    const nan = new Float64Array(points.latDeg.length).fill(Number.NaN);
    const raster = createChipRaster(
      {
        lonDeg: points.lonDeg,
        latDeg: points.latDeg,
        values: {
          dhw_max_ytd: points.dhwMaxYtd,
          dhw_prev_year_max: points.dhwPrevYearMax,
          sst_clim_range: nan,
          k490: nan,
          depth_m: nan,
        },
      },
      DEFAULT_CHIP_SPEC,
    );
    const chip = raster.chipAt(LIZARD.lon, LIZARD.lat);
    const size = DEFAULT_CHIP_SPEC.sizePx;
    const centre = (size / 2) * size + size / 2;
    expect(chip[centre]).toBeCloseTo(points.dhwMaxYtd[k] as number, 4); // channel 0
    expect(chip[size * size + centre]).toBeCloseTo(points.dhwPrevYearMax[k] as number, 4);
  });

  it('re-ingesting the same subset adds no rows', async () => {
    const count = async () =>
      (
        await offline.query(
          `SELECT (SELECT count(*) FROM satellite_samples)::INT AS s, (SELECT count(*) FROM grid_layers)::INT AS g`,
        )
      )[0];
    const before = await count();
    await ingestCrwFiles([crwErddapQuery(START, END, sitesBox([LIZARD]))], {
      fetcher: fetcherAt('erddap/griddap/'),
      sites: [LIZARD],
      offline,
    });
    expect(await count()).toEqual(before);
  });

  it('reads NOAA daily NetCDF-4 files; truncated and non-NetCDF files are quarantined', async () => {
    const summary = await ingestCrwFiles(
      [
        'ct5km_dhw_v3.1_20250301.nc',
        'ct5km_dhw_v3.1_20250302.nc',
        'ct5km_dhw_v3.1_20250303.nc',
        'ct5km_dhw_v3.1_20250304.nc',
      ],
      { fetcher: fetcherAt('noaa/'), sites: [LIZARD, FAR], offline },
    );
    expect(summary.files).toBe(1);
    expect(summary.missing).toEqual(['ct5km_dhw_v3.1_20250304.nc']);
    expect(summary.quarantined.map((q) => [q.payload, q.reason])).toEqual([
      ['ct5km_dhw_v3.1_20250302.nc', 'truncated_file'],
      ['ct5km_dhw_v3.1_20250303.nc', 'corrupt_file'],
    ]);
    const rows = await offline.query(
      `SELECT value, lat, lon FROM satellite_samples WHERE site_id = 'lizard-nw' AND variable = 'dhw'
       AND observed_at = TIMESTAMP '2025-03-01 12:00:00'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]?.value)).toBeCloseTo(9.37, 4); // row 1, column 1: the site's cell
  });

  it('virtual-station values go to the sites within the radius, from the first valid DHW day', async () => {
    const summary = await ingestVirtualStations(
      ['kenya.txt'],
      epochDayOf('2021-08-01'),
      epochDayOf('2021-08-31'),
      {
        fetcher: fetcherAt('vs/'),
        sites: [KENYA_NEAR, KENYA_FAR, LIZARD],
        offline,
      },
    );
    expect(summary.files).toBe(1);
    // 18 days (1-18 August) x 5 variables, one site.
    expect(summary.samples).toBe(18 * 5);
    const rows = await offline.query(
      `SELECT variable, value FROM satellite_samples WHERE site_id = 'kenya-watamu'
       AND observed_at = TIMESTAMP '2021-08-18 12:00:00' ORDER BY variable`,
    );
    expect(rows.map((r) => [r.variable, Number(r.value)])).toEqual([
      ['baa_7d_max', 0],
      ['dhw', 0],
      ['hotspot', 0],
      ['sst', 25.58],
      ['ssta', 0.6529],
    ]);
    const far = await offline.query(
      `SELECT count(*)::INT AS n FROM satellite_samples WHERE site_id IN ('kenya-far')`,
    );
    expect(far[0]?.n).toBe(0);
  });

  it('./reefguard ingest crw asks ERDDAP for the GBR box in 31-day requests', async () => {
    const before = erddapCalls;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        ...CLI_FROM_SOURCE,
        'ingest',
        'crw',
        '--start',
        '2016-02-01',
        '--end',
        '2016-03-15',
        '--base-url',
        `${baseUrl}erddap/griddap/`,
        '--offline',
        `${iso.dir}/cli.duckdb`,
      ],
      { env: { ...process.env, REEFGUARD_LOG_LEVEL: 'warn' } },
    );
    expect(erddapCalls - before).toBe(2);
    const queries = requests
      .filter((r) => r.includes('dhw_5km.nc?'))
      .slice(-2)
      .map(decodeURIComponent);
    expect(queries[0]).toContain('CRW_DHW[(2016-02-01T12:00:00Z):1:(2016-03-02T12:00:00Z)]');
    expect(queries[1]).toContain('CRW_DHW[(2016-03-03T12:00:00Z):1:(2016-03-15T12:00:00Z)]');
    // The box of the shipped GBR sites, north first: it reaches past Lizard Island both ways.
    const [north, south] =
      /\]\[\((-?[\d.]+)\):1:\((-?[\d.]+)\)\]/
        .exec(queries[0] as string)
        ?.slice(1)
        .map(Number) ?? [];
    expect(north).toBeGreaterThan(-14.6);
    expect(south).toBeLessThan(-20);
    expect(stdout).toMatch(/^2 files, \d+ site samples, 22 grid cells, 0 missing, 0 quarantined/m);
  });
});
