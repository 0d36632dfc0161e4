import { NotFoundError, type SatelliteObservation, ValidationError } from '@reefguard/core';
import type { Fetcher } from './fetcher.js';
import type { ProcessorMetrics } from './metrics.js';
import { SatelliteFileError } from './modis-l3m.js';
import type { OfflineStore } from './offline-store.js';
import { type QuarantinedItem, quarantinedItem } from './quarantine.js';
import { applySatelliteTurbidity, type SatelliteFeatureOptions } from './satellite-features.js';
import {
  DEFAULT_MIN_WATER_PIXELS,
  readSentinel2Turbidity,
  SENTINEL2_PRODUCT,
  sentinel2Observation,
} from './sentinel2-l2a.js';
import type { SiteProfile } from './sites.js';
import { searchStac } from './stac.js';

/** Degrees added around the sites' bounding box for the STAC search. */
const SEARCH_MARGIN_DEG = 0.01;

export interface Sentinel2IngestOptions {
  /** The STAC API (its base URL: `search` is resolved against it). */
  stac: Fetcher;
  collection?: string;
  /** Fetches the COGs (absolute asset URLs); the STAC fetcher's settings by default. */
  cogs?: Fetcher;
  sites: readonly SiteProfile[];
  offline: OfflineStore;
  /** Scenes whose eo:cloud_cover is above this are not searched (query extension). */
  maxCloudCoverPct?: number;
  radiusPx?: number;
  minWaterPixels?: number;
  /** When given, the turbidity also goes into the event state and the features. */
  features?: SatelliteFeatureOptions;
  metrics?: ProcessorMetrics;
  publish?: (observation: SatelliteObservation) => void;
  /** One line per scene (progress). */
  onScene?: (line: string) => void;
  now?: () => number;
  signal?: AbortSignal;
}

export interface Sentinel2IngestSummary {
  scenes: number;
  observations: number;
  /** Site-scenes with too few clear water pixels (cloud, shadow, land, snow, nodata). */
  masked: number;
  /** Items that cannot be used, with why (e.g. JPEG 2000 assets, no 20 m SCL). */
  skipped: { itemId: string; reason: string; detail: string }[];
  quarantined: QuarantinedItem[];
  featuresApplied: number;
  /** Cells of the gridded turbidity layer written to `grid_layers` (for chips). */
  gridCells: number;
}

/**
 * Searches the STAC API for L2A scenes over the sites between `startDay` and `endDay` (days
 * since epoch, inclusive), reads each scene's window around every site inside it, and stores
 * one turbidity observation per site and scene in `satellite_samples` (idempotent by id).
 */
export async function ingestSentinel2(
  startDay: number,
  endDay: number,
  options: Sentinel2IngestOptions,
): Promise<Sentinel2IngestSummary> {
  const now = options.now ?? Date.now;
  const minWater = options.minWaterPixels ?? DEFAULT_MIN_WATER_PIXELS;
  const summary: Sentinel2IngestSummary = {
    scenes: 0,
    observations: 0,
    masked: 0,
    skipped: [],
    quarantined: [],
    featuresApplied: 0,
    gridCells: 0,
  };
  if (options.sites.length === 0) return summary;
  const lons = options.sites.map((s) => s.lon);
  const lats = options.sites.map((s) => s.lat);
  const bbox = [
    Math.min(...lons) - SEARCH_MARGIN_DEG,
    Math.min(...lats) - SEARCH_MARGIN_DEG,
    Math.max(...lons) + SEARCH_MARGIN_DEG,
    Math.max(...lats) + SEARCH_MARGIN_DEG,
  ] as const;
  const datetime = `${new Date(startDay * 86_400_000).toISOString()}/${new Date((endDay + 1) * 86_400_000 - 1).toISOString()}`;
  const items = searchStac(
    options.stac,
    {
      ...(options.collection ? { collection: options.collection } : {}),
      bbox,
      datetime,
      ...(options.maxCloudCoverPct !== undefined
        ? { query: { 'eo:cloud_cover': { lte: options.maxCloudCoverPct } } }
        : {}),
    },
    options.signal,
  );
  for await (const item of items) {
    let values: Awaited<ReturnType<typeof readSentinel2Turbidity>>;
    try {
      values = await readSentinel2Turbidity(item, options.sites, {
        fetcher: options.cogs ?? options.stac,
        ...(options.radiusPx !== undefined ? { radiusPx: options.radiusPx } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (e) {
      if (e instanceof SatelliteFileError) {
        const q = quarantinedItem(SENTINEL2_PRODUCT, e.reason, e.message, item.id, now());
        summary.quarantined.push(q);
        options.metrics?.quarantined.inc({ source: q.source, reason: q.reason });
        await options.offline.appendQuarantine([q]);
        options.onScene?.(`${item.id}: quarantined (${e.reason}) ${e.message}`);
        continue;
      }
      if (e instanceof NotFoundError) {
        summary.skipped.push({ itemId: item.id, reason: 'missing_asset', detail: e.message });
        options.onScene?.(`${item.id}: skipped (missing_asset) ${e.message}`);
        continue;
      }
      if (e instanceof ValidationError) {
        summary.skipped.push({ itemId: item.id, reason: e.reason, detail: e.message });
        options.onScene?.(`${item.id}: skipped (${e.reason}) ${e.message}`);
        continue;
      }
      throw e;
    }
    summary.scenes += 1;
    const observations: SatelliteObservation[] = [];
    for (const value of values) {
      const site = options.sites.find((s) => s.siteId === value.siteId) as SiteProfile;
      if (value.water < minWater || !Number.isFinite(value.turbidityFnu)) {
        summary.masked += 1;
        continue;
      }
      const observation = sentinel2Observation(item, site, value);
      observations.push(observation);
      // The window as a gridded layer too, so chips can carry turbidity like DHW.
      summary.gridCells += await options.offline.appendGrid(
        {
          product: SENTINEL2_PRODUCT,
          variable: 'turbidity',
          sourceUri: observation.source_uri,
          days: Int32Array.of(Math.floor(Date.parse(observation.observed_at) / 86_400_000)),
          ...value.grid,
        },
        now(),
      );
    }
    await options.offline.appendSatellite(observations, now());
    for (const o of observations) options.publish?.(o);
    if (options.features) {
      summary.featuresApplied += (
        await applySatelliteTurbidity(options.features, observations)
      ).applied;
    }
    summary.observations += observations.length;
    const masked = values.length - observations.length;
    options.onScene?.(
      `${item.id}: ${values.length} sites in the scene, ${observations.length} with turbidity, ${masked} masked, ${summary.gridCells} grid cells so far`,
    );
  }
  return summary;
}
