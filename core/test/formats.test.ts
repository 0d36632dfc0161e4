import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InputFormatError,
  isoDateOf,
  parseVirtualStation,
  readClimatologyGeotiff,
  readNetcdfSst,
  readSstCsv,
  readSstInput,
} from '../src/index.js';

const CRW = resolve(import.meta.dirname, '../../test/fixtures/crw');
const read = (name: string) => readFileSync(resolve(CRW, name));
const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 864e5;

describe('formats - CRW virtual station text', () => {
  const station = parseVirtualStation(read('virtual_station_kenya_2021-08-20.txt').toString());

  it('parses the header: MMM, 12 monthly means, first valid dates written YYYY DD MM', () => {
    expect(station.name).toBe('Kenya');
    expect([station.lonDeg, station.latDeg]).toEqual([40.525, -3.2]);
    expect(station.mmmC).toBe(28.7719);
    expect(Array.from(station.monthlyMeanC)).toEqual([
      27.1119, 26.9549, 28.0785, 28.7719, 27.7741, 26.4768, 25.3865, 24.964, 25.3012, 26.1646,
      27.1634, 27.5089,
    ]);
    expect(Math.max(...station.monthlyMeanC)).toBe(station.mmmC);
    // "1985 25 03" and "1985 31 03": day before month.
    expect(isoDateOf(station.firstValidDhwDay)).toBe('1985-03-25');
    expect(isoDateOf(station.firstValidBaaDay)).toBe('1985-03-31');
  });

  it('reads all 13,379 daily rows, written YYYY MM DD, without gaps', () => {
    expect(station.days.length).toBe(13_379);
    expect(isoDateOf(station.days[0]!)).toBe('1985-01-01');
    expect(isoDateOf(station.days.at(-1)!)).toBe('2021-08-18');
    expect(station.days.at(-1)! - station.days[0]!).toBe(13_378);
    expect([station.sstMinC[0], station.sstMaxC[0], station.sst90thHsC[0]]).toEqual([
      27.15, 28.06, 28.03,
    ]);
    expect(station.ssta90thHsC[0]).toBe(0.5413);
    expect(station.sst90thHsC.at(-1)).toBe(25.58);
  });

  it('rejects text that is not a virtual station', () => {
    expect(() => parseVirtualStation('date,sst\n2020-01-01,28\n')).toThrow(InputFormatError);
  });
});

describe('formats - NetCDF-3 (CRW ERDDAP)', () => {
  it('reads time, latitude, longitude and CRW_SST as a time-major grid in degC', () => {
    const nc = readNetcdfSst(read('lizard_island_crw5km_2010_2025_erddap.nc'));
    expect(nc.variable).toBe('CRW_SST');
    expect([nc.days.length, nc.pixels]).toEqual([5513, 6]);
    expect(isoDateOf(nc.days[0]!)).toBe('2010-01-01');
    expect(isoDateOf(nc.days.at(-1)!)).toBe('2025-02-08');
    // 5519 calendar days, 6 absent: 2024-01-30, 2024-07-04..06, 2024-07-25 ... listed by gaps.
    const gaps: string[] = [];
    for (let t = 1; t < nc.days.length; t++) {
      for (let d = nc.days[t - 1]! + 1; d < nc.days[t]!; d++) gaps.push(isoDateOf(d));
    }
    expect(gaps).toEqual(['2024-01-30', '2024-07-04', '2024-07-05', '2024-07-06', '2024-07-25']);
    expect(Array.from(nc.latDeg, (v) => v.toFixed(3))).toEqual([
      '-14.625',
      '-14.625',
      '-14.675',
      '-14.675',
      '-14.725',
      '-14.725',
    ]);
    expect(nc.sstC[0]).toBeCloseTo(28.93, 10);
    // CRW_BAA is an unsigned byte with _FillValue 251.
    const baa = nc.readVariable('CRW_BAA');
    expect(Math.max(...baa)).toBe(4);
  });

  it('rejects a file that is not NetCDF-3', () => {
    expect(() => readNetcdfSst(new TextEncoder().encode('date,sst\n'))).toThrow(InputFormatError);
  });
});

describe('formats - monthly climatology GeoTIFF', () => {
  it('reads 12 bands of the CRW climatology; MMM is February, 28.59 degC', async () => {
    const raster = await readClimatologyGeotiff(read('lizard_island_monthly_mean_climatology.tif'));
    expect([raster.width, raster.height]).toEqual([1, 1]);
    const months = Array.from(raster.monthlyMeanAt(0), (v) => Number(v.toFixed(2)));
    expect(months).toEqual([
      28.51, 28.59, 28.12, 27.13, 25.86, 24.45, 23.75, 23.73, 24.48, 25.69, 27.12, 27.93,
    ]);
    expect(raster.mmmC[0]).toBeCloseTo(28.59, 5);
    expect(raster.pixelAt(-14.675, 145.425)).toBe(0);
    expect(raster.pixelAt(-14.625, 145.425)).toBe(-1);
  });
});

describe('formats - SST CSV', () => {
  it('groups rows by lat/lon into pixels, converts Kelvin and leaves absent days NaN', () => {
    const csv = [
      'date,lat,lon,sst',
      '2020-01-01,-14.6,145.4,29.5',
      '2020-01-01,-18.2,147.1,302.65',
      '2020-01-02,-14.6,145.4,29.7',
      '2020-01-04,-18.2,147.1,',
    ].join('\n');
    const s = readSstCsv(csv);
    expect(s.pixels).toBe(2);
    expect(Array.from(s.days, isoDateOf)).toEqual(['2020-01-01', '2020-01-02', '2020-01-04']);
    expect(Array.from(s.latDeg)).toEqual([-14.6, -18.2]);
    expect(s.sstC[0]).toBe(29.5);
    expect(s.sstC[1]).toBeCloseTo(29.5, 10);
    expect(Array.from(s.sstC.subarray(2))).toEqual([29.7, NaN, NaN, NaN]);
  });

  it('reads a one-point CSV and refuses one without date and sst', () => {
    const s = readSstCsv('date,sst\n2021-03-01,28.1\n2021-03-02,28.3\n');
    expect([s.pixels, s.days[0], s.sstC[1]]).toEqual([1, day(2021, 3, 1), 28.3]);
    expect(() => readSstCsv('day,temp\n1,2\n')).toThrow(/date.*sst/);
  });

  it('tells the formats apart by content', async () => {
    expect((await readSstInput(read('virtual_station_kenya_2021-08-20.txt'))).format).toBe(
      'virtual-station',
    );
    expect((await readSstInput(read('lizard_island_pixel_2015_2024.csv'))).format).toBe('csv');
    expect((await readSstInput(read('lizard_island_crw5km_2010_2025_erddap.nc'))).format).toBe(
      'netcdf',
    );
  });
});
