import {
  InputFormatError,
  isoDateOf,
  parseVirtualStation,
  type SatelliteObservation,
} from '@reefguard/core';
import {
  CRW_PRODUCT,
  CRW_VARIABLES,
  type CrwVariable,
  readCrwGrid,
  sampleCrwAtSites,
} from './crw-grid.js';
import type { Fetcher } from './fetcher.js';
import type { ProcessorMetrics } from './metrics.js';
import { SatelliteFileError } from './modis-l3m.js';
import type { OfflineStore } from './offline-store.js';
import { type QuarantinedItem, quarantinedItem } from './quarantine.js';
import type { SiteProfile } from './sites.js';

/** PacIOOS ERDDAP serves the CRW 5 km daily products as `dhw_5km`. */
export const DEFAULT_CRW_ERDDAP_URL = 'https://pae-paha.pacioos.hawaii.edu/erddap/griddap/';
export const CRW_ERDDAP_DATASET = 'dhw_5km';
/** NOAA's daily ct5km DHW files (one global NetCDF-4 per day). */
export const DEFAULT_CRW_DAILY_PATTERN = 'ct5km_dhw_v3.1_{yyyymmdd}.nc';
/** Layers kept as grids for the ViT chips (DHW -> dhw_max_ytd / dhw_prev_year_max) and maps. */
export const CRW_GRID_VARIABLES: readonly CrwVariable[] = ['dhw', 'ssta'];
/** Days per ERDDAP request: a year of the GBR box is ~100 MB of NetCDF-3. */
export const ERDDAP_CHUNK_DAYS = 31;

/** [west, south, east, north] of the sites, padded by one 5 km cell. */
export function sitesBox(sites: readonly SiteProfile[]): [number, number, number, number] {
  const lats = sites.map((s) => s.lat);
  const lons = sites.map((s) => s.lon);
  return [
    Math.min(...lons) - 0.05,
    Math.min(...lats) - 0.05,
    Math.max(...lons) + 0.05,
    Math.max(...lats) + 0.05,
  ];
}

/**
 * An ERDDAP griddap query for the CRW variables over a box and days, as ERDDAP writes them:
 * `dhw_5km.nc?CRW_DHW[(start):1:(end)][(north):1:(south)][(west):1:(east)],...` (latitude
 * descending in this dataset, so north comes first).
 */
export function crwErddapQuery(
  startDay: number,
  endDay: number,
  box: readonly [number, number, number, number],
  variables: readonly CrwVariable[] = Object.keys(CRW_VARIABLES) as CrwVariable[],
): string {
  const [west, south, east, north] = box.map((v) => v.toFixed(3));
  const range = `[(${isoDateOf(startDay)}T12:00:00Z):1:(${isoDateOf(endDay)}T12:00:00Z)][(${north}):1:(${south})][(${west}):1:(${east})]`;
  const names = variables.map((v) => `${CRW_VARIABLES[v].names[0]}${range}`).join(',');
  return `${CRW_ERDDAP_DATASET}.nc?${encodeURI(names).replaceAll(',', '%2C')}`;
}

export interface CrwIngestOptions {
  fetcher: Fetcher;
  sites: readonly SiteProfile[];
  offline: OfflineStore;
  gridVariables?: readonly CrwVariable[];
  metrics?: ProcessorMetrics;
  publish?: (observation: SatelliteObservation) => void;
  onFile?: (line: string) => void;
  now?: () => number;
}

export interface CrwIngestSummary {
  files: number;
  samples: number;
  gridCells: number;
  missing: string[];
  quarantined: QuarantinedItem[];
}

/**
 * Fetches each CRW file (`paths` under the fetcher's base URL: ERDDAP queries or daily file
 * names), samples every variable at the sites in `satellite_samples` and keeps the grid
 * layers in `grid_layers`. Corrupt/truncated files are quarantined; 404s reported missing.
 */
export async function ingestCrwFiles(
  paths: readonly string[],
  options: CrwIngestOptions,
): Promise<CrwIngestSummary> {
  const now = options.now ?? Date.now;
  const summary = emptySummary();
  for await (const { path, bytes, uri } of fetchedFiles(paths, options.fetcher, summary)) {
    try {
      const grid = await readCrwGrid(bytes, path);
      const samples = sampleCrwAtSites(grid, options.sites, uri);
      const ingestedMs = now();
      await options.offline.appendSatellite(samples, ingestedMs);
      for (const variable of options.gridVariables ?? CRW_GRID_VARIABLES) {
        const values = grid.layers[variable];
        if (!values) continue;
        summary.gridCells += await options.offline.appendGrid(
          {
            product: CRW_PRODUCT,
            variable,
            sourceUri: uri,
            days: grid.days,
            lat: grid.lat,
            lon: grid.lon,
            values,
          },
          ingestedMs,
        );
      }
      for (const s of samples) options.publish?.(s);
      summary.files += 1;
      summary.samples += samples.length;
      options.onFile?.(
        `${path.slice(0, 80)}: ${grid.days.length} days x ${grid.lat.length} x ${grid.lon.length} cells, ${samples.length} site samples`,
      );
    } catch (e) {
      if (!(e instanceof SatelliteFileError)) throw e;
      await quarantine(options, summary, CRW_PRODUCT, e, path, now());
    }
  }
  return summary;
}

