/**
 * The one definition of every feature name: unit, meaning, cadence and where its value comes
 * from. Stream processor, backfill, serving, edge agent and evaluation all use these names;
 * a model card lists the subset (and order) a model consumes.
 */
export const FEATURE_SET_VERSION = 'v1';

export type FeatureCadence = 'daily' | 'yearly' | 'static';

export interface FeatureDefinition {
  readonly name: string;
  readonly unit: string;
  readonly cadence: FeatureCadence;
  /** +1: more of it never lowers bleaching risk (heat stress); 0: no constraint. */
  readonly monotone: -1 | 0 | 1;
  readonly description: string;
}

const define = <const T extends readonly FeatureDefinition[]>(features: T) => features;

export const FEATURES = define([
  {
    name: 'dhw',
    unit: 'degC-weeks',
    cadence: 'daily',
    monotone: 1,
    description: 'NOAA CRW Degree Heating Weeks on the as-of day (84-day sum of HotSpot >= 1 / 7)',
  },
  {
    name: 'dhw_max_ytd',
    unit: 'degC-weeks',
    cadence: 'daily',
    monotone: 1,
    description:
      'maximum daily DHW from 1 January of the as-of year to the as-of day; on 31 December it equals the CRW annual maximum DHW (annMaxDHW_YYYY)',
  },
  {
    name: 'dhw_prev_year_max',
    unit: 'degC-weeks',
    cadence: 'yearly',
    monotone: 0,
    description: 'CRW annual maximum DHW of the previous calendar year (past stress)',
  },
  {
    name: 'hotspot',
    unit: 'degC',
    cadence: 'daily',
    monotone: 1,
    description: 'CRW HotSpot: max(SST - MMM, 0) of the as-of day',
  },
  {
    name: 'sst_anomaly',
    unit: 'degC',
    cadence: 'daily',
    monotone: 0,
    description: 'daily mean SST minus the site daily climatology',
  },
  {
    name: 'sst_daily_mean',
    unit: 'degC',
    cadence: 'daily',
    monotone: 0,
    description: 'mean of the day (UTC) of in-situ or satellite SST',
  },
  {
    name: 'sst_daily_max',
    unit: 'degC',
    cadence: 'daily',
    monotone: 0,
    description: 'maximum of the day (UTC) of in-situ or satellite SST',
  },
  {
    name: 'sst_rolling_avg_7d',
    unit: 'degC',
    cadence: 'daily',
    monotone: 0,
    description: 'mean of the daily mean SST over the 7 days ending on the as-of day',
  },
  {
    name: 'sst_rolling_avg_30d',
    unit: 'degC',
    cadence: 'daily',
    monotone: 0,
    description: 'mean of the daily mean SST over the 30 days ending on the as-of day',
  },
  {
    name: 'dhw_trend_7d',
    unit: 'degC-weeks/week',
    cadence: 'daily',
    monotone: 0,
    description: 'DHW on the as-of day minus DHW 7 days earlier',
  },
  {
    name: 'alert_level',
    unit: '1',
    cadence: 'daily',
    monotone: 1,
    description: 'CRW bleaching alert level 0-7 (December 2023 scale) of the as-of day',
  },
  {
    name: 'turbidity_ntu',
    unit: 'FNU',
    cadence: 'daily',
    monotone: 0,
    description: 'Nechad turbidity from Sentinel-2 L2A or an in-situ sensor, latest valid value',
  },
  {
    name: 'turbidity_zscore',
    unit: '1',
    cadence: 'daily',
    monotone: 0,
    description: "turbidity against the site's own history: (value - mean) / std",
  },
  {
    name: 'mmm',
    unit: 'degC',
    cadence: 'static',
    monotone: 0,
    description: 'CRW maximum of monthly mean climatology of the site',
  },
  {
    name: 'sst_clim_mean',
    unit: 'degC',
    cadence: 'static',
    monotone: 0,
    description: 'long-term mean SST of the site (GBR environmental MT_SST_AV)',
  },
  {
    name: 'sst_clim_range',
    unit: 'degC',
    cadence: 'static',
    monotone: 0,
    description: 'long-term annual SST range of the site (MT_SST_SR); variable sites acclimatise',
  },
  {
    name: 'k490',
    unit: '1/m',
    cadence: 'static',
    monotone: 0,
    description: 'mean diffuse light attenuation at 490 nm (SW_K490_AV), a turbidity proxy',
  },
  {
    name: 'depth_m',
    unit: 'm',
    cadence: 'static',
    monotone: 0,
    description: 'water depth at the site, positive down (GBR_BATHY, survey depth for GCBD)',
  },
  {
    name: 'cyclone_exposure_h',
    unit: 'h',
    cadence: 'yearly',
    monotone: 0,
    description: 'hours of cyclone waves >= 4 m significant height in the year (Hs4MW_YYYY)',
  },
  {
    name: 'wind_speed_ms',
    unit: 'm/s',
    cadence: 'daily',
    monotone: 0,
    description:
      'wind speed at the site on the as-of day (CoRTAD Windspeed in global survey rows; calm water heats and lights corals more)',
  },
  {
    name: 'latitude',
    unit: 'degrees_north',
    cadence: 'static',
    monotone: 0,
    description: 'site latitude',
  },
] as const);

export type FeatureName = (typeof FEATURES)[number]['name'];

export const FEATURE_NAMES: readonly FeatureName[] = FEATURES.map((f) => f.name);

/**
 * The daily features the stream processor computes and keeps as one DOUBLE column each in the
 * offline store's `daily_features` (written by the stream processor, read by serving for past
 * days). Append only: files written before gain the new columns last.
 */
export const STREAM_DAILY_FEATURES = [
  'sst_daily_mean',
  'sst_daily_max',
  'sst_rolling_avg_7d',
  'sst_rolling_avg_30d',
  'sst_anomaly',
  'hotspot',
  'dhw',
  'alert_level',
  'dhw_trend_7d',
  'turbidity_ntu',
  'turbidity_zscore',
  'dhw_max_ytd',
] as const satisfies readonly FeatureName[];

/** The definition of a feature by name; throws naming the unknown feature. */
export function featureDefinition(name: string): FeatureDefinition {
  const found = FEATURES.find((f) => f.name === name);
  if (!found) throw new RangeError(`unknown feature "${name}"; known: ${FEATURE_NAMES.join(', ')}`);
  return found;
}
