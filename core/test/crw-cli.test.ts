import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/heat-stress.js';
import { ConfigError } from '../src/index.js';

const CRW = resolve(import.meta.dirname, '../../test/fixtures/crw');
const dir = await mkdtemp(join(tmpdir(), 'reefguard-heat-stress-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('heat-stress CLI', () => {
  it('writes the CRW products of the ERDDAP NetCDF for the pixel inside the climatology GeoTIFF', async () => {
    const out = join(dir, 'lizard.csv');
    const code = await run([
      '--sst',
      join(CRW, 'lizard_island_crw5km_2010_2025_erddap.nc'),
      '--climatology',
      join(CRW, 'lizard_island_monthly_mean_climatology.tif'),
      '--out',
      out,
    ]);
    expect(code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('date,lat,lon,sst,hotspot,dhw,alert_level,alert_level_7d_max');
    expect(lines).toHaveLength(5514);
    expect(lines.find((line) => line.startsWith('2017-03-30'))).toBe(
      '2017-03-30,-14.6750,145.4250,30.34,1.75,8.34,4,4',
    );
  });

  it('reads the virtual station with its own MMM, and a CSV with --mmm', async () => {
    const kenya = join(dir, 'kenya.csv');
    expect(
      await run(['--sst', join(CRW, 'virtual_station_kenya_2021-08-20.txt'), '--out', kenya]),
    ).toBe(0);
    const lines = (await readFile(kenya, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(13_380);
    const csv = join(dir, 'pixel.csv');
    expect(
      await run([
        '--sst',
        join(CRW, 'lizard_island_pixel_2015_2024.csv'),
        '--mmm',
        '28.59',
        '--out',
        csv,
      ]),
    ).toBe(0);
    expect((await readFile(csv, 'utf8')).split('\n')[1]).toBe(
      '2015-01-01,-14.6750,145.4250,29.30,0.71,0.00,1,1',
    );
  });

  it('asks for the climatology when the file has none', async () => {
    await expect(
      run(['--sst', join(CRW, 'lizard_island_pixel_2015_2024.csv'), '--out', join(dir, 'x.csv')]),
    ).rejects.toThrow(ConfigError);
  });
});
