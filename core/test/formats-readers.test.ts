import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/heat-stress.js';
import {
  computeHeatStress,
  InputFormatError,
  measureNoaaAgreement,
  parseCsvColumns,
  parseCsvRecords,
  readNetcdf4Sst,
  readNetcdfSst,
  readSstCsv,
  readSstInput,
} from '../src/index.js';

const CRW = resolve(import.meta.dirname, '../../test/fixtures/crw');
const ERDDAP = resolve(CRW, 'lizard_island_crw5km_2010_2025_erddap.nc');
const dir = await mkdtemp(join(tmpdir(), 'reefguard-formats-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * The real ERDDAP download (NetCDF-3) rewritten as NetCDF-4 the way GHRSST / CoralTemp files
 * store SST: a deflated, chunked int16 in Kelvin (scale_factor 0.01, add_offset 273.15,
 * _FillValue -32768), time in days since 1981-01-01, NOAA's CRW_* variables alongside.
 */
async function erddapAsNetcdf4(options: { dropTime?: boolean } = {}): Promise<Uint8Array> {
  const nc = readNetcdfSst(readFileSync(ERDDAP));
  const { FS } = await h5wasm.ready;
  const path = `/test-${process.pid}-${Math.random().toString(36).slice(2)}.nc`;
  const file = new h5wasm.File(path, 'w');
  const [times, pixels] = [nc.days.length, nc.pixels];
  const lat = [...new Set(nc.latDeg)];
  const lon = [...new Set(nc.lonDeg)];
  const shape = [times, lat.length, lon.length];
  const packing = { chunks: [365, lat.length, lon.length], compression: 'gzip' as const };
  if (!options.dropTime) {
    const origin = Date.UTC(1981, 0, 1) / 864e5;
    const time = file.create_dataset({
      name: 'time',
      data: Float64Array.from(nc.days, (d) => d - origin + 0.5),
    });
    time.create_attribute('units', 'days since 1981-01-01 00:00:00');
  }
  file.create_dataset({ name: 'lat', data: Float32Array.from(lat) });
  file.create_dataset({ name: 'lon', data: Float32Array.from(lon) });
  const kelvin = Int16Array.from(nc.sstC, (v) =>
    Number.isNaN(v) ? -32768 : Math.round((v + 273.15 - 273.15) * 100),
  );
  const sst = file.create_dataset({ name: 'analysed_sst', data: kelvin, shape, ...packing });
  sst.create_attribute('scale_factor', Float32Array.of(0.01));
  sst.create_attribute('add_offset', Float64Array.of(273.15));
  sst.create_attribute('_FillValue', Int16Array.of(-32768));
  sst.create_attribute('units', 'kelvin');
  for (const name of ['CRW_HOTSPOT', 'CRW_DHW', 'CRW_BAA', 'CRW_BAA_7D_MAX']) {
    const values = nc.readVariable(name);
    file.create_dataset({ name, data: Float32Array.from(values), shape, ...packing });
  }
  file.close();
  const bytes = FS.readFile(path) as Uint8Array;
  FS.unlink(path);
  expect(times * pixels).toBe(33_078);
  return bytes;
}

describe('formats - NetCDF-4 / HDF5 SST', () => {
  it('reads packed Kelvin SST from a deflated NetCDF-4 file: the same heat stress as the NetCDF-3 original', async () => {
    const bytes = await erddapAsNetcdf4();
    const input = await readSstInput(bytes);
    expect(input.format).toBe('netcdf4');
    const nc3 = readNetcdfSst(readFileSync(ERDDAP));
    const nc4 = input.series;
    expect([nc4.days.length, nc4.pixels]).toEqual([5513, 6]);
    expect(nc4.days).toEqual(nc3.days);
    expect(Array.from(nc4.latDeg)).toEqual(Array.from(nc3.latDeg, Math.fround));
    let largest = 0;
    for (let i = 0; i < nc3.sstC.length; i++) {
      largest = Math.max(largest, Math.abs(nc4.sstC[i]! - nc3.sstC[i]!));
    }
    // The float32 scale_factor (0.00999999977), as in real files: well below the 0.01 degC
    // the HotSpot is resolved to.
    expect(largest).toBeLessThan(1e-6);
    // MMM as implied by NOAA's own SST - HotSpot per pixel (see crw-golden.test.ts).
    const noaaHotspot = nc3.readVariable('CRW_HOTSPOT');
    const mmmC = Float64Array.from({ length: 6 }, (_, p) =>
      Number((nc3.sstC[p]! - noaaHotspot[p]!).toFixed(2)),
    );
    const ours = computeHeatStress({ ...nc4, mmmC });
    expect(ours.dhw).toEqual(computeHeatStress({ ...nc3, mmmC }).dhw);
    const agreement = measureNoaaAgreement(nc4.days, 6, ours, input.noaa!);
    expect(agreement.dhwFullWindow.rate).toBe(1);
    expect(agreement.alertLevel7dMax.rate).toBe(1);
  });

  it('./reefguard heat-stress --sst file.nc4 writes the products and compares with NOAA', async () => {
    const path = join(dir, 'lizard.nc4');
    await writeFile(path, await erddapAsNetcdf4());
    const out = join(dir, 'lizard-nc4.csv');
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      expect(await run(['--sst', path, '--mmm', '28.59', '--out', out, '--report'])).toBe(0);
    } finally {
      console.log = log;
    }
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1 + 5513 * 6);
    expect(printed[0]).toMatch(/^heat-stress: netcdf4, 5513 days x 6 pixel\(s\)/);
    expect(printed.join('\n')).toMatch(/alert level = CRW_BAA/);
  });

  it('names the problem in files it cannot read', async () => {
    await expect(readNetcdf4Sst(new TextEncoder().encode('date,sst\n'))).rejects.toThrow(
      /no HDF5 signature/,
    );
    const bytes = await erddapAsNetcdf4();
    await expect(readNetcdf4Sst(bytes.subarray(0, 4096))).rejects.toThrow(
      /cannot be opened: truncated or corrupt/,
    );
    await expect(readNetcdf4Sst(bytes.subarray(0, bytes.length - 5000))).rejects.toThrow(
      InputFormatError,
    );
    await expect(readNetcdf4Sst(await erddapAsNetcdf4({ dropTime: true }))).rejects.toThrow(
      /no time variable/,
    );
    await expect(readNetcdf4Sst(bytes, { variable: 'sst_typo' })).rejects.toThrow(
      /sst_typo not found; it has .*analysed_sst/,
    );
    const nc4 = await readNetcdf4Sst(bytes);
    expect(() => nc4.readVariable('CRW_DHW')).toThrow(/alsoRead/);
  });
});

