import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calibrateHeatwave,
  loadReplayPixels,
  MODIS_SST_SCALE,
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
    const pixels = (await loadReplayPixels(DATA, 2016)).filter((_, i) => i % 40 === 0);
    const days = seasonDays(2016);
    expect(days).toHaveLength(152);
    const heatwave = calibrateHeatwave(pixels, days, 2016);
    const dhw = seasonMaxDhw(pixels, days, seasonSst(pixels, days, heatwave, 2016), 2016);
    // Targets where one more counted day (1/7 or 2/7 of DHW at once) is over 10 %: the trim's work.
    const small = pixels.filter((p) => p.targetDhw > 0 && p.targetDhw < 3);
    expect(small.length).toBeGreaterThan(50);
    expect(pixels.filter((p) => p.targetDhw >= 3).length).toBeGreaterThan(50);
    pixels.forEach((p, i) => {
      const error = Math.abs((dhw[i] as number) - p.targetDhw);
      // Every pixel: DHW is rounded to 0.01, the tolerance of a target under 0.1.
      expect(error, `${p.siteId} target ${p.targetDhw}`).toBeLessThanOrEqual(
        Math.max(0.1 * p.targetDhw, 0.01),
      );
      if (p.targetDhw === 0) {
        expect(dhw[i]).toBe(0);
        expect(heatwave.amplitudeC[i]).toBe(0);
        expect(heatwave.trimC[i]).toBe(0);
      }
    });
    // The trim is a small correction on top of the pulse, or a plateau of a few days at a
    // plausible anomaly where no day counted yet: never a spike.
    pixels.forEach((p, i) => {
      const trim = heatwave.trimC[i] as number;
      const days = heatwave.plateauDays[i] as number;
      if (days === 0) expect(trim, p.siteId).toBeLessThanOrEqual(1.0001);
      else {
        expect(trim, p.siteId).toBeGreaterThanOrEqual(1);
        expect(trim, p.siteId).toBeLessThanOrEqual(2.41);
        expect(days, p.siteId).toBeLessThanOrEqual(Math.ceil(7 * p.targetDhw));
      }
    });
    const added = pixels.filter((p, i) => p.targetDhw > 0 && heatwave.plateauDays[i] === 0);
    expect(added.length).toBeGreaterThan(pixels.length / 2);
    // Stored as the files store it (shorts of 0.005 degC), the SST still meets every target: no
    // day is left close enough to the HotSpot line for the rounding to make it count or not
    // (which would move DHW by 1/7).
    const stored = seasonSst(pixels, days, heatwave, 2016).map(
      (v) => Math.round(v / MODIS_SST_SCALE) * MODIS_SST_SCALE,
    );
    const fromFiles = seasonMaxDhw(pixels, days, stored, 2016);
    pixels.forEach((p, i) => {
      const error = Math.abs((fromFiles[i] as number) - p.targetDhw);
      expect(error, `${p.siteId} target ${p.targetDhw}`).toBeLessThanOrEqual(
        Math.max(0.1 * p.targetDhw, 0.01),
      );
    });
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
      const sst = seasonSst(pixels, season.days, season.heatwave, 1998);
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
