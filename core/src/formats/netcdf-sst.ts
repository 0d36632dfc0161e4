import { NetCDFReader } from 'netcdfjs';
import { toCelsiusArray } from '../crw/units.js';
import { InputFormatError } from '../errors.js';
import type { SstSeries } from './sst-series.js';

/** SST variable names tried in order (CRW ERDDAP, GHRSST L4, OISST, generic). */
export const NETCDF_SST_VARIABLES = [
  'CRW_SST',
  'analysed_sst',
  'sea_surface_temperature',
  'sst',
  'SST',
] as const;

export interface NetcdfSst extends SstSeries {
  /** Name of the variable the SST came from. */
  variable: string;
  /** Every variable of the file. */
  variables: string[];
  /** A variable unpacked: scale_factor / add_offset applied, _FillValue and missing -> NaN. */
  readVariable(name: string): Float64Array;
}

const TIME_UNITS: Record<string, number> = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};

/** CF packing of a variable, from its attributes. */
export interface CfPacking {
  fill?: number | undefined;
  missing?: number | undefined;
  scale: number;
  offset: number;
  /** `_Unsigned = "true"` on a byte variable: negative values wrap to 128..255. */
  unsigned?: boolean;
}

/** Packed values unpacked: `_FillValue` / `missing_value` -> NaN, else v * scale + offset. */
export function unpackCf(raw: ArrayLike<number | bigint>, packing: CfPacking): Float64Array {
  const { fill, missing, scale, offset, unsigned } = packing;
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    let v = Number(raw[i]);
    if (unsigned && v < 0) v += 256;
    out[i] = v === fill || v === missing ? Number.NaN : v * scale + offset;
  }
  return out;
}

/** The SST variable: the first of NETCDF_SST_VARIABLES the file has, else a standard_name match. */
export function findSstVariable(
  variables: readonly string[],
  standardNameOf: (name: string) => unknown,
): string | undefined {
  return (
    NETCDF_SST_VARIABLES.find((name) => variables.includes(name)) ??
    variables.find((name) => standardNameOf(name) === 'sea_surface_temperature')
  );
}

/** Whole UTC days since 1970-01-01 of CF time values in `units` ("<unit> since <date>"). */
function cfTimeDays(values: Float64Array, units: string): Int32Array {
  const match = /^(seconds|minutes|hours|days) since (.+)$/.exec(units.trim());
  if (!match) {
    throw new InputFormatError(`NetCDF time units "${units}" are not "<unit> since <date>"`);
  }
  const originText = match[2]!.trim().replace(' ', 'T');
  const origin = Date.parse(
    /[zZ]|[+-]\d\d:?\d\d$/.test(originText) ? originText : `${originText}Z`,
  );
  if (Number.isNaN(origin)) {
    throw new InputFormatError(`NetCDF time units "${units}" name no readable date`);
  }
  const step = TIME_UNITS[match[1]!]!;
  return Int32Array.from(values, (v) => Math.floor((origin + v * step) / 86_400_000));
}

/**
 * The (time[, lat, lon]) layout both readers share: days of the time variable, the SST variable's
 * values and each pixel's latitude / longitude (row-major; one point: a single pixel).
 */
