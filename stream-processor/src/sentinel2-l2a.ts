import {
  computeSentinel2Turbidity,
  type SatelliteObservation,
  sentinel2BoaAddOffsetOfItem,
  ValidationError,
  WATER_MASK,
} from '@reefguard/core';
import { fromUrl, type GeoTIFFImage } from 'geotiff';
import type { Fetcher } from './fetcher.js';
import { SatelliteFileError } from './modis-l3m.js';
import type { SiteProfile } from './sites.js';
import { assetUrl, itemEpsg, type StacItem } from './stac.js';
import { lonLatToUtm, utmZoneOfEpsg } from './utm.js';

/**
 * Sentinel-2 L2A turbidity around sites: for each site inside an item's footprint, one window
 * of the 20 m B04, B05, B11 and SCL cloud-optimised GeoTIFFs is read with HTTP range requests
 * (never the whole 5490 x 5490 tile), masked by SCL, converted to water-leaving reflectance
 * with the item's BOA_ADD_OFFSET and to Nechad turbidity; the site's value is the median of
 * its valid water pixels.
 */

export const SENTINEL2_PRODUCT = 'sentinel2-l2a';
/** Pixels (20 m) either side of the site: a 31 x 31 window, 620 m across. */
export const DEFAULT_WINDOW_RADIUS_PX = 15;
/** Fewer valid water pixels than this and the site gets no value from the scene. */
export const DEFAULT_MIN_WATER_PIXELS = 9;

/** The 20 m bands the turbidity needs, by their ESA names. */
const BANDS = ['B04', 'B05', 'B11', 'SCL'] as const;
type Band = (typeof BANDS)[number];

/** The item's asset key of a 20 m band: by `eo:bands` name, SCL by its key. */
export function sentinel2AssetKey(item: StacItem, band: Band): string {
  const is20m = (key: string) => {
    const a = item.assets[key];
    return a?.gsd === 20 || a?.['proj:transform']?.[0] === 20;
  };
  const keys = Object.keys(item.assets);
  const found =
    band === 'SCL'
      ? keys.find((k) => k.toLowerCase() === 'scl' && is20m(k))
      : keys.find((k) => item.assets[k]?.['eo:bands']?.[0]?.name === band && is20m(k));
  if (!found) {
    throw new ValidationError(
      `STAC item ${item.id} has no 20 m ${band} asset (assets: ${keys.join(', ')})`,
      'stac_item',
    );
  }
  const type = item.assets[found]?.type ?? '';
  if (!/tiff/i.test(type) && !/\.tiff?$/i.test(item.assets[found]?.href ?? '')) {
    throw new ValidationError(
      `STAC item ${item.id} asset "${found}" is ${type || 'not a GeoTIFF'}; only (cloud-optimised) GeoTIFF assets can be window-read`,
      'unsupported_format',
    );
  }
  return found;
}

/** Cell edge (degrees) of the gridded turbidity layer kept for chips: ~110 m, ~5 x 5 pixels. */
export const TURBIDITY_GRID_STEP_DEG = 0.001;

/** A site window's turbidity on a regular lon/lat grid: NaN where no clear water pixel fell. */
export interface TurbidityGrid {
  /** Cell centres, north to south and west to east. */
  lat: Float64Array;
  lon: Float64Array;
  /** lat x lon, row-major: the median turbidity (FNU) of the clear water pixels in the cell. */
  values: Float64Array;
}

export interface SiteTurbidity {
  siteId: string;
  /** Median turbidity (FNU) of the valid water pixels; NaN when too few. */
  turbidityFnu: number;
  /** Pixels in the window, and how many of each mask class. */
  pixels: number;
  water: number;
  cloud: number;
  land: number;
  noData: number;
  /** The window's clear water pixels gridded for chips (see {@link gridWindowTurbidity}). */
  grid: TurbidityGrid;
}

export interface ReadSceneOptions {
  /** Checks each COG first (timeout, retries; its headers go to the range reads too). */
  fetcher: Fetcher;
  radiusPx?: number;
  signal?: AbortSignal;
}

const TIFF_MAGIC = [
  [0x49, 0x49, 0x2a, 0x00],
  [0x4d, 0x4d, 0x00, 0x2a],
  [0x49, 0x49, 0x2b, 0x00],
  [0x4d, 0x4d, 0x00, 0x2b],
];

