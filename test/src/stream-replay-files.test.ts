import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createFetcher,
  ingestSentinel2,
  isReplayCloudy,
  loadReplayPixels,
  openOfflineStore,
  REPLAY_REVISIT_DAYS,
  replayTurbidityFnu,
  seasonSst,
  startReplayStacServer,
  writeReplaySeason,
  writeReplaySentinel2,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSite } from './stream-helpers.js';

const DATA = new URL('../../data/sample/', import.meta.url).pathname;
const PYTHON = 'trainer/.venv/bin/python';

// A standard reader: xarray with the h5netcdf engine, decoding scale_factor / _FillValue.
const XARRAY_SCRIPT = `
import json, sys
import numpy as np
import xarray as xr
ds = xr.open_dataset(sys.argv[1], engine="h5netcdf")
sst = ds["sst"]
print(json.dumps({
  "data_vars": sorted(ds.data_vars),
  "coords": sorted(ds.coords),
  "dims": list(sst.dims),
  "units": sst.attrs.get("units"),
  "scale_factor": float(sst.encoding["scale_factor"]),
  "fill": int(sst.encoding["_FillValue"]),
  "dtype": str(sst.encoding["dtype"]),
  "product_name": ds.attrs["product_name"],
  "lat": [float(v) for v in ds["lat"].values],
  "lon": [float(v) for v in ds["lon"].values],
  "sst": [None if np.isnan(v) else float(v) for v in sst.values.ravel()],
}))
`;

describe('replay - files a standard reader opens, Sentinel-2 scenes our ingestion reads back', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('xarray (h5netcdf) opens a replayed MODIS L3m file: names, attributes, decoded values, lat order', async () => {
    const pixels = (await loadReplayPixels(DATA, 2016)).slice(0, 12);
    const season = await writeReplaySeason(pixels, 2016, join(dir, 'l3m'));
    const t = 91; // 1 March 2016, the heatwave peak
    const file = join(dir, 'l3m', season.files[t] as string);
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', XARRAY_SCRIPT, file]);
    const ds = JSON.parse(stdout);
    expect(ds.data_vars).toEqual(['qual_sst', 'sst']);
    expect(ds.coords).toEqual(['lat', 'lon']);
    expect(ds.dims).toEqual(['lat', 'lon']);
    expect(ds).toMatchObject({
      units: 'degree_C',
      fill: -32767,
      dtype: 'int16',
      product_name: 'AQUA_MODIS.20160301.L3m.DAY.NSST.sst.4km.nc',
    });
    expect(ds.scale_factor).toBeCloseTo(0.005, 9);
    // North to south, as OBPG writes it.
    const lat = ds.lat as number[];
    expect(lat.every((v, i) => i === 0 || v < (lat[i - 1] as number))).toBe(true);
    expect(lat).toHaveLength(season.grid.lat.length);
    // Decoded values are the replayed SST at each pixel's cell; every other cell is fill (NaN).
    const sst = seasonSst(pixels, season.days, season.heatwave, 2016);
    const values = ds.sst as (number | null)[];
    pixels.forEach((_, p) => {
      const got = values[season.grid.cellOf[p] as number];
      expect(got).not.toBeNull();
      expect(
        Math.abs((got as number) - (sst[t * pixels.length + p] as number)),
      ).toBeLessThanOrEqual(0.0026);
    });
    const occupied = new Set(season.grid.cellOf);
    expect(values.filter((v, i) => v !== null && !occupied.has(i))).toEqual([]);
  });

  it('replayed Sentinel-2 scenes (STAC + COGs) come back through the ingestion as the replayed turbidity', async () => {
    const sites = [
      { siteId: 'r-clear', lat: -18.8312, lon: 147.6341, k490: 0.04 },
      { siteId: 'r-inshore', lat: -19.1623, lon: 146.8712, k490: 0.15 },
      { siteId: 'r-2023', lat: -16.7003, lon: 145.9921, k490: 0.09 },
    ];
    const from = Math.floor(Date.parse('2023-02-01') / 86_400_000);
    const days = Array.from({ length: 20 }, (_, i) => from + i);
    const ids = await writeReplaySentinel2(sites, days, join(dir, 'replay'));
    expect(ids).toHaveLength(4 * sites.length);
    const server = await startReplayStacServer(join(dir, 'replay'));
    const offline = await openOfflineStore(':memory:');
    try {
      const summary = await ingestSentinel2(from, from + 19, {
        stac: createFetcher({ baseUrl: server.url, retries: 0, timeoutMs: 5_000 }),
        sites: sites.map((s) => ({ ...testSite(s.siteId), lat: s.lat, lon: s.lon })),
        offline,
      });
      expect(summary.scenes).toBe(12);
      expect(summary.masked).toBe(3); // the fourth scene of each site is clouded over
      expect(summary.observations).toBe(9);
      const rows = await offline.query(
        `SELECT site_id, epoch_ms(observed_at) AS ms, value FROM satellite_samples ORDER BY site_id, ms`,
      );
      for (const row of rows) {
        const site = sites.find((s) => s.siteId === row.site_id);
        const day = Math.floor(Number(row.ms) / 86_400_000);
        expect(isReplayCloudy((day - from) / REPLAY_REVISIT_DAYS)).toBe(false);
        // Digital numbers hold reflectance to 1e-4: turbidity to a few hundredths of an FNU.
        expect(
          Math.abs(Number(row.value) - replayTurbidityFnu(site as (typeof sites)[number], day)),
        ).toBeLessThan(0.06);
      }
      // 2023 scenes are baseline 04.00: their DNs carry the +1000 offset the reader removes.
      const item = JSON.parse(
        await readFile(join(dir, 'replay', 'sentinel2', `${ids[0]}.json`), 'utf8'),
      );
      expect(item.properties['s2:processing_baseline']).toBe('04.00');
    } finally {
      await offline.close();
      await server.close();
    }
  });
});
