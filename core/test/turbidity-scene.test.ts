import { describe, expect, it } from 'vitest';
import { computeSentinel2Turbidity, nechadTurbidityB4B5, SCL, WATER_MASK } from '../src/index.js';

// Nechad et al. 2016 coefficients written out: B4 A = 366.14, C = 0.19563; B5 A = 439.09, C = 0.18753.
const b4 = (rho: number) => (366.14 * rho) / (1 - rho / 0.19563);
const b5 = (rho: number) => (439.09 * rho) / (1 - rho / 0.18753);

describe('turbidity - Nechad B4/B5 switch and a Sentinel-2 window', () => {
  it('uses B4 in clear water, B5 in turbid water and blends linearly in between', () => {
    expect(nechadTurbidityB4B5(0.02, 0.5)).toBeCloseTo(b4(0.02), 10);
    expect(nechadTurbidityB4B5(0.09, 0.08)).toBeCloseTo(b5(0.08), 10);
    // Halfway through the 0.05-0.07 switch: the mean of the two.
    expect(nechadTurbidityB4B5(0.06, 0.05)).toBeCloseTo((b4(0.06) + b5(0.05)) / 2, 10);
    // Continuous at both ends of the switch.
    expect(nechadTurbidityB4B5(0.0499999, 0.04)).toBeCloseTo(nechadTurbidityB4B5(0.05, 0.04), 3);
    expect(nechadTurbidityB4B5(0.07, 0.06)).toBeCloseTo(nechadTurbidityB4B5(0.0700001, 0.06), 3);
    expect(nechadTurbidityB4B5(Number.NaN, 0.01)).toBeNaN();
  });

  it('masks cloud, shadow, cirrus, land, snow and nodata; applies offset and SWIR glint', () => {
    const scl = [
      SCL.water,
      SCL.cloudHighProbability,
      SCL.cloudShadow,
      SCL.thinCirrus,
      SCL.vegetation,
      SCL.snow,
      SCL.noData,
      SCL.water,
    ];
    // Baseline 04.00 (offset -1000): DN 1250 is reflectance 0.025, SWIR DN 1010 is 0.001.
    const { turbidity, mask } = computeSentinel2Turbidity({
      b04: [1250, 9000, 9000, 9000, 9000, 9000, 0, 1000 + 1010],
      b05: [1200, 9000, 9000, 9000, 9000, 9000, 0, 1000 + 700],
      b11: [1010, 5000, 5000, 5000, 5000, 5000, 0, 1010],
      scl,
      boaAddOffset: -1000,
    });
    expect(Array.from(mask)).toEqual([
      WATER_MASK.water,
      WATER_MASK.cloud,
      WATER_MASK.cloud,
      WATER_MASK.cloud,
      WATER_MASK.land,
      WATER_MASK.land,
      WATER_MASK.noData,
      WATER_MASK.water,
    ]);
    expect(turbidity[0]).toBeCloseTo(b4(0.024), 4);
    expect(turbidity.slice(1, 7).every(Number.isNaN)).toBe(true);
    // rho_w(B4) = 0.101 - 0.001 = 0.1 > 0.07: B5 alone, rho_w(B5) = 0.07 - 0.001.
    expect(turbidity[7]).toBeCloseTo(b5(0.069), 4);
  });
});
