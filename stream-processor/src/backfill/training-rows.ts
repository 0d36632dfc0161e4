import {
  broadcastChip,
  type ChipRaster,
  type ChipSpec,
  chipLength,
  createChipRaster,
  FEATURE_NAMES,
  type FeatureName,
} from '@reefguard/core';
import type { GbrContext } from './gbr-context.js';
import type { Observation, QuarantinedRow } from './observation.js';

/** An observation joined point-in-time with its features, ready for Parquet or a model. */
export interface TrainingRow extends Observation {
  readonly rowId: number;
  /** One value per name of `FEATURE_NAMES`, NaN where unknown. */
  readonly values: Float64Array;
}

export interface TrainingRows {
  readonly featureNames: readonly FeatureName[];
  readonly rows: readonly TrainingRow[];
  readonly chipSpec: ChipSpec;
  /** Chips of all rows back to back, float32 [rows, channels, size, size]. */
  readonly chips: Float32Array;
  /** Duplicates found while joining. */
  readonly quarantined: readonly QuarantinedRow[];
}

type Layers = Partial<Record<FeatureName, Float64Array>>;

/**
 * Every feature of the GBR pixel table as known at a survey of `year` (see the README's
 * "Training sets and evaluation"): the year's annual maximum DHW as dhw_max_ytd, the previous
 * year's as dhw_prev_year_max, the year's cyclone wave hours, and statics. Nothing from a
 * later year is read.
 */
export function gbrFeatureLayers(context: GbrContext, year: number): Layers {
  const unknown = () => new Float64Array(context.pixels).fill(Number.NaN);
  return {
    dhw_max_ytd: context.annualMaxDhw(year) ?? unknown(),
    dhw_prev_year_max: context.annualMaxDhw(year - 1) ?? unknown(),
    cyclone_exposure_h: context.cycloneHours(year) ?? unknown(),
    sst_clim_mean: context.sstClimMeanC,
    sst_clim_range: context.sstClimRangeC,
    k490: context.k490PerM,
    depth_m: context.depthM,
    latitude: context.latDeg,
  };
}

function dedupeKey(o: Observation): string {
  return o.source === 'gbr-aerial'
    ? `${o.source}|${o.siteId}|${o.asOf}`
    : `${o.source}|${o.siteId}|${o.asOf}|${o.features?.depth_m ?? ''}|${o.severity}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Joins observations with their features and chips, in a deterministic order (source,
 * event, site, date), numbering rows from 0. A second observation of the same site and date
 * is quarantined as a duplicate, so the result never depends on file order.
 */
export function buildTrainingRows(
  observations: readonly Observation[],
  context: GbrContext | undefined,
  chipSpec: ChipSpec,
): TrainingRows {
  const sorted = [...observations].sort(
    (a, b) =>
      compareText(a.source, b.source) ||
      compareText(a.event, b.event) ||
      compareText(dedupeKey(a), dedupeKey(b)) ||
      compareText(a.origin.path, b.origin.path) ||
      a.origin.row - b.origin.row,
  );
  const quarantined: QuarantinedRow[] = [];
  const unique: Observation[] = [];
  for (const observation of sorted) {
    const previous = unique.at(-1);
    if (previous && dedupeKey(previous) === dedupeKey(observation)) {
      quarantined.push({
        ...observation.origin,
        column: observation.source === 'gbr-aerial' ? `bleach_${observation.year}` : 'Date',
        reason: 'duplicate',
        value: `${observation.siteId} ${observation.asOf}`,
      });
      continue;
    }
    unique.push(observation);
  }

  const layersByYear = new Map<number, Layers>();
  const rasterByYear = new Map<number, ChipRaster>();
  const gbrYear = (year: number) => {
    if (!context) throw new RangeError('GBR observations need the GBR context');
    let layers = layersByYear.get(year);
    let raster = rasterByYear.get(year);
    if (!layers || !raster) {
      const yearLayers = gbrFeatureLayers(context, year);
      // A channel the GBR table cannot give (e.g. a daily product) rasterises as unknown (0).
      const unknown = new Float64Array(context.pixels).fill(Number.NaN);
      const values: Record<string, Float64Array> = Object.fromEntries(
        chipSpec.channels.map((channel) => [
          channel,
          yearLayers[channel as FeatureName] ?? unknown,
        ]),
      );
      layers = yearLayers;
      raster = createChipRaster(
        { lonDeg: context.lonDeg, latDeg: context.latDeg, values },
        chipSpec,
      );
      layersByYear.set(year, layers);
      rasterByYear.set(year, raster);
    }
    return { layers, raster };
  };

  const size = chipLength(chipSpec);
  const chips = new Float32Array(unique.length * size);
  const rows = unique.map((observation, rowId): TrainingRow => {
    const values = new Float64Array(FEATURE_NAMES.length).fill(Number.NaN);
    const chip = chips.subarray(rowId * size, (rowId + 1) * size);
    if (observation.source === 'gbr-aerial' && observation.pixel !== undefined) {
      const { layers, raster } = gbrYear(observation.year);
      FEATURE_NAMES.forEach((name, f) => {
        const layer = layers[name];
        if (layer) values[f] = layer[observation.pixel as number] as number;
      });
      raster.chipAt(observation.lon, observation.lat, chip);
    } else {
      FEATURE_NAMES.forEach((name, f) => {
        const value = observation.features?.[name];
        if (value !== null && value !== undefined) values[f] = value;
      });
      broadcastChip(observation.features ?? {}, chipSpec, chip);
    }
    return { ...observation, rowId, values };
  });
  return { featureNames: FEATURE_NAMES, rows, chipSpec, chips, quarantined };
}
