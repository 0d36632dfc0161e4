import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  computeHeatStress,
  measureNoaaAgreement,
  parseVirtualStation,
  readClimatologyGeotiff,
  readNetcdfSst,
  readSstInput,
} from '../src/index.js';

// Real NOAA CRW v3.1 5 km products (public domain): the ERDDAP NetCDF of 3 x 2 pixels near
// Lizard Island 2010-2025 and NOAA's single-pixel table 2015-2024, with the CRW monthly mean
// climatology of that pixel (MMM 28.59 degC, February) as a GeoTIFF.
const CRW = resolve(import.meta.dirname, '../../test/fixtures/crw');
const read = (name: string) => readFileSync(resolve(CRW, name));

describe('crw golden - NOAA Coral Reef Watch 5 km, Lizard Island', () => {
  it('reproduces CRW_HOTSPOT, CRW_DHW, CRW_BAA and CRW_BAA_7D_MAX on all 6 ERDDAP pixels, 2010-2025', async () => {
    const nc = readNetcdfSst(read('lizard_island_crw5km_2010_2025_erddap.nc'));
    expect([nc.days.length, nc.pixels]).toEqual([5513, 6]);
    const noaaHotspot = nc.readVariable('CRW_HOTSPOT');
    // MMM of the GeoTIFF pixel; for the others, the MMM NOAA's own SST - HotSpot implies,
    // which is one value per pixel over all 5513 days.
    const climatology = await readClimatologyGeotiff(
      read('lizard_island_monthly_mean_climatology.tif'),
    );
    const mmmC = new Float64Array(6);
    for (let p = 0; p < 6; p++) {
      const implied = new Set<string>();
      for (let t = 0; t < nc.days.length; t++) {
        implied.add((nc.sstC[t * 6 + p]! - noaaHotspot[t * 6 + p]!).toFixed(2));
      }
      expect(implied.size).toBe(1);
      mmmC[p] = Number([...implied][0]);
    }
    const geotiffPixel = climatology.pixelAt(nc.latDeg[2]!, nc.lonDeg[2]!);
    expect(geotiffPixel).toBe(0);
    expect(mmmC[2]).toBe(28.59);
    mmmC[2] = climatology.mmmC[geotiffPixel]!; // the float32 28.5900002 as read

    const ours = computeHeatStress({ days: nc.days, sstC: nc.sstC, pixels: 6, mmmC });
    const agreement = measureNoaaAgreement(nc.days, 6, ours, {
      hotspot: noaaHotspot,
      dhw: nc.readVariable('CRW_DHW'),
      alertLevel: nc.readVariable('CRW_BAA'),
      alertLevel7dMax: nc.readVariable('CRW_BAA_7D_MAX'),
    });
    // Every pixel-day, including the days after the 5 calendar days absent from the download.
    expect(agreement.hotspot).toEqual({ compared: 33_078, matching: 33_078, rate: 1 });
    expect(agreement.dhwFullWindow).toEqual({ compared: 31_476, matching: 31_476, rate: 1 });
    expect(agreement.dhwAllDays.rate).toBe(1);
    expect(agreement.maxDhwDifferenceFullWindow).toBeLessThan(1e-6);
    expect(agreement.alertLevel.rate).toBe(1);
    expect(agreement.alertLevel7dMax.rate).toBe(1);
    expect(agreement.mismatches).toEqual([]);
    // 2017-03-30, pixel (14.725S, 145.475E): the 84-day sum is 7.9986 degC-weeks, published as
    // 8.00 and classed Alert Level 2: NOAA thresholds the rounded DHW, and so do we.
    const t = nc.days.indexOf(Date.UTC(2017, 2, 30) / 864e5);
    expect([ours.dhw[t * 6 + 5], ours.alertLevel[t * 6 + 5]]).toEqual([8, 4]);
  });

  it("matches NOAA's single-pixel table 2015-2024; the only differences come from days before the table", async () => {
    const input = await readSstInput(read('lizard_island_pixel_2015_2024.csv'));
    const { series, noaa } = input;
    expect([series.days.length, series.pixels]).toEqual([3422, 1]);
    const ours = computeHeatStress({ ...series, mmmC: Float64Array.of(28.59) });
    const a = measureNoaaAgreement(series.days, 1, ours, noaa!);
    expect(a.hotspot.rate).toBe(1);
    expect(a.dhwFullWindow).toEqual({ compared: 3256, matching: 3256, rate: 1 });
    expect(a.alertLevel.rate).toBe(1);
    expect(a.alertLevel7dMax.rate).toBeGreaterThanOrEqual(0.995);
    // The table starts on 2015-01-01 with DHW 0.18 and a 7-day max of 2 carried from
    // December 2014, which it does not hold; those are every mismatch.
    expect(a.mismatches.filter((m) => m.reason === 'unexplained')).toEqual([]);
    expect(a.mismatches.map((m) => m.product).sort()).toEqual([
      ...new Array(5).fill('alert_level_7d_max'),
      ...new Array(82).fill('dhw'),
    ]);
    expect(Math.max(...a.mismatches.map((m) => m.day))).toBeLessThan(Date.UTC(2015, 2, 25) / 864e5);
  });

  it("rebuilds the Kenya virtual station's DHW and 7-day BAA from its own HotSpot column, 1985-2021", () => {
    const station = parseVirtualStation(read('virtual_station_kenya_2021-08-20.txt').toString());
    // The station publishes the 90th-percentile HotSpot of its polygon and the DHW and BAA built
    // from it: as SST = 28 + HS against MMM 28, our accumulation must give NOAA's columns.
    const ours = computeHeatStress({
      days: station.days,
      sstC: Float64Array.from(station.hotspot90th, (hs) => 28 + hs),
      pixels: 1,
      mmmC: Float64Array.of(28),
    });
    let dhwDays = 0;
    let dhwEqual = 0;
    let baaDays = 0;
    let baaEqual = 0;
    station.days.forEach((day, i) => {
      if (day >= station.firstValidDhwDay) {
        dhwDays++;
        if (Math.abs(ours.dhw[i]! - station.dhw90th[i]!) < 0.005) dhwEqual++;
      }
      if (day >= station.firstValidBaaDay) {
        baaDays++;
        if (ours.alertLevel7dMax[i] === station.alertLevel7dMax[i]) baaEqual++;
      }
    });
    expect([dhwDays, dhwEqual]).toEqual([13_296, 13_296]);
    expect([baaDays, baaEqual]).toEqual([13_290, 13_290]);
    expect(Math.max(...ours.dhw)).toBeGreaterThan(4); // the 1998 and 2016 events are in it
  });
});
