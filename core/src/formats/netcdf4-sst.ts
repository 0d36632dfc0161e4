import type H5wasm from 'h5wasm/node';
import { toCelsiusArray } from '../crw/units.js';
import { InputFormatError } from '../errors.js';
import { type H5wasmModule, h5wasmScratchPath, loadH5wasm } from './h5wasm.js';
import {
  findSstVariable,
  NETCDF_SST_VARIABLES,
  type NetcdfSst,
  readCfLayout,
  unpackCf,
} from './netcdf-sst.js';

/** The 8-byte signature every HDF5 file (and so every NetCDF-4 file) starts with. */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

export const isHdf5 = (bytes: Uint8Array): boolean =>
  bytes.length >= HDF5_SIGNATURE.length && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);

type Dataset = InstanceType<typeof H5wasm.Dataset>;

/** An attribute's first value (HDF5 attributes are arrays even when scalar in NetCDF). */
function attribute(dataset: Dataset, name: string): unknown {
  const value = dataset.attrs[name]?.value as unknown;
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    return value;
  }
  return ArrayBuffer.isView(value) || Array.isArray(value)
    ? (value as ArrayLike<unknown>)[0]
    : value;
}

const numeric = (value: unknown): number | undefined =>
  typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;

/**
 * Reads a NetCDF-4 (HDF5) SST file such as NOAA's daily CoralTemp / ct5km files or a GHRSST
 * L4 analysis: the same contract as `readNetcdfSst` (time in "<unit> since <date>", latitude /
 * longitude, an SST variable over (time[, lat, lon]), scale_factor / add_offset / _FillValue
 * applied, Kelvin converted). Compressed (deflate) and chunked variables are read by h5wasm.
 * The file is closed before this returns, so `readVariable` serves the variables named in
 * `alsoRead` (read up front when the file has them) besides the SST.
 */
export async function readNetcdf4Sst(
  bytes: Uint8Array,
  options: { variable?: string; alsoRead?: readonly string[] } = {},
): Promise<NetcdfSst> {
  if (!isHdf5(bytes)) throw new InputFormatError('not a NetCDF-4/HDF5 file (no HDF5 signature)');
  const h5wasm = await loadH5wasm();
  const { FS } = await h5wasm.ready;
  const path = h5wasmScratchPath('sst');
  FS.writeFile(path, bytes);
  let file: InstanceType<typeof H5wasm.File> | null = null;
  try {
    file = new h5wasm.File(path, 'r');
    // h5wasm does not throw on a file HDF5 cannot open; it hands back an invalid id.
    if (file.file_id < 0n) {
      file = null;
      throw new InputFormatError('NetCDF-4/HDF5 file cannot be opened: truncated or corrupt');
    }
    return readOpenFile(h5wasm, file, options);
  } catch (cause) {
    if (cause instanceof InputFormatError) throw cause;
    // h5wasm reports truncation and corruption as plain errors from HDF5.
    throw new InputFormatError('NetCDF-4/HDF5 file cannot be read: truncated or corrupt', {
      cause,
    });
  } finally {
    file?.close();
    FS.unlink(path);
  }
}

function readOpenFile(
  h5wasm: H5wasmModule,
  f: InstanceType<typeof H5wasm.File>,
  options: { variable?: string; alsoRead?: readonly string[] },
): NetcdfSst {
  const variables = (f.keys() as string[]).filter((key) => f.get(key) instanceof h5wasm.Dataset);
  const dataset = (name: string): Dataset => {
    const d = f.get(name);
    if (!(d instanceof h5wasm.Dataset)) {
      throw new InputFormatError(
        `NetCDF variable ${name} not found; it has ${variables.join(', ')}`,
      );
    }
    return d;
  };
  const readVariable = (name: string): Float64Array => {
    const d = dataset(name);
    let raw: ArrayLike<number | bigint>;
    try {
      raw = d.value as ArrayLike<number | bigint>;
    } catch (cause) {
      throw new InputFormatError(`NetCDF-4 variable ${name} cannot be read`, { cause });
    }
    return unpackCf(raw, {
      fill: numeric(attribute(d, '_FillValue')),
      missing: numeric(attribute(d, 'missing_value')),
      scale: numeric(attribute(d, 'scale_factor')) ?? 1,
      offset: numeric(attribute(d, 'add_offset')) ?? 0,
    });
  };
  const variable =
    options.variable ??
    findSstVariable(variables, (name) => attribute(dataset(name), 'standard_name'));
  if (variable === undefined) {
    throw new InputFormatError(
      `no SST variable in the NetCDF-4 file (looked for ${NETCDF_SST_VARIABLES.join(', ')}); pass its name`,
    );
  }
  const { days, sst, pixels, latDeg, lonDeg } = readCfLayout(variables, variable, {
    kind: 'NetCDF-4',
    readVariable,
    unitsOf: (name) => attribute(dataset(name), 'units'),
    shapeOf: (name) => dataset(name).shape?.join(' x ') ?? '?',
  });
  const cache = new Map<string, Float64Array>([[variable, sst]]);
  for (const name of options.alsoRead ?? []) {
    if (variables.includes(name)) cache.set(name, readVariable(name));
  }
  return {
    days,
    sstC: toCelsiusArray(sst, new Float64Array(sst.length)) as Float64Array,
    pixels,
    latDeg,
    lonDeg,
    variable,
    variables,
    readVariable(name) {
      const values = cache.get(name);
      if (values) return values;
      throw new InputFormatError(
        `NetCDF-4 variable ${name} was not read: name it in alsoRead (read: ${[...cache.keys()].join(', ')})`,
      );
    },
  };
}
