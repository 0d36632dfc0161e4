import {
  h5wasmScratchPath,
  InputFormatError,
  loadH5wasm,
  readNetcdfSst,
  type SatelliteObservation,
} from '@reefguard/core';
import { NetCDFReader } from 'netcdfjs';
import { SatelliteFileError } from './modis-l3m.js';
import type { SiteProfile } from './sites.js';

/**
 * NOAA Coral Reef Watch 5 km products as (time, lat, lon) grids: ERDDAP subsets (NetCDF-3,
 * `CRW_*` variables, read with core's NetCDF reader) and NOAA's daily CoralTemp / ct5km files
 * (NetCDF-4, `analysed_sst`, `degree_heating_week`, ... read here with h5wasm). Variables get
 * one short name each, whatever file they came from.
 */

export const CRW_PRODUCT = 'crw-coraltemp';

/** Short name -> [ERDDAP name, NOAA daily file name(s)], unit. */
export const CRW_VARIABLES = {
  sst: { names: ['CRW_SST', 'analysed_sst', 'sea_surface_temperature'], unit: 'degC' },
  ssta: { names: ['CRW_SSTANOMALY', 'sea_surface_temperature_anomaly'], unit: 'degC' },
  hotspot: { names: ['CRW_HOTSPOT', 'hotspot'], unit: 'degC' },
  dhw: { names: ['CRW_DHW', 'degree_heating_week'], unit: 'degC-weeks' },
  baa_7d_max: { names: ['CRW_BAA_7D_MAX', 'bleaching_alert_area_7d'], unit: '1' },
} as const;

export type CrwVariable = keyof typeof CRW_VARIABLES;

export interface CrwGrid {
  /** Days since 1970-01-01 (UTC), one per time step. */
  days: Int32Array;
  /** 1-D axes in the file's order (ERDDAP and NOAA write latitude north to south). */
  lat: Float64Array;
  lon: Float64Array;
  /** Values (time, lat, lon) row-major, NaN for fill / missing. */
  layers: Partial<Record<CrwVariable, Float64Array>>;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46];
const NETCDF3_SIGNATURE = [0x43, 0x44, 0x46]; // "CDF"

const startsWith = (bytes: Uint8Array, signature: number[]) =>
  bytes.length >= signature.length && signature.every((b, i) => bytes[i] === b);

/** Reads a CRW NetCDF file (either format); corrupt / truncated files throw SatelliteFileError. */
export async function readCrwGrid(bytes: Uint8Array, name = 'crw.nc'): Promise<CrwGrid> {
  if (startsWith(bytes, NETCDF3_SIGNATURE)) return readNetcdf3(bytes, name);
  if (startsWith(bytes, HDF5_SIGNATURE)) return readNetcdf4(bytes, name);
  throw new SatelliteFileError(`${name} is neither NetCDF-3 nor NetCDF-4/HDF5`, 'corrupt_file');
}

function readNetcdf3(bytes: Uint8Array, name: string): CrwGrid {
  try {
    const names = new NetCDFReader(bytes).variables.map((v) => v.name);
    const found = (v: CrwVariable) => CRW_VARIABLES[v].names.find((n) => names.includes(n));
    const present = (Object.keys(CRW_VARIABLES) as CrwVariable[]).filter((v) => found(v));
    if (present.length === 0) {
      throw new InputFormatError(
        `${name} has no CRW variable (${Object.values(CRW_VARIABLES)
          .map((v) => v.names[0])
          .join(', ')}); it has ${names.join(', ')}`,
      );
    }
    const file = readNetcdfSst(bytes, { variable: found(present[0] as CrwVariable) as string });
    const axis = (candidates: string[]) => {
      const axisName = candidates.find((n) => names.includes(n));
      if (!axisName) throw new InputFormatError(`${name} has no ${candidates[0]} axis`);
      return file.readVariable(axisName);
    };
    const layers: CrwGrid['layers'] = {};
    for (const v of present) layers[v] = file.readVariable(found(v) as string);
    return {
      days: file.days,
      lat: axis(['latitude', 'lat']),
      lon: axis(['longitude', 'lon']),
      layers,
    };
  } catch (cause) {
    if (cause instanceof InputFormatError && !(cause.cause instanceof Error)) {
      throw new SatelliteFileError(cause.message, 'corrupt_file', { cause });
    }
    throw new SatelliteFileError(`${name} cannot be read as NetCDF-3`, 'truncated_file', {
      cause,
    });
  }
}

const TIME_UNIT_MS: Record<string, number> = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};