describe('formats - CSV with quoted fields', () => {
  it('keeps commas, quotes and line breaks inside quoted cells', () => {
    const text =
      'site,note\r\n"Lizard Island, north","said ""hot"""\r\nplain ,"two\nlines"\n\n"",x\n';
    expect(parseCsvRecords(text)).toEqual([
      ['site', 'note'],
      ['Lizard Island, north', 'said "hot"'],
      ['plain', 'two\nlines'],
      ['', 'x'],
    ]);
  });

  it('reads an SST CSV whose site names and numbers are quoted', () => {
    const csv = [
      'date,"site, name",lat,lon,sst',
      '2020-01-01,"Lizard Island, north",-14.6,145.4,"29.5"',
      '"2020-01-01","Heron Island, ""south""",-23.4,151.9,302.65',
      '2020-01-02,"Lizard Island, north",-14.6,145.4,29.7',
    ].join('\n');
    const s = readSstCsv(csv);
    expect([s.pixels, s.days.length]).toEqual([2, 2]);
    expect(Array.from(s.lonDeg)).toEqual([145.4, 151.9]);
    expect(s.sstC[0]).toBe(29.5);
    expect(s.sstC[1]).toBeCloseTo(29.5, 10);
    expect(s.sstC[2]).toBe(29.7);
    expect(parseCsvColumns(csv).get('site, name')).toEqual([
      'Lizard Island, north',
      'Heron Island, "south"',
      'Lizard Island, north',
    ]);
  });

  it('refuses an unclosed quote and an SST that is no number, naming the line', () => {
    expect(() => parseCsvRecords('date,sst\n2020-01-01,"29.5\n')).toThrow(
      /line 2: a quoted cell is never closed/,
    );
    expect(() => parseCsvRecords('a,b\n"x"y,1\n')).toThrow(/line 2: "y" after a closing quote/);
    expect(() => readSstCsv('date,sst\n2020-01-01,29.5\n2020-01-02,warm\n')).toThrow(
      /row 3: sst "warm" is not a number/,
    );
    expect(readSstCsv('date,sst\n2020-01-01,NA\n').sstC[0]).toBeNaN();
  });
});