const emptySummary = (): CrwIngestSummary => ({
  files: 0,
  samples: 0,
  gridCells: 0,
  missing: [],
  quarantined: [],
});

/** Each file's bytes and URI, in order; a 404 is recorded in `summary.missing` and skipped. */
async function* fetchedFiles(
  paths: readonly string[],
  fetcher: Fetcher,
  summary: { missing: string[] },
) {
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await fetcher.get(path);
    } catch (e) {
      if ((e as Error).name !== 'NotFoundError') throw e;
      summary.missing.push(path);
      continue;
    }
    yield { path, bytes, uri: fetcher.url(path) };
  }
}

async function quarantine(
  options: { offline: OfflineStore; metrics?: ProcessorMetrics; onFile?: (line: string) => void },
  summary: { quarantined: QuarantinedItem[] },
  source: string,
  e: SatelliteFileError,
  path: string,
  atMs: number,
) {
  const item = quarantinedItem(source, e.reason, e.message, path, atMs);
  summary.quarantined.push(item);
  options.metrics?.quarantined.inc({ source: item.source, reason: item.reason });
  await options.offline.appendQuarantine([item]);
  options.onFile?.(`${path.slice(0, 80)}: quarantined (${e.reason}) ${e.message}`);
}

export const VIRTUAL_STATION_PRODUCT = 'crw-virtual-station';
/** Sites within this distance of a virtual station's polygon middle take its values. */
export const DEFAULT_VIRTUAL_STATION_RADIUS_KM = 50;

const VS_COLUMNS = [
  ['sst', 'sst90thHsC', 'degC'],
  ['ssta', 'ssta90thHsC', 'degC'],
  ['hotspot', 'hotspot90th', 'degC'],
  ['dhw', 'dhw90th', 'degC-weeks'],
  ['baa_7d_max', 'alertLevel7dMax', '1'],
] as const;

/** Great-circle distance (km) on a 6371 km sphere. */
function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Ingests CRW virtual-station text files: the station's daily values (at its 90th-percentile
 * HotSpot pixel) between `startDay` and `endDay` become observations of every site within
 * `radiusKm` of the station's polygon middle. Days before the first valid DHW are skipped.
 */
export async function ingestVirtualStations(
  paths: readonly string[],
  startDay: number,
  endDay: number,
  options: CrwIngestOptions & { radiusKm?: number },
): Promise<CrwIngestSummary> {
  const now = options.now ?? Date.now;
  const radius = options.radiusKm ?? DEFAULT_VIRTUAL_STATION_RADIUS_KM;
  const summary = emptySummary();
  for await (const { path, bytes, uri } of fetchedFiles(paths, options.fetcher, summary)) {
    let station: ReturnType<typeof parseVirtualStation>;
    try {
      station = parseVirtualStation(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (cause) {
      const e = new SatelliteFileError(
        `${path} is not a CRW virtual-station file: ${(cause as Error).message}`,
        cause instanceof InputFormatError && /row \d+/.test(cause.message)
          ? 'truncated_file'
          : 'corrupt_file',
        { cause },
      );
      await quarantine(options, summary, VIRTUAL_STATION_PRODUCT, e, path, now());
      continue;
    }
    const near = options.sites.filter(
      (s) => distanceKm(s.lat, s.lon, station.latDeg, station.lonDeg) <= radius,
    );
    const samples: SatelliteObservation[] = [];
    for (let t = 0; t < station.days.length; t++) {
      const day = station.days[t] as number;
      if (day < startDay || day > endDay) continue;
      const date = isoDateOf(day);
      for (const site of near) {
        for (const [variable, column, unit] of VS_COLUMNS) {
          if (variable !== 'sst' && variable !== 'ssta' && day < station.firstValidDhwDay) continue;
          const value = station[column][t] as number;
          if (!Number.isFinite(value)) continue;
          samples.push({
            schema_version: 1,
            id: `${VIRTUAL_STATION_PRODUCT}/${variable}/${site.siteId}/${date}`,
            product: VIRTUAL_STATION_PRODUCT,
            variable,
            site_id: site.siteId,
            lat: station.latDeg,
            lon: station.lonDeg,
            value,
            unit,
            observed_at: `${date}T12:00:00.000Z`,
            source_uri: uri,
          });
        }
      }
    }
    await options.offline.appendSatellite(samples, now());
    for (const s of samples) options.publish?.(s);
    summary.files += 1;
    summary.samples += samples.length;
    options.onFile?.(
      `${path}: station ${station.name}, ${near.length} sites within ${radius} km, ${samples.length} samples`,
    );
  }
  return summary;
}
