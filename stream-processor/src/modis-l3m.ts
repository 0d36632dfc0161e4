import {
  h5wasmScratchPath,
  InputFormatError,
  loadH5wasm,
  type SatelliteObservation,
} from '@reefguard/core';
import type { QuarantineReason } from './quarantine.js';
import type { SiteProfile } from './sites.js';

/**
 * MODIS-Aqua L3m daily SST (NASA OBPG, NetCDF4 = HDF5): `sst` is a short scaled by the
 * `scale_factor` / `add_offset` attributes with `_FillValue`, `qual_sst` a byte 0 (best) .. 5,
 * 1-D `lat` (usually north to south) and `lon`. Values with quality above `maxQuality` (default 1,
 * "good") are dropped, as OBPG recommends for SST.
 */
export const DEFAULT_MODIS_MAX_QUALITY = 1;
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export interface SstGrid {
  lat: Float64Array;
  lon: Float64Array;
  /** degC, row-major [lat][lon], NaN where missing or of poor quality. */
  sstC: Float32Array;
}

/** A file that cannot be read, with the quarantine reason that fits. */
export class SatelliteFileError extends InputFormatError {
  constructor(
    message: string,
    readonly reason: Extract<QuarantineReason, 'corrupt_file' | 'truncated_file'>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A latitude / longitude box (degrees); only the grid rows and columns it needs are read. */
export interface LatLonBox {
  south: number;
  north: number;
  west: number;
  east: number;
}

/** The box around `sites` (undefined for none). */
export function sitesLatLonBox(sites: Iterable<{ lat: number; lon: number }>) {
  let box: LatLonBox | undefined;
  for (const { lat, lon } of sites) {
    box ??= { south: lat, north: lat, west: lon, east: lon };
    box.south = Math.min(box.south, lat);
    box.north = Math.max(box.north, lat);
    box.west = Math.min(box.west, lon);
    box.east = Math.max(box.east, lon);
  }
  return box;
}

/**
 * Grid indices `[first, last]` spanning the cells nearest `from` and `to`: every value between
 * them has its nearest cell inside, so sampling the slice equals sampling the whole axis.
 */
function axisSpan(axis: Float64Array, from: number, to: number): [number, number] {
  const a = nearest(axis, from);
  const b = nearest(axis, to);
  return [Math.min(a, b), Math.max(a, b)];
}

/**
 * Reads the SST grid of one L3m file's bytes. With `box`, only the rows and columns of the cells
 * nearest the box are read (an HDF5 hyperslab: a global 4 km file holds 37 M cells, the GBR
 * ~0.1 M), and the returned grid is that part.
 */
export async function readModisL3mSst(
  bytes: Uint8Array,
  options: { name?: string; maxQuality?: number; box?: LatLonBox } = {},
): Promise<SstGrid> {
  const name = options.name ?? 'modis.nc';
  if (bytes.length < 8 || HDF5_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new SatelliteFileError(
      `${name} is not a NetCDF4/HDF5 file (no HDF5 signature)`,
      'corrupt_file',
    );
  }
  const h5wasm = await loadH5wasm();
  const { FS } = await h5wasm.ready;
  const path = h5wasmScratchPath('modis');
  FS.writeFile(path, bytes);
  let file: InstanceType<typeof h5wasm.File> | null = null;
  try {
    file = new h5wasm.File(path, 'r');
    const dataset = (key: string) => {
      const d = file?.get(key);
      if (!(d instanceof h5wasm.Dataset)) throw new Error(`no variable "${key}"`);
      return d;
    };
    let lat = Float64Array.from(dataset('lat').value as ArrayLike<number>);
    let lon = Float64Array.from(dataset('lon').value as ArrayLike<number>);
    const sst = dataset('sst');
    const shape = sst.shape ?? [];
    if (shape.length !== 2 || shape[0] !== lat.length || shape[1] !== lon.length) {
      throw new Error(`sst has shape ${shape.join(' x ')} for ${lat.length} x ${lon.length}`);
    }
    let read = (d: ReturnType<typeof dataset>) => d.value as ArrayLike<number>;
    const { box } = options;
    if (box && lat.length > 0 && lon.length > 0) {
      const [i0, i1] = axisSpan(lat, box.south, box.north);
      const [j0, j1] = axisSpan(lon, box.west, box.east);
      lat = lat.slice(i0, i1 + 1);
      lon = lon.slice(j0, j1 + 1);
      read = (d) =>
        d.slice([
          [i0, i1 + 1],
          [j0, j1 + 1],
        ]) as ArrayLike<number>;
    }
    const raw = read(sst);
    const attr = (key: string, fallback: number) => {
      const value = sst.attrs[key]?.value as ArrayLike<number> | number | undefined;
      if (value === undefined || value === null) return fallback;
      return typeof value === 'number' ? value : Number(value[0]);
    };
    const scale = attr('scale_factor', 1);
    const offset = attr('add_offset', 0);
    const fill = attr('_FillValue', Number.NaN);
    const quality = file.get('qual_sst') ? read(dataset('qual_sst')) : null;
    const maxQuality = options.maxQuality ?? DEFAULT_MODIS_MAX_QUALITY;
    if (raw.length !== lat.length * lon.length) {
      throw new Error(`sst has ${raw.length} values for ${lat.length} x ${lon.length}`);
    }
    const sstC = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i] as number;
      const q = quality ? (quality[i] as number) : 0;
      sstC[i] = v === fill || q < 0 || q > maxQuality ? Number.NaN : v * scale + offset;
    }
    return { lat, lon, sstC };
  } catch (cause) {
    if (cause instanceof SatelliteFileError) throw cause;
    // The signature is there but HDF5 cannot follow the file's own addresses: cut short.
    throw new SatelliteFileError(`${name} cannot be read as MODIS L3m SST`, 'truncated_file', {
      cause,
    });
  } finally {
    file?.close();
    FS.unlink(path);
  }
}

