import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  computeWaterMask,
  isOpticallyShallow,
  nechadTurbidity,
  SCL,
  sentinel2BoaAddOffset,
  sentinel2BoaAddOffsetOfItem,
  sentinel2Reflectance,
  WATER_MASK,
  waterLeavingReflectance,
} from '../src/index.js';

const S2 = resolve(import.meta.dirname, '../../test/fixtures/sentinel2');

describe('turbidity - Sentinel-2 L2A reflectance', () => {
  it('takes BOA_ADD_OFFSET from the processing baseline of real STAC items', () => {
    const offsets = Object.fromEntries(
      readdirSync(S2).map((name) => [
        name,
        sentinel2BoaAddOffsetOfItem(JSON.parse(readFileSync(resolve(S2, name), 'utf8'))),
      ]),
    );
    expect(offsets).toEqual({
      'S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE.json': 0,
      'S2A_OPER_MSI_L2A_TL_VGS1_20220401T110010_A035382_T34LBQ.json': -1000,
      'S2A_T07HFE_20190212T192646_L2A.json': 0,
      'S2B_MSIL2A_20191228T210519_N0212_R071_T01CCV_20201003T104658.SAFE.json': 0,
    });
    expect(sentinel2BoaAddOffset('05.11')).toBe(-1000);
    expect(() => sentinel2BoaAddOffset('latest')).toThrow(/processing baseline/);
  });

  it('reflectance = (DN + BOA_ADD_OFFSET) / 10000, DN 0 is nodata', () => {
    expect(sentinel2Reflectance(1500, -1000)).toBe(0.05);
    expect(sentinel2Reflectance(500, 0)).toBe(0.05);
    expect(sentinel2Reflectance(0, -1000)).toBeNaN();
    expect(waterLeavingReflectance(0.05, 0.01)).toBeCloseTo(0.04, 12);
    expect(waterLeavingReflectance(0.01, 0.02)).toBe(0);
  });
});

describe('turbidity - Nechad single-band', () => {
  it('T = A rho / (1 - rho / C) with the S2 B4 and B5 coefficients', () => {
    // 366.14 * 0.05 / (1 - 0.05 / 0.19563) and 439.09 * 0.08 / (1 - 0.08 / 0.18753).
    expect(nechadTurbidity(0.05, 'B4')).toBeCloseTo(24.592449426629127, 10);
    expect(nechadTurbidity(0.08, 'B5')).toBeCloseTo(61.2610789175114, 10);
    expect(nechadTurbidity(0, 'B4')).toBe(0);
    expect(nechadTurbidity(0.2, 'B4')).toBeNaN(); // beyond saturation C
    expect(nechadTurbidity(Number.NaN, 'B5')).toBeNaN();
  });
});

describe('turbidity - masks', () => {
  it('codes nodata, cloud, land and optically shallow pixels', () => {
    const scl = [
      SCL.water,
      SCL.noData,
      SCL.cloudHighProbability,
      SCL.thinCirrus,
      SCL.cloudShadow,
      SCL.vegetation,
      SCL.notVegetated,
      SCL.water,
      SCL.water,
    ];
    const depth = [50, 50, 50, 50, 50, 50, 50, 5, 30];
    expect(Array.from(computeWaterMask(scl, depth))).toEqual([
      WATER_MASK.water,
      WATER_MASK.noData,
      WATER_MASK.cloud,
      WATER_MASK.cloud,
      WATER_MASK.cloud,
      WATER_MASK.land,
      WATER_MASK.land,
      WATER_MASK.opticallyShallow,
      WATER_MASK.water,
    ]);
    // ln(100) / (2 * 0.1) = 23.03 m.
    expect(isOpticallyShallow(23, 0.1)).toBe(true);
    expect(isOpticallyShallow(23.1, 0.1)).toBe(false);
    expect(isOpticallyShallow(7.6, 0.3)).toBe(true); // ln(100) / 0.6 = 7.68 m
    expect(isOpticallyShallow(7.7, 0.3)).toBe(false);
  });
});