async function readNetcdf4(bytes: Uint8Array, name: string): Promise<CrwGrid> {
  const h5wasm = await loadH5wasm();
  const { FS } = await h5wasm.ready;
  const path = h5wasmScratchPath('crw');
  FS.writeFile(path, bytes);
  let file: InstanceType<typeof h5wasm.File> | null = null;
  try {
    file = new h5wasm.File(path, 'r');
    const f = file;
    const dataset = (key: string) => {
      const d = f.get(key);
      return d instanceof h5wasm.Dataset ? d : null;
    };
    const attr = (d: InstanceType<typeof h5wasm.Dataset>, key: string): unknown => {
      const value = d.attrs[key]?.value as unknown;
      return ArrayBuffer.isView(value) || Array.isArray(value)
        ? (value as ArrayLike<unknown>)[0]
        : value;
    };
    const axis = (candidates: string[]) => {
      for (const c of candidates) {
        const d = dataset(c);
        if (d) return Float64Array.from(d.value as ArrayLike<number>);
      }
      throw new InputFormatError(`${name} has no ${candidates[0]} axis`);
    };
    const lat = axis(['lat', 'latitude']);
    const lon = axis(['lon', 'longitude']);
    const time = dataset('time');
    if (!time) throw new InputFormatError(`${name} has no time variable`);
    const units = String(attr(time, 'units') ?? '');
    const match = /^(seconds|minutes|hours|days) since (\S+)(?:[ T](\S+))?/.exec(units.trim());
    if (!match) throw new InputFormatError(`${name}: time units "${units}" not understood`);
    const origin = Date.parse(`${match[2]}T${(match[3] ?? '00:00:00').replace(/Z$/, '')}Z`);
    const step = TIME_UNIT_MS[match[1] as string] as number;
    const days = Int32Array.from(time.value as ArrayLike<number>, (t) =>
      Math.floor((origin + Number(t) * step) / 86_400_000),
    );
    const layers: CrwGrid['layers'] = {};
    for (const v of Object.keys(CRW_VARIABLES) as CrwVariable[]) {
      const d = CRW_VARIABLES[v].names.map((n) => dataset(n)).find((x) => x !== null);
      if (!d) continue;
      const raw = d.value as ArrayLike<number>;
      const scale = Number(attr(d, 'scale_factor') ?? 1);
      const offset = Number(attr(d, 'add_offset') ?? 0);
      const fill = attr(d, '_FillValue');
      const fillValue = fill === undefined ? Number.NaN : Number(fill);
      const out = new Float64Array(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const x = Number(raw[i]);
        out[i] = x === fillValue ? Number.NaN : x * scale + offset;
      }
      if (out.length !== days.length * lat.length * lon.length) {
        throw new InputFormatError(`${name}: ${d.path} is not (time, lat, lon)`);
      }
      layers[v] = out;
    }
    if (Object.keys(layers).length === 0) {
      throw new InputFormatError(`${name} has no CRW variable`);
    }
    return { days, lat, lon, layers };
  } catch (cause) {
    if (hdf5DeclaredLength(bytes) > bytes.length) {
      throw new SatelliteFileError(
        `${name} is cut short: ${bytes.length} of ${hdf5DeclaredLength(bytes)} bytes`,
        'truncated_file',
        { cause },
      );
    }
    if (cause instanceof InputFormatError) {
      throw new SatelliteFileError(cause.message, 'corrupt_file', { cause });
    }
    throw new SatelliteFileError(`${name} cannot be read as NetCDF-4`, 'truncated_file', {
      cause,
    });
  } finally {
    file?.close();
    FS.unlink(path);
  }
}

/**
 * The end-of-file address the HDF5 superblock declares (0 when it cannot be read): a file
 * shorter than that was cut short in transfer. Superblock v0/v1 and v2/v3 layouts.
 */
export function hdf5DeclaredLength(bytes: Uint8Array): number {
  if (bytes.length < 48) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8] as number;
  const read = (at: number, size: number) =>
    size === 8 ? Number(view.getBigUint64(at, true)) : view.getUint32(at, true);
  if (version === 0 || version === 1) {
    const offsets = bytes[13] as number;
    const base = 24 + (version === 1 ? 4 : 0);
    return base + 3 * offsets <= bytes.length ? read(base + 2 * offsets, offsets) : 0;
  }
  if (version === 2 || version === 3) {
    const offsets = bytes[9] as number;
    return 12 + 3 * offsets <= bytes.length ? read(12 + 2 * offsets, offsets) : 0;
  }
  return 0;
}

