/** Sentinel-2 L2A scene classification (SCL) classes. */
export const SCL = {
  noData: 0,
  saturatedOrDefective: 1,
  darkArea: 2,
  cloudShadow: 3,
  vegetation: 4,
  notVegetated: 5,
  water: 6,
  unclassified: 7,
  cloudMediumProbability: 8,
  cloudHighProbability: 9,
  thinCirrus: 10,
  snow: 11,
} as const;

/** Why a pixel is left out of turbidity (0 = usable water). */
export const WATER_MASK = {
  water: 0,
  noData: 1,
  cloud: 2,
  land: 3,
  opticallyShallow: 4,
} as const;

/**
 * Optically deep when the round trip to the bottom keeps less than 1 % of the light:
 * exp(-2 Kd z) < 0.01, i.e. z > ln(100) / (2 Kd).
 */
export const OPTICALLY_DEEP_ROUND_TRIP = 0.01;

/** Cloud, cloud shadow or cirrus in the SCL (classes 3, 8, 9, 10). */
export function isCloudScl(scl: number): boolean {
  return (
    scl === SCL.cloudShadow ||
    scl === SCL.cloudMediumProbability ||
    scl === SCL.cloudHighProbability ||
    scl === SCL.thinCirrus
  );
}

/** Land in the SCL: vegetation, bare soil, snow (classes 4, 5, 11). */
export function isLandScl(scl: number): boolean {
  return scl === SCL.vegetation || scl === SCL.notVegetated || scl === SCL.snow;
}

/**
 * Whether the sea floor contributes to the signal: depth z (m, positive down) shallower than
 * ln(100) / (2 Kd), Kd the diffuse attenuation (1/m). Bottom-reflected light would read as
 * turbidity over reefs and sand, so those pixels are masked.
 */
export function isOpticallyShallow(depthM: number, kdPerM: number): boolean {
  return depthM < Math.log(1 / OPTICALLY_DEEP_ROUND_TRIP) / (2 * kdPerM);
}

/**
 * One mask code per pixel (WATER_MASK): nodata and defective pixels, cloud, land, then optically
 * shallow water where a depth (m) is known; else usable water. `kdPerM` defaults to 0.1 1/m
 * (clear reef water; about 23 m optically deep).
 */
export function computeWaterMask(
  scl: ArrayLike<number>,
  depthM?: ArrayLike<number>,
  kdPerM = 0.1,
  out: Uint8Array = new Uint8Array(scl.length),
): Uint8Array {
  for (let i = 0; i < scl.length; i++) {
    const s = scl[i]!;
    const depth = depthM?.[i];
    out[i] =
      s === SCL.noData || s === SCL.saturatedOrDefective
        ? WATER_MASK.noData
        : isCloudScl(s)
          ? WATER_MASK.cloud
          : isLandScl(s) || s === SCL.darkArea
            ? WATER_MASK.land
            : depth !== undefined && isOpticallyShallow(depth, kdPerM)
              ? WATER_MASK.opticallyShallow
              : WATER_MASK.water;
  }
  return out;
}