export function readCfLayout(
  variables: readonly string[],
  variable: string,
  file: {
    kind: string;
    readVariable: (name: string) => Float64Array;
    unitsOf: (name: string) => unknown;
    shapeOf?: (name: string) => string;
  },
) {
  const timeName = variables.find((name) => name === 'time' || name === 'Time');
  if (timeName === undefined) throw new InputFormatError(`${file.kind} file has no time variable`);
  const days = cfTimeDays(file.readVariable(timeName), String(file.unitsOf(timeName) ?? ''));
  const lat = ['latitude', 'lat'].find((name) => variables.includes(name));
  const lon = ['longitude', 'lon'].find((name) => variables.includes(name));
  const latValues = lat ? file.readVariable(lat) : Float64Array.of(Number.NaN);
  const lonValues = lon ? file.readVariable(lon) : Float64Array.of(Number.NaN);
  const sst = file.readVariable(variable);
  const pixels = sst.length / days.length;
  if (!Number.isInteger(pixels) || (lat && lon && pixels !== latValues.length * lonValues.length)) {
    const shape = file.shapeOf ? ` (shape ${file.shapeOf(variable)})` : '';
    throw new InputFormatError(
      `${file.kind} ${variable}${shape} is not laid out as (time, lat, lon)`,
    );
  }
  const latDeg = new Float64Array(pixels);
  const lonDeg = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) {
    latDeg[p] = pixels === 1 ? latValues[0]! : latValues[Math.floor(p / lonValues.length)]!;
    lonDeg[p] = pixels === 1 ? lonValues[0]! : lonValues[p % lonValues.length]!;
  }
  return { days, sst, pixels, latDeg, lonDeg };
}

interface Attribute {
  name: string;
  value: unknown;
}
const attribute = (reader: NetCDFReader, variable: string, name: string): unknown =>
  ((reader.variables.find((v) => v.name === variable)?.attributes ?? []) as Attribute[]).find(
    (a) => a.name === name,
  )?.value;

const scalar = (value: unknown): number | undefined => {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'number' ? v : undefined;
};

/**
 * Reads a NetCDF-3 (classic or 64-bit offset) SST file such as the CRW ERDDAP download:
 * a time coordinate in "<unit> since <date>", latitude/longitude coordinates and an SST
 * variable over (time[, lat, lon]). Kelvin values are converted to degC.
 */
export function readNetcdfSst(bytes: Uint8Array, options: { variable?: string } = {}): NetcdfSst {
  let reader: NetCDFReader;
  try {
    reader = new NetCDFReader(bytes);
  } catch (cause) {
    throw new InputFormatError('not a NetCDF-3 file (NetCDF-4/HDF5 is not read here)', { cause });
  }
  const variables = reader.variables.map((v) => v.name);
  const readVariable = (name: string): Float64Array => {
    if (!variables.includes(name)) {
      throw new InputFormatError(
        `NetCDF variable ${name} not found; it has ${variables.join(', ')}`,
      );
    }
    const raw = (reader.getDataVariable(name) as unknown[]).flat(2) as number[];
    // NetCDF-3 pads byte and short variables to 4 bytes: keep the values the dimensions hold.
    const dims = (reader.variables.find((v) => v.name === name)?.dimensions ?? []) as number[];
    const sizes = reader.dimensions as { size: number }[];
    const recordLength = (reader.recordDimension as { length?: number }).length ?? 0;
    const count = dims.reduce((n, id) => n * (sizes[id]?.size || recordLength), 1);
    if (raw.length > count) raw.length = count;
    return unpackCf(raw, {
      fill: scalar(attribute(reader, name, '_FillValue')),
      missing: scalar(attribute(reader, name, 'missing_value')),
      scale: scalar(attribute(reader, name, 'scale_factor')) ?? 1,
      offset: scalar(attribute(reader, name, 'add_offset')) ?? 0,
      unsigned: attribute(reader, name, '_Unsigned') === 'true',
    });
  };
  const variable =
    options.variable ??
    findSstVariable(variables, (name) => attribute(reader, name, 'standard_name'));
  if (variable === undefined) {
    throw new InputFormatError(
      `no SST variable in the NetCDF file (looked for ${NETCDF_SST_VARIABLES.join(', ')}); pass its name`,
    );
  }
  const { days, sst, pixels, latDeg, lonDeg } = readCfLayout(variables, variable, {
    kind: 'NetCDF',
    readVariable,
    unitsOf: (name) => attribute(reader, name, 'units'),
  });
  return {
    days,
    sstC: toCelsiusArray(sst, sst) as Float64Array,
    pixels,
    latDeg,
    lonDeg,
    variable,
    variables,
    readVariable,
  };
}