/** Index of the axis value nearest `value` if within half a cell (a full cell for 1-cell axes). */
function cellOf(axis: Float64Array, value: number, defaultCellDeg: number): number {
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let i = 0; i < axis.length; i++) {
    const d = Math.abs((axis[i] as number) - value);
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  const cell =
    axis.length > 1
      ? Math.abs(((axis[axis.length - 1] as number) - (axis[0] as number)) / (axis.length - 1))
      : defaultCellDeg;
  return bestDistance <= cell / 2 + 1e-9 ? best : -1;
}

/** CRW 5 km cell size (degrees). */
export const CRW_CELL_DEG = 0.05;

/**
 * The value of every variable at the cell holding each site, per day, as satellite
 * observations. Sites outside the grid (more than half a cell from every cell centre) and
 * missing values are skipped: a subset of one reef never speaks for another.
 */
export function sampleCrwAtSites(
  grid: CrwGrid,
  sites: readonly SiteProfile[],
  sourceUri: string,
): SatelliteObservation[] {
  const out: SatelliteObservation[] = [];
  const pixels = grid.lat.length * grid.lon.length;
  for (const site of sites) {
    const i = cellOf(grid.lat, site.lat, CRW_CELL_DEG);
    const j = cellOf(grid.lon, site.lon, CRW_CELL_DEG);
    if (i < 0 || j < 0) continue;
    const p = i * grid.lon.length + j;
    for (const [variable, values] of Object.entries(grid.layers) as [CrwVariable, Float64Array][]) {
      for (let t = 0; t < grid.days.length; t++) {
        const value = values[t * pixels + p] as number;
        if (!Number.isFinite(value)) continue;
        const date = new Date((grid.days[t] as number) * 86_400_000 + 43_200_000).toISOString();
        out.push({
          schema_version: 1,
          id: `${CRW_PRODUCT}/${variable}/${site.siteId}/${date.slice(0, 10)}`,
          product: CRW_PRODUCT,
          variable,
          site_id: site.siteId,
          lat: grid.lat[i] as number,
          lon: grid.lon[j] as number,
          value,
          unit: CRW_VARIABLES[variable].unit,
          observed_at: date,
          source_uri: sourceUri,
        });
      }
    }
  }
  return out;
}

/** NOAA's packing of ct5km DHW: short, 0.01 degC-weeks per step, -32768 = no value. */
export const CRW_DHW_SCALE = 0.01;
export const CRW_SHORT_FILL = -32768;

/**
 * Writes one day of a CRW variable as NOAA's daily NetCDF-4 files carry it (`time` in seconds
 * since 1981-01-01, 1-D `lat` north to south and `lon`, the variable (time, lat, lon) short
 * with scale_factor / add_offset / _FillValue). For replays and tests.
 */
export async function writeCrwDailyNetcdf4(
  grid: { day: number; lat: Float64Array; lon: Float64Array; values: Float64Array },
  variable: CrwVariable = 'dhw',
): Promise<Uint8Array> {
  const h5wasm = await loadH5wasm();
  const { FS } = await h5wasm.ready;
  const path = h5wasmScratchPath('crw-out');
  const file = new h5wasm.File(path, 'w');
  try {
    const n = grid.lat.length * grid.lon.length;
    const packed = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const v = grid.values[i] as number;
      packed[i] = Number.isFinite(v) ? Math.round(v / CRW_DHW_SCALE) : CRW_SHORT_FILL;
    }
    const epoch1981 = Date.UTC(1981, 0, 1);
    const time = file.create_dataset({
      name: 'time',
      data: Int32Array.of((grid.day * 86_400_000 + 43_200_000 - epoch1981) / 1000),
    });
    time.create_attribute('units', 'seconds since 1981-01-01 00:00:00');
    const lat = file.create_dataset({ name: 'lat', data: Float32Array.from(grid.lat) });
    lat.create_attribute('units', 'degrees_north');
    const lon = file.create_dataset({ name: 'lon', data: Float32Array.from(grid.lon) });
    lon.create_attribute('units', 'degrees_east');
    const name = CRW_VARIABLES[variable].names[1] ?? CRW_VARIABLES[variable].names[0];
    const data = file.create_dataset({
      name,
      data: packed,
      shape: [1, grid.lat.length, grid.lon.length],
    });
    data.create_attribute('scale_factor', Float32Array.of(CRW_DHW_SCALE));
    data.create_attribute('add_offset', Float32Array.of(0));
    data.create_attribute('_FillValue', Int16Array.of(CRW_SHORT_FILL));
    data.create_attribute('units', CRW_VARIABLES[variable].unit);
    file.create_attribute(
      'title',
      'NOAA Coral Reef Watch Daily Global 5km Satellite Coral Bleaching Degree Heating Week',
    );
    file.close();
    return new Uint8Array(FS.readFile(path));
  } finally {
    FS.unlink(path);
  }
}