/** OBPG's SST encoding: short, 0.005 degC steps, -32767 where there is no value. */
export const MODIS_SST_SCALE = 0.005;
export const MODIS_SST_FILL = -32767;

/**
 * Writes an SST grid as an L3m-style NetCDF4/HDF5 file (`sst` short with scale_factor,
 * add_offset and _FillValue, `qual_sst` byte, 1-D `lat`/`lon` with units, OBPG global
 * attributes); NaN becomes the fill value with quality -1. Returns the file's bytes.
 */
export async function writeModisL3mSst(
  grid: SstGrid,
  meta: { productName: string; timeCoverageStart: string; quality?: Int8Array; gzip?: boolean },
): Promise<Uint8Array> {
  const h5wasm = await loadH5wasm();
  const { FS } = await h5wasm.ready;
  const path = h5wasmScratchPath('modis-out');
  const file = new h5wasm.File(path, 'w');
  try {
    const n = grid.lat.length * grid.lon.length;
    const packed = new Int16Array(n);
    const quality = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const v = grid.sstC[i] as number;
      packed[i] = Number.isFinite(v) ? Math.round(v / MODIS_SST_SCALE) : MODIS_SST_FILL;
      quality[i] = Number.isFinite(v) ? (meta.quality?.[i] ?? 0) : -1;
    }
    const lat = file.create_dataset({ name: 'lat', data: Float32Array.from(grid.lat) });
    lat.create_attribute('units', 'degrees_north');
    lat.create_attribute('standard_name', 'latitude');
    const lon = file.create_dataset({ name: 'lon', data: Float32Array.from(grid.lon) });
    lon.create_attribute('units', 'degrees_east');
    lon.create_attribute('standard_name', 'longitude');
    const shape = [grid.lat.length, grid.lon.length];
    // OBPG files are chunked and deflated; mostly-fill grids shrink a hundredfold.
    const packing = meta.gzip
      ? {
          chunks: [Math.min(256, shape[0] as number), Math.min(256, shape[1] as number)],
          compression: 'gzip' as const,
          compression_opts: 4,
        }
      : {};
    const sst = file.create_dataset({ name: 'sst', data: packed, shape, ...packing });
    sst.create_attribute('long_name', 'Sea Surface Temperature');
    sst.create_attribute('scale_factor', Float32Array.of(MODIS_SST_SCALE));
    sst.create_attribute('add_offset', Float32Array.of(0));
    sst.create_attribute('_FillValue', Int16Array.of(MODIS_SST_FILL));
    sst.create_attribute('units', 'degree_C');
    sst.create_attribute('standard_name', 'sea_surface_temperature');
    const qual = file.create_dataset({ name: 'qual_sst', data: quality, shape, ...packing });
    // NetCDF-4 dimensions are HDF5 dimension scales: lat and lon become the (lat, lon)
    // coordinates of sst and qual_sst for netCDF / xarray readers, not anonymous axes.
    lat.make_scale('lat');
    lon.make_scale('lon');
    for (const variable of [sst, qual]) {
      variable.attach_scale(0, 'lat');
      variable.attach_scale(1, 'lon');
    }
    qual.create_attribute('long_name', 'Quality Levels, Sea Surface Temperature');
    qual.create_attribute('_FillValue', Int8Array.of(-1));
    file.create_attribute('product_name', meta.productName);
    file.create_attribute('instrument', 'MODIS');
    file.create_attribute('title', 'MODISA Level-3 Standard Mapped Image');
    file.create_attribute('time_coverage_start', meta.timeCoverageStart);
    file.close();
    return new Uint8Array(FS.readFile(path));
  } finally {
    FS.unlink(path);
  }
}

