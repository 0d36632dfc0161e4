import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { InputFormatError } from '@reefguard/core';
import { sqlString } from './observation-file.js';

/** The product's own GBR data the features are built from (data/sample, see SOURCES.md). */
export const GBR_CONTEXT_FILES = {
  dhw: 'gbr_dhw_annual_max_1985_2017.parquet',
  environment: 'gbr_environmental.parquet',
  cyclones: 'gbr_cyclones_1985_2017.parquet',
} as const;

/** How far (degrees) an observation may lie from a reef pixel and still be that pixel. */
export const DEFAULT_SITE_TOLERANCE_DEG = 0.02;

const INDEX_CELL_DEG = 0.01;

/** A data file the training set was built from, recorded in the manifest. */
export interface SourceFile {
  readonly path: string;
  readonly sha256: string;
  readonly format: string;
}

/** Per reef pixel of the shipped GBR table: position, statics and yearly products. */
export interface GbrContext {
  readonly pixels: number;
  readonly pixelId: Int32Array;
  readonly lonDeg: Float64Array;
  readonly latDeg: Float64Array;
  /** MT_SST_AV, MT_SST_SR (degC), SW_K490_AV (1/m), depth (m, positive down). */
  readonly sstClimMeanC: Float64Array;
  readonly sstClimRangeC: Float64Array;
  readonly k490PerM: Float64Array;
  readonly depthM: Float64Array;
  /** CRW annual maximum DHW (degC-weeks) of a year; undefined outside the shipped years. */
  annualMaxDhw(year: number): Float64Array | undefined;
  /** Hours of >= 4 m cyclone waves in a year; undefined outside the shipped years. */
  cycloneHours(year: number): Float64Array | undefined;
  /** The pixel an observation belongs to (PIXEL_ID, else nearest within tolerance); -1 if none. */
  matchSite(pixelId: number | null, lonDeg: number | null, latDeg: number | null): number;
  readonly sources: readonly SourceFile[];
}

