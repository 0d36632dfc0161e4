import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  CONTEXT_UNKNOWN_VALUE,
  contextFeatureKey,
  FEATURE_SET_VERSION,
  FEATURES,
  type FeatureName,
  InputFormatError,
  TransportError,
} from '@reefguard/core';
import type { Redis } from 'ioredis';
import { GBR_CONTEXT_FILES, type GbrContext, openGbrContext } from './backfill/gbr-context.js';
import { sqlString } from './backfill/observation-file.js';
import { gbrFeatureLayers } from './backfill/training-rows.js';

/** The slow features of the catalog: what `reefguard:context:{site}` holds. */
export const CONTEXT_FEATURE_NAMES: readonly FeatureName[] = FEATURES.filter(
  (f) => f.cadence !== 'daily',
).map((f) => f.name);

/**
 * Daily features no GBR source of the product observes: GCBD survey rows carry CoRTAD wind,
 * every GBR training row has it NaN, so the model learned a default for GBR sites. They are
 * stored as unknown (`NaN`) in the context hash; a daily value, once some source writes one,
 * wins over it.
 */
export const GBR_UNOBSERVED_DAILY_FEATURES: readonly FeatureName[] = ['wind_speed_ms'];

/** One site's slow features: a number, NaN (unknown, as in training) or absent (not computed). */
export interface SiteContextFeatures {
  readonly siteId: string;
  readonly values: Partial<Record<FeatureName, number>>;
}

export interface ContextFeatures {
  /** The year the yearly features are for. */
  readonly year: number;
  readonly asOf: string;
  readonly computedAt: string;
  readonly dataVersion: string;
  readonly sites: readonly SiteContextFeatures[];
  /** Features left out of every site (a year beyond the shipped tables), with the reason. */
  readonly absent: readonly { feature: FeatureName; reason: string }[];
  /** Features stored as unknown (NaN) for every site, with the reason. */
  readonly unknown: readonly { feature: FeatureName; reason: string }[];
  /**
   * Serving's chip layers file (`REEFGUARD_CHIP_LAYERS_FILE`): every reef pixel with the
   * year's gridded features, the very layers the training set cuts its ViT chips from
   * (`dhw_max_ytd` is the year's annual maximum DHW there too). A layer of a year the
   * shipped tables lack is left out, so a chip model answers degraded naming it.
   */
  readonly chipLayers: { columns: string[]; rows: (string | number | null)[][] };
}

export interface ContextFeatureOptions {
  /** The product's GBR context tables (data/sample). */
  dataDir: string;
  year: number;
  now?: Date;
}

const pixelSiteId = (pixelId: number) => `pixel-${pixelId}`;

/**
 * Every pixel that is a stream-processor site (see `loadGbrSites`: climatology known), with
 * its REEF_ID or null.
 */