/** Index of the grid coordinate nearest `value` (ascending or descending axis). */
function nearest(axis: Float64Array, value: number): number {
  const n = axis.length;
  if (n > 1) {
    // Regular grids (L3m): direct index, checked against the axis, then the neighbours.
    const first = axis[0] as number;
    const step = ((axis[n - 1] as number) - first) / (n - 1);
    const guess = Math.min(n - 1, Math.max(0, Math.round((value - first) / step)));
    let best = guess;
    for (const k of [guess - 1, guess + 1]) {
      if (
        k >= 0 &&
        k < n &&
        Math.abs((axis[k] as number) - value) < Math.abs((axis[best] as number) - value)
      )
        best = k;
    }
    if (Math.abs((axis[best] as number) - value) <= Math.abs(step)) return best;
  }
  let best = 0;
  for (let i = 1; i < axis.length; i++) {
    if (Math.abs((axis[i] as number) - value) < Math.abs((axis[best] as number) - value)) best = i;
  }
  return best;
}

/** Whether `value` lies within half a cell of the axis's cell `index` (any value on a 1-cell axis). */
function insideCell(axis: Float64Array, index: number, value: number): boolean {
  if (axis.length < 2) return true;
  const step = Math.abs(
    ((axis[axis.length - 1] as number) - (axis[0] as number)) / (axis.length - 1),
  );
  return Math.abs((axis[index] as number) - value) <= step / 2 + 1e-9;
}

/**
 * The grid value nearest each site, as satellite observations. Missing pixels (cloud, land,
 * failed quality) are skipped, and so are sites outside the file's grid (a regional file): a
 * site's sample is the cell it lies in, never the value of an edge cell far away.
 */
export function sampleGridAtSites(
  grid: SstGrid,
  sites: Iterable<SiteProfile>,
  meta: { observedAt: string; sourceUri: string; product?: SatelliteObservation['product'] },
): SatelliteObservation[] {
  const out: SatelliteObservation[] = [];
  const product = meta.product ?? 'modis-aqua-l3m-sst';
  for (const site of sites) {
    const i = nearest(grid.lat, site.lat);
    const j = nearest(grid.lon, site.lon);
    if (!insideCell(grid.lat, i, site.lat) || !insideCell(grid.lon, j, site.lon)) continue;
    const value = grid.sstC[i * grid.lon.length + j] as number;
    if (!Number.isFinite(value)) continue;
    out.push({
      schema_version: 1,
      id: `${product}/sst/${site.siteId}/${meta.observedAt.slice(0, 10)}`,
      product,
      variable: 'sst',
      site_id: site.siteId,
      lat: grid.lat[i] as number,
      lon: grid.lon[j] as number,
      value,
      unit: 'degC',
      observed_at: meta.observedAt,
      source_uri: meta.sourceUri,
    });
  }
  return out;
}