/**
 * Opens one band's COG. Its first bytes are fetched with the fetcher's retries first, so a
 * missing asset (NotFoundError) or an unreachable host (TransportError) is told apart from a
 * file that is not a TIFF (quarantined as corrupt).
 */
async function openCog(url: string, options: ReadSceneOptions) {
  const head = await options.fetcher.getRange(url, 0, 7);
  if (!TIFF_MAGIC.some((magic) => magic.every((b, i) => head[i] === b))) {
    throw new SatelliteFileError(`${url} is not a GeoTIFF (no TIFF signature)`, 'corrupt_file');
  }
  try {
    const tiff = await fromUrl(
      url,
      { headers: options.fetcher.headers, maxRanges: 0 },
      options.signal,
    );
    return await tiff.getImage();
  } catch (cause) {
    throw new SatelliteFileError(`${url}: the GeoTIFF header cannot be read`, 'truncated_file', {
      cause,
    });
  }
}

interface Grid {
  originX: number;
  originY: number;
  resX: number;
  resY: number;
  width: number;
  height: number;
}

function gridOf(image: GeoTIFFImage): Grid {
  const [originX, originY] = image.getOrigin() as [number, number];
  const [resX, resY] = image.getResolution() as [number, number];
  return { originX, originY, resX, resY, width: image.getWidth(), height: image.getHeight() };
}

const sameGrid = (a: Grid, b: Grid) =>
  a.originX === b.originX &&
  a.originY === b.originY &&
  a.resX === b.resX &&
  a.resY === b.resY &&
  a.width === b.width &&
  a.height === b.height;

function median(values: Float32Array): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Turbidity of every site (of `sites`) inside the item's footprint. A COG that cannot be
 * opened or read throws SatelliteFileError (corrupt/truncated) for the caller to quarantine.
 */
export async function readSentinel2Turbidity(
  item: StacItem,
  sites: readonly SiteProfile[],
  options: ReadSceneOptions,
): Promise<SiteTurbidity[]> {
  const radius = options.radiusPx ?? DEFAULT_WINDOW_RADIUS_PX;
  const [west, south, east, north] = item.bbox as [number, number, number, number];
  const inside = sites.filter(
    (s) => s.lon >= west && s.lon <= east && s.lat >= south && s.lat <= north,
  );
  if (inside.length === 0) return [];
  const boaAddOffset = sentinel2BoaAddOffsetOfItem(item);
  const zone = utmZoneOfEpsg(itemEpsg(item));
  const keys = BANDS.map((band) => sentinel2AssetKey(item, band));
  const images = await Promise.all(
    keys.map(async (key) => {
      const url = assetUrl(item, key);
      return { url, image: await openCog(url, options) };
    }),
  );
  const grid = gridOf(images[0]!.image);
  for (const { url, image } of images) {
    if (!sameGrid(grid, gridOf(image))) {
      throw new SatelliteFileError(
        `${url} is not on the 20 m grid of the other bands`,
        'corrupt_file',
      );
    }
  }
  const results: SiteTurbidity[] = [];
  for (const site of inside) {
    const { eastingM, northingM } = lonLatToUtm(site.lon, site.lat, zone);
    const col = Math.floor((eastingM - grid.originX) / grid.resX);
    const row = Math.floor((northingM - grid.originY) / grid.resY);
    const window = [
      Math.max(col - radius, 0),
      Math.max(row - radius, 0),
      Math.min(col + radius + 1, grid.width),
      Math.min(row + radius + 1, grid.height),
    ] as [number, number, number, number];
    if (window[0] >= window[2] || window[1] >= window[3]) continue;
    const [b04, b05, b11, scl] = await Promise.all(
      images.map(async ({ url, image }) => {
        try {
          const rasters = await image.readRasters({
            window,
            samples: [0],
            interleave: true,
            signal: options.signal,
          });
          return rasters as unknown as ArrayLike<number>;
        } catch (cause) {
          throw new SatelliteFileError(
            `${url}: window ${window.join(',')} cannot be read`,
            'truncated_file',
            { cause },
          );
        }
      }),
    );
    const { turbidity, mask } = computeSentinel2Turbidity({
      b04: b04!,
      b05: b05!,
      b11: b11!,
      scl: scl!,
      boaAddOffset,
    });
    const counts = { water: 0, cloud: 0, land: 0, noData: 0 };
    for (const m of mask) {
      if (m === WATER_MASK.water) counts.water += 1;
      else if (m === WATER_MASK.cloud) counts.cloud += 1;
      else if (m === WATER_MASK.land) counts.land += 1;
      else counts.noData += 1;
    }
    const valid = new Float32Array(counts.water);
    let k = 0;
    for (let i = 0; i < mask.length; i++)
      if (mask[i] === WATER_MASK.water) valid[k++] = turbidity[i] as number;
    results.push({
      siteId: site.siteId,
      turbidityFnu: median(valid),
      pixels: mask.length,
      ...counts,
      grid: gridWindowTurbidity(site, zone, grid, window, turbidity, mask),
    });
  }
  return results;
}