async function reefOfPixels(dataDir: string): Promise<Map<number, string | null>> {
  const path = join(dataDir, GBR_CONTEXT_FILES.environment);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT PIXEL_ID AS pixel, REEF_ID AS reef FROM read_parquet(${sqlString(path)})
       WHERE MT_SST_MIN IS NOT NULL AND MT_SST_SR IS NOT NULL`,
    );
    return new Map(
      reader
        .getRowObjectsJS()
        .map((row) => [Number(row.pixel), row.reef === null ? null : String(row.reef)]),
    );
  } catch (cause) {
    throw new InputFormatError(`cannot read REEF_ID of the GBR pixels from ${path}`, { cause });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function meanIgnoringNaN(values: readonly number[]): number {
  const known = values.filter((v) => Number.isFinite(v));
  return known.length === 0 ? Number.NaN : known.reduce((a, b) => a + b, 0) / known.length;
}

/**
 * The static features, and the yearly ones for `year`, of every GBR site the stream processor
 * knows: each reef pixel as `pixel-<PIXEL_ID>` with exactly the values a training row of that
 * pixel and year gets (`gbrFeatureLayers`), and each reef (REEF_ID) with the mean of its
 * pixels' values, as `loadGbrSites` averages their climatology. A yearly feature whose year is
 * beyond the shipped tables is absent (serving then names it missing), never guessed.
 */
export async function computeContextFeatures(
  options: ContextFeatureOptions,
): Promise<ContextFeatures> {
  const { dataDir, year } = options;
  if (!Number.isInteger(year) || year < 1900 || year > 2200) {
    throw new RangeError(`year must be a calendar year such as 2016, got ${year}`);
  }
  const context: GbrContext = await openGbrContext(dataDir);
  const reefOf = await reefOfPixels(dataDir);
  const layers = gbrFeatureLayers(context, year);

  const absent: { feature: FeatureName; reason: string }[] = [];
  const unknown: { feature: FeatureName; reason: string }[] = [];
  const yearOfLayer: Partial<Record<FeatureName, { year: number; has: boolean }>> = {
    dhw_prev_year_max: { year: year - 1, has: context.annualMaxDhw(year - 1) !== undefined },
    cyclone_exposure_h: { year, has: context.cycloneHours(year) !== undefined },
  };
  const columns: { name: FeatureName; layer: Float64Array | null }[] = [];
  for (const name of CONTEXT_FEATURE_NAMES) {
    const yearly = yearOfLayer[name];
    if (yearly && !yearly.has) {
      absent.push({
        feature: name,
        reason: `the shipped tables have no ${yearly.year} (${name === 'dhw_prev_year_max' ? GBR_CONTEXT_FILES.dhw : GBR_CONTEXT_FILES.cyclones})`,
      });
      continue;
    }
    const layer = layers[name];
    if (!layer) {
      unknown.push({
        feature: name,
        reason: 'the GBR tables have no such column; NaN in every GBR training row as well',
      });
    }
    columns.push({ name, layer: layer ?? null });
  }
  for (const name of GBR_UNOBSERVED_DAILY_FEATURES) {
    unknown.push({
      feature: name,
      reason: 'no GBR source observes it; NaN in every GBR training row as well',
    });
    columns.push({ name, layer: null });
  }

  const pixelValues = (i: number): Partial<Record<FeatureName, number>> => {
    const values: Partial<Record<FeatureName, number>> = {};
    for (const { name, layer } of columns) values[name] = layer ? (layer[i] as number) : Number.NaN;
    return values;
  };
  const sites: SiteContextFeatures[] = [];
  const pixelsOfReef = new Map<string, number[]>();
  for (let i = 0; i < context.pixels; i++) {
    const pixelId = context.pixelId[i] as number;
    const reef = reefOf.get(pixelId);
    if (reef === undefined) continue; // not a site of the stream processor (no climatology)
    sites.push({ siteId: pixelSiteId(pixelId), values: pixelValues(i) });
    if (reef === null) continue;
    const members = pixelsOfReef.get(reef);
    if (members) members.push(i);
    else pixelsOfReef.set(reef, [i]);
  }
  for (const [reef, members] of pixelsOfReef) {
    const values: Partial<Record<FeatureName, number>> = {};
    for (const { name, layer } of columns) {
      values[name] = layer ? meanIgnoringNaN(members.map((i) => layer[i] as number)) : Number.NaN;
    }
    sites.push({ siteId: reef, values });
  }
  if (sites.length === 0) {
    throw new InputFormatError(`no GBR site with climatology in ${dataDir}`);
  }

  const chipChannels = (Object.keys(layers) as FeatureName[]).filter((name) => {
    const yearly =
      name === 'dhw_max_ytd'
        ? { has: context.annualMaxDhw(year) !== undefined }
        : yearOfLayer[name];
    return !yearly || yearly.has;
  });
  const chipRows: (string | number | null)[][] = [];
  for (let i = 0; i < context.pixels; i++) {
    const pixelId = context.pixelId[i] as number;
    if (!reefOf.has(pixelId)) continue;
    chipRows.push([
      pixelSiteId(pixelId),
      ...chipChannels.map((name) => {
        const value = (layers[name] as Float64Array)[i] as number;
        return Number.isFinite(value) ? value : null;
      }),
    ]);
  }

  const dataVersion = createHash('sha256')
    .update(context.sources.map((s) => `${s.path}:${s.sha256}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  return {
    year,
    asOf: `${year}-01-01T00:00:00.000Z`,
    computedAt: (options.now ?? new Date()).toISOString(),
    dataVersion,
    sites,
    absent,
    unknown,
    chipLayers: { columns: ['site_id', ...chipChannels], rows: chipRows },
  };
}

/** The fields of one site's context hash (layout of core/src/features/online.ts). */
export function contextHashFields(
  features: ContextFeatures,
  site: SiteContextFeatures,
): Record<string, string> {
  const fields: Record<string, string> = {
    as_of: features.asOf,
    computed_at: features.computedAt,
    feature_set_version: FEATURE_SET_VERSION,
    data_version: features.dataVersion,
  };
  for (const [name, value] of Object.entries(site.values)) {
    fields[name] = Number.isFinite(value) ? String(value) : CONTEXT_UNKNOWN_VALUE;
  }
  return fields;
}

export interface WriteContextOptions {
  /** Sites per MULTI/EXEC round trip (default 500). */
  batchSize?: number;
  onProgress?: (written: number, total: number) => void;
}

/**
 * Writes every site's context hash, replacing the previous one (DEL + HSET, so a feature that
 * became absent does not linger), in MULTI/EXEC batches: one round trip per batch, each batch
 * atomic, a re-run with the same data writes the same hashes. No TTL. Returns the count.
 */
export async function writeContextFeatures(
  redis: Redis,
  features: ContextFeatures,
  options: WriteContextOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  let written = 0;
  for (let start = 0; start < features.sites.length; start += batchSize) {
    const batch = features.sites.slice(start, start + batchSize);
    const multi = redis.multi();
    for (const site of batch) {
      const key = contextFeatureKey(site.siteId);
      multi.del(key).hset(key, contextHashFields(features, site));
    }
    const replies = await multi.exec().catch((cause: unknown) => {
      throw new TransportError('the online feature store (Redis) did not take the context', {
        cause,
      });
    });
    const failed = (replies ?? []).find(([error]) => error);
    if (!replies || failed) {
      throw new TransportError(
        `Redis refused a context batch at site ${batch[0]?.siteId}: ${String(failed?.[0] ?? 'transaction aborted')}`,
      );
    }
    written += batch.length;
    options.onProgress?.(written, features.sites.length);
  }
  return written;
}
