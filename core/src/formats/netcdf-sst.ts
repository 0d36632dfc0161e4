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
    const fill = scalar(attribute(reader, name, '_FillValue'));
    const missing = scalar(attribute(reader, name, 'missing_value'));
    const scale = scalar(attribute(reader, name, 'scale_factor')) ?? 1;
    const offset = scalar(attribute(reader, name, 'add_offset')) ?? 0;
    const unsigned = attribute(reader, name, '_Unsigned') === 'true';
    const out = new Float64Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      let v = raw[i]!;
      if (unsigned && v < 0) v += 256;
      out[i] = v === fill || v === missing ? Number.NaN : v * scale + offset;
    }
    return out;
  };
  const variable =
    options.variable ??
    NETCDF_SST_VARIABLES.find((name) => variables.includes(name)) ??
    variables.find(
      (name) => attribute(reader, name, 'standard_name') === 'sea_surface_temperature',
    );
  if (variable === undefined) {
    throw new InputFormatError(
      `no SST variable in the NetCDF file (looked for ${NETCDF_SST_VARIABLES.join(', ')}); pass its name`,
    );
  }
  const timeName = variables.find((name) => name === 'time' || name === 'Time');
  if (timeName === undefined) throw new InputFormatError('NetCDF file has no time variable');
  const units = String(attribute(reader, timeName, 'units') ?? '');
  const match = /^(seconds|minutes|hours|days) since (.+)$/.exec(units.trim());
  if (!match)
    throw new InputFormatError(`NetCDF time units "${units}" are not "<unit> since <date>"`);
  const originText = match[2]!.trim().replace(' ', 'T');
  const origin = Date.parse(
    /[zZ]|[+-]\d\d:?\d\d$/.test(originText) ? originText : `${originText}Z`,
  );
  const step = TIME_UNITS[match[1]!]!;
  const times = readVariable(timeName);
  const days = Int32Array.from(times, (v) => Math.floor((origin + v * step) / 86_400_000));

  const lat = ['latitude', 'lat'].find((name) => variables.includes(name));
  const lon = ['longitude', 'lon'].find((name) => variables.includes(name));
  const latValues = lat ? readVariable(lat) : Float64Array.of(Number.NaN);
  const lonValues = lon ? readVariable(lon) : Float64Array.of(Number.NaN);
  const sst = readVariable(variable);
  const pixels = sst.length / days.length;
  if (!Number.isInteger(pixels) || (lat && lon && pixels !== latValues.length * lonValues.length)) {
    throw new InputFormatError(`NetCDF ${variable} is not laid out as (time, lat, lon)`);
  }
  const latDeg = new Float64Array(pixels);
  const lonDeg = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) {
    latDeg[p] = pixels === 1 ? latValues[0]! : latValues[Math.floor(p / lonValues.length)]!;
    lonDeg[p] = pixels === 1 ? lonValues[0]! : lonValues[p % lonValues.length]!;
  }
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