/**
 * Bins a window's clear water pixels into TURBIDITY_GRID_STEP_DEG lon/lat cells (median per
 * cell). Pixel centres go from UTM back to lon/lat through the projection's local linear
 * inverse at the site, exact to centimetres over a 620 m window.
 */
export function gridWindowTurbidity(
  site: SiteProfile,
  zone: ReturnType<typeof utmZoneOfEpsg>,
  grid: Grid,
  window: readonly [number, number, number, number],
  turbidity: ArrayLike<number>,
  mask: ArrayLike<number>,
): TurbidityGrid {
  const step = TURBIDITY_GRID_STEP_DEG;
  const d = 1e-3;
  const o = lonLatToUtm(site.lon, site.lat, zone);
  const x = lonLatToUtm(site.lon + d, site.lat, zone);
  const y = lonLatToUtm(site.lon, site.lat + d, zone);
  // Jacobian of (lon, lat) -> (E, N) per degree, and its inverse.
  const [a, b, c, e] = [
    (x.eastingM - o.eastingM) / d,
    (y.eastingM - o.eastingM) / d,
    (x.northingM - o.northingM) / d,
    (y.northingM - o.northingM) / d,
  ];
  const det = a * e - b * c;
  const width = window[2] - window[0];
  const cells = new Map<string, number[]>();
  let [west, east, south, north] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let k = 0; k < mask.length; k++) {
    if (mask[k] !== WATER_MASK.water) continue;
    const col = window[0] + (k % width);
    const row = window[1] + Math.floor(k / width);
    const dE = grid.originX + (col + 0.5) * grid.resX - o.eastingM;
    const dN = grid.originY + (row + 0.5) * grid.resY - o.northingM;
    const i = Math.floor((site.lon + (e * dE - b * dN) / det) / step);
    const j = Math.floor((site.lat + (a * dN - c * dE) / det) / step);
    [west, east, south, north] = [
      Math.min(west, i),
      Math.max(east, i),
      Math.min(south, j),
      Math.max(north, j),
    ];
    const key = `${i}/${j}`;
    const list = cells.get(key);
    if (list) list.push(turbidity[k] as number);
    else cells.set(key, [turbidity[k] as number]);
  }
  if (cells.size === 0) {
    return { lat: new Float64Array(0), lon: new Float64Array(0), values: new Float64Array(0) };
  }
  const lon = Float64Array.from({ length: east - west + 1 }, (_, i) => (west + i + 0.5) * step);
  const lat = Float64Array.from({ length: north - south + 1 }, (_, j) => (north - j + 0.5) * step);
  const values = new Float64Array(lat.length * lon.length).fill(Number.NaN);
  for (const [key, list] of cells) {
    const [i, j] = key.split('/').map(Number) as [number, number];
    values[(north - j) * lon.length + (i - west)] = median(Float32Array.from(list));
  }
  return { lat, lon, values };
}

/** The satellite observation of a site's scene value (quality = share of valid water pixels). */
export function sentinel2Observation(
  item: StacItem,
  site: SiteProfile,
  value: SiteTurbidity,
): SatelliteObservation {
  return {
    schema_version: 1,
    id: `${SENTINEL2_PRODUCT}/turbidity/${site.siteId}/${item.id}`,
    product: SENTINEL2_PRODUCT,
    variable: 'turbidity',
    site_id: site.siteId,
    lat: site.lat,
    lon: site.lon,
    value: value.turbidityFnu,
    unit: 'FNU',
    observed_at: new Date(Date.parse(item.properties.datetime)).toISOString(),
    quality: value.water / value.pixels,
    source_uri: item.links?.find((l) => l.rel === 'self')?.href ?? `${item.baseHref}#${item.id}`,
  };
}