export async function hashFile(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

function toFloat64(values: readonly unknown[]): Float64Array {
  return Float64Array.from(values, (v) => (v === null || v === undefined ? Number.NaN : Number(v)));
}

async function yearColumns(
  connection: DuckDBConnection,
  path: string,
  prefix: string,
): Promise<number[]> {
  const described = await connection.runAndReadAll(
    `DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`,
  );
  const pattern = new RegExp(`^${prefix}(\\d{4})$`);
  return described
    .getRowObjectsJS()
    .map((row) => pattern.exec(String(row.column_name)))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

/**
 * Loads the GBR pixel table (annual maximum DHW, statics, cyclone exposure) joined by
 * PIXEL_ID, in PIXEL_ID order, and indexes pixel positions for nearest-site matching.
 */
export async function loadGbrContext(
  connection: DuckDBConnection,
  dataDir: string,
  toleranceDeg = DEFAULT_SITE_TOLERANCE_DEG,
): Promise<GbrContext> {
  const paths = {
    dhw: join(dataDir, GBR_CONTEXT_FILES.dhw),
    environment: join(dataDir, GBR_CONTEXT_FILES.environment),
    cyclones: join(dataDir, GBR_CONTEXT_FILES.cyclones),
  };
  let columns: Record<string, unknown[]>;
  let dhwYears: number[];
  let cycloneYears: number[];
  try {
    dhwYears = await yearColumns(connection, paths.dhw, 'annMaxDHW_');
    cycloneYears = await yearColumns(connection, paths.cyclones, 'Hs4MW_');
    const select = [
      'd.PIXEL_ID AS pixel_id',
      'd.lon AS lon',
      'd.lat AS lat',
      'e.MT_SST_AV AS sst_clim_mean',
      'e.MT_SST_SR AS sst_clim_range',
      'e.SW_K490_AV AS k490',
      // GBR_BATHY is elevation (negative below sea level); a few reef-flat pixels are above 0.
      'greatest(-e.GBR_BATHY, 0) AS depth_m',
      ...dhwYears.map((y) => `d.annMaxDHW_${y} AS dhw_${y}`),
      ...cycloneYears.map((y) => `TRY_CAST(c.Hs4MW_${y} AS DOUBLE) AS cyclone_${y}`),
    ].join(', ');
    const reader = await connection.runAndReadAll(
      `SELECT ${select} FROM read_parquet(${sqlString(paths.dhw)}) d
       JOIN read_parquet(${sqlString(paths.environment)}) e USING (PIXEL_ID)
       LEFT JOIN read_parquet(${sqlString(paths.cyclones)}) c USING (PIXEL_ID)
       ORDER BY d.PIXEL_ID`,
    );
    columns = reader.getColumnsObjectJS() as Record<string, unknown[]>;
  } catch (cause) {
    throw new InputFormatError(
      `cannot read the GBR context tables in ${dataDir} (${Object.values(GBR_CONTEXT_FILES).join(', ')}): ${String(cause)}`,
      { cause },
    );
  }
  const column = (name: string) => toFloat64(columns[name] ?? []);
  const pixelId = Int32Array.from(columns.pixel_id ?? [], (v) => Number(v));
  const lonDeg = column('lon');
  const latDeg = column('lat');
  const dhwByYear = new Map(dhwYears.map((y) => [y, column(`dhw_${y}`)]));
  const cycloneByYear = new Map(cycloneYears.map((y) => [y, column(`cyclone_${y}`)]));
  const rowOfPixel = new Map(Array.from(pixelId, (id, i) => [id, i]));

  // Hash grid of 0.01 degree cells: nearest-pixel search looks at a few cells only.
  const grid = new Map<string, number[]>();
  const cellOf = (deg: number) => Math.floor(deg / INDEX_CELL_DEG + 1e-9);
  for (let i = 0; i < pixelId.length; i++) {
    const key = `${cellOf(lonDeg[i] as number)},${cellOf(latDeg[i] as number)}`;
    const bucket = grid.get(key);
    if (bucket) bucket.push(i);
    else grid.set(key, [i]);
  }
  const reach = Math.ceil(toleranceDeg / INDEX_CELL_DEG);
  const nearest = (lon: number, lat: number): number => {
    const cosLat = Math.cos((lat * Math.PI) / 180);
    let best = -1;
    let bestDistance = toleranceDeg;
    for (let dx = -reach; dx <= reach; dx++) {
      for (let dy = -reach; dy <= reach; dy++) {
        for (const i of grid.get(`${cellOf(lon) + dx},${cellOf(lat) + dy}`) ?? []) {
          const distance = Math.hypot(
            ((lonDeg[i] as number) - lon) * cosLat,
            (latDeg[i] as number) - lat,
          );
          if (distance <= bestDistance) {
            bestDistance = distance;
            best = i;
          }
        }
      }
    }
    return best;
  };

  const sources = await Promise.all(
    Object.values(paths).map(async (path) => ({
      path: basename(path),
      sha256: await hashFile(path),
      format: 'gbr-context-parquet',
    })),
  );

  return {
    pixels: pixelId.length,
    pixelId,
    lonDeg,
    latDeg,
    sstClimMeanC: column('sst_clim_mean'),
    sstClimRangeC: column('sst_clim_range'),
    k490PerM: column('k490'),
    depthM: column('depth_m'),
    annualMaxDhw: (year) => dhwByYear.get(year),
    cycloneHours: (year) => cycloneByYear.get(year),
    matchSite(id, lon, lat) {
      const byId = id === null ? undefined : rowOfPixel.get(id);
      const hasPosition =
        lon !== null && lat !== null && Number.isFinite(lon) && Number.isFinite(lat);
      if (byId !== undefined) {
        if (!hasPosition) return byId;
        const far =
          Math.abs((lonDeg[byId] as number) - lon) > toleranceDeg ||
          Math.abs((latDeg[byId] as number) - lat) > toleranceDeg;
        // A PIXEL_ID from another numbering: trust the coordinates instead.
        if (!far) return byId;
      }
      return hasPosition ? nearest(lon, lat) : -1;
    },
    sources,
  };
}

/** `loadGbrContext` on a private in-memory DuckDB, closed before returning. */
export async function openGbrContext(dataDir: string): Promise<GbrContext> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return await loadGbrContext(connection, dataDir);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
