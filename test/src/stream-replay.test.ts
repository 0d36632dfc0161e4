import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calibrateHeatwave,
  loadReplayPixels,
  readModisL3mSst,
  sampleGridAtSites,
  seasonDays,
  seasonMaxDhw,
  seasonSst,
  writeReplaySeason,
} from '@reefguard/stream-processor';
import { describe, expect, it } from 'vitest';

const DATA = new URL('../../data/sample/', import.meta.url).pathname;

describe('replay - a season physically grounded on the shipped GBR data', () => {
  it('calibrates each pixel heatwave to the shipped 2016 annual maximum DHW within 10 %', async () => {
    const pixels = (await loadReplayPixels(DATA, 2016)).filter((_, i) => i % 80 === 0);
    const days = seasonDays(2016);
    expect(days).toHaveLength(152);
    const amplitude = calibrateHeatwave(pixels, days, 2016);
    const dhw = seasonMaxDhw(pixels, days, seasonSst(pixels, days, amplitude, 2016), 2016);
    const stressed = pixels.filter((p) => p.targetDhw >= 1);
    expect(stressed.length).toBeGreaterThan(100);
    // DHW only counts days with HotSpot >= 1 degC, so it moves in steps of up to 1/7 where a
    // day crosses that threshold: every pixel lands within max(10 %, 1/7), most within 10 %.
    let within = 0;
    pixels.forEach((p, i) => {
      const error = Math.abs((dhw[i] as number) - p.targetDhw);
      expect(error).toBeLessThanOrEqual(Math.max(0.1 * p.targetDhw, 1 / 7 + 0.01));
      if (p.targetDhw >= 1 && error <= 0.1 * p.targetDhw) within += 1;
      if (p.targetDhw === 0) expect(dhw[i]).toBe(0);
    });
    expect(within / stressed.length).toBeGreaterThanOrEqual(0.95);
  });

  it('writes daily L3m files whose values, read back at the pixels, are the replayed SST', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'replay-'));
    try {
      const pixels = (await loadReplayPixels(DATA, 1998)).slice(0, 40);
      const season = await writeReplaySeason(pixels, 1998, dir);
      expect(season.files[0]).toBe('AQUA_MODIS.19971201.L3m.DAY.NSST.sst.4km.nc');
      const t = 90;
      const grid = await readModisL3mSst(await readFile(join(dir, season.files[t] as string)));
      const samples = sampleGridAtSites(
        grid,
        pixels.map((p) => ({ ...p, mmmC: 0, monthlyMeanC: [] })),
        {
          observedAt: '1998-02-28T12:00:00Z',
          sourceUri: 'replay',
        },
      );
      const sst = seasonSst(pixels, season.days, season.amplitudeC, 1998);
      expect(samples.map((s) => s.site_id)).toEqual(pixels.map((p) => p.siteId));
      samples.forEach((s, p) => {
        // Stored as shorts of 0.005 degC.
        expect(Math.abs(s.value - (sst[t * pixels.length + p] as number))).toBeLessThanOrEqual(
          0.0026,
        );
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
