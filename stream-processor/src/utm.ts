import { ValidationError } from '@reefguard/core';

/**
 * WGS 84 / UTM forward projection (EPSG:326zz north, 327zz south), the grids Sentinel-2 tiles
 * are delivered in. Krüger's series to the third order in n (Karney 2011, "Transverse Mercator
 * with an accuracy of a few nanometers"), millimetre-exact within a zone.
 */

const A_WGS84 = 6_378_137;
const F_WGS84 = 1 / 298.257223563;
const K0 = 0.9996;
const FALSE_EASTING_M = 500_000;
const FALSE_NORTHING_SOUTH_M = 10_000_000;

const N = F_WGS84 / (2 - F_WGS84);
const RECTIFYING_RADIUS_M = (A_WGS84 / (1 + N)) * (1 + N ** 2 / 4 + N ** 4 / 64);
const ALPHA = [
  N / 2 - (2 / 3) * N ** 2 + (5 / 16) * N ** 3,
  (13 / 48) * N ** 2 - (3 / 5) * N ** 3,
  (61 / 240) * N ** 3,
] as const;
const E2N = (2 * Math.sqrt(N)) / (1 + N);

export interface UtmZone {
  zone: number;
  south: boolean;
}

/** The UTM zone of an EPSG code ("EPSG:32755", 32755); throws naming a non-UTM code. */
export function utmZoneOfEpsg(code: string | number): UtmZone {
  const epsg = typeof code === 'number' ? code : Number(String(code).replace(/^EPSG:/i, ''));
  const zone = epsg % 100;
  const family = Math.floor(epsg / 100);
  if (!Number.isInteger(epsg) || (family !== 326 && family !== 327) || zone < 1 || zone > 60) {
    throw new ValidationError(
      `projection ${code} is not WGS 84 / UTM (EPSG:32601-32660 or 32701-32760)`,
      'unsupported_projection',
    );
  }
  return { zone, south: family === 327 };
}

/** Easting and northing (m) of a WGS 84 position in the given UTM zone. */
export function lonLatToUtm(lonDeg: number, latDeg: number, { zone, south }: UtmZone) {
  const phi = (latDeg * Math.PI) / 180;
  const dLambda = ((lonDeg - (zone * 6 - 183)) * Math.PI) / 180;
  const sinPhi = Math.sin(phi);
  const t = Math.sinh(Math.atanh(sinPhi) - E2N * Math.atanh(E2N * sinPhi));
  const xi = Math.atan2(t, Math.cos(dLambda));
  const eta = Math.atanh(Math.sin(dLambda) / Math.sqrt(1 + t * t));
  let x = eta;
  let y = xi;
  ALPHA.forEach((alpha, j) => {
    const k = 2 * (j + 1);
    x += alpha * Math.cos(k * xi) * Math.sinh(k * eta);
    y += alpha * Math.sin(k * xi) * Math.cosh(k * eta);
  });
  return {
    eastingM: FALSE_EASTING_M + K0 * RECTIFYING_RADIUS_M * x,
    northingM: (south ? FALSE_NORTHING_SOUTH_M : 0) + K0 * RECTIFYING_RADIUS_M * y,
  };
}
