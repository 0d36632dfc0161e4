import type { NoaaHeatStress } from '../crw/noaa-agreement.js';
import { type NetcdfSst, readNetcdfSst } from './netcdf-sst.js';
import { isHdf5, readNetcdf4Sst } from './netcdf4-sst.js';
import { csvNumber, parseCsvColumns, readSstCsv } from './sst-csv.js';
import { epochDayOf, type SstSeries } from './sst-series.js';
import { parseVirtualStation } from './virtual-station.js';

/** An SST file of any supported format, with what else it carries. */
export interface SstInput {
  format: 'netcdf' | 'netcdf4' | 'csv' | 'virtual-station';
  series: SstSeries;
  /** The MMM the file itself states (virtual stations), degC. */
  mmmC?: number;
  /** NOAA's own CRW values for the same rows, when the file holds them (ERDDAP, CRW tables). */
  noaa?: NoaaHeatStress;
}

const NETCDF_MAGIC = [0x43, 0x44, 0x46]; // "CDF"
const VIRTUAL_STATION_MARK = 'Averaged Maximum Monthly Mean';
/** NOAA's own products as ERDDAP names them, compared with ours when a NetCDF file has them. */
const CRW_VARIABLES = ['CRW_HOTSPOT', 'CRW_DHW', 'CRW_BAA', 'CRW_BAA_7D_MAX'];

/**
 * Reads an SST file by its content: NetCDF-3 ("CDF" magic), NetCDF-4 (the HDF5 signature), the
 * CRW virtual-station text (its "Averaged Maximum Monthly Mean" header), else a CSV with date
 * and sst columns.
 */
export async function readSstInput(bytes: Uint8Array): Promise<SstInput> {
  if (isHdf5(bytes)) {
    return netcdfInput('netcdf4', await readNetcdf4Sst(bytes, { alsoRead: CRW_VARIABLES }));
  }
  if (NETCDF_MAGIC.every((b, i) => bytes[i] === b)) {
    return netcdfInput('netcdf', readNetcdfSst(bytes));
  }
  return readTextSstInput(bytes);
}

function netcdfInput(format: 'netcdf' | 'netcdf4', nc: NetcdfSst): SstInput {
  const has = CRW_VARIABLES.every((name) => nc.variables.includes(name));
  const [hotspot, dhw, alertLevel, alertLevel7dMax] = has ? CRW_VARIABLES.map(nc.readVariable) : [];
  return {
    format,
    series: nc,
    ...(has
      ? {
          noaa: {
            hotspot: hotspot!,
            dhw: dhw!,
            alertLevel: alertLevel!,
            alertLevel7dMax: alertLevel7dMax!,
          },
        }
      : {}),
  };
}

function readTextSstInput(bytes: Uint8Array): SstInput {
  const text = new TextDecoder().decode(bytes);
  if (text.includes(VIRTUAL_STATION_MARK)) {
    const station = parseVirtualStation(text);
    return {
      format: 'virtual-station',
      mmmC: station.mmmC,
      series: {
        days: station.days,
        sstC: station.sst90thHsC,
        pixels: 1,
        latDeg: Float64Array.of(station.latDeg),
        lonDeg: Float64Array.of(station.lonDeg),
      },
    };
  }
  const series = readSstCsv(text);
  const columns = parseCsvColumns(text);
  const names = ['crw_hotspot', 'crw_dhw', 'crw_baa', 'crw_baa_7d_max'];
  if (!names.every((name) => columns.has(name))) return { format: 'csv', series };
  // Place NOAA's columns on the series' (day, pixel) grid; one pixel per (lat, lon) as read.
  const dates = columns.get('date') ?? columns.get('time')!;
  const lats = columns.get('lat') ?? columns.get('latitude');
  const lons = columns.get('lon') ?? columns.get('longitude');
  const rowOf = new Map(Array.from(series.days, (day, t) => [day, t]));
  const pixelOf = new Map<string, number>();
  series.latDeg.forEach((lat, p) => {
    pixelOf.set(`${lat},${series.lonDeg[p]}`, p);
  });
  const [hotspot, dhw, alertLevel, alertLevel7dMax] = names.map(() =>
    new Float64Array(series.sstC.length).fill(Number.NaN),
  ) as [Float64Array, Float64Array, Float64Array, Float64Array];
  dates.forEach((date, i) => {
    const pixel = pixelOf.get(`${csvNumber(lats?.[i])},${csvNumber(lons?.[i])}`) ?? 0;
    const at = rowOf.get(epochDayOf(date))! * series.pixels + pixel;
    hotspot[at] = csvNumber(columns.get('crw_hotspot')![i]);
    dhw[at] = csvNumber(columns.get('crw_dhw')![i]);
    alertLevel[at] = csvNumber(columns.get('crw_baa')![i]);
    alertLevel7dMax[at] = csvNumber(columns.get('crw_baa_7d_max')![i]);
  });
  return { format: 'csv', series, noaa: { hotspot, dhw, alertLevel, alertLevel7dMax } };
}
