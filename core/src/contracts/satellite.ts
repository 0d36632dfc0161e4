import { z } from 'zod';
import { isoTime, latitude, longitude, schemaVersion, siteId } from './common.js';

export const SATELLITE_PRODUCTS = [
  'modis-aqua-l3m-sst',
  'crw-coraltemp',
  'crw-virtual-station',
  'sentinel2-l2a',
] as const;

/**
 * A satellite product value sampled at a site: one variable of one product for one day.
 * `quality` is the product's own flag (MODIS qual_sst, Sentinel-2 valid-pixel share, ...).
 */
export const satelliteObservationSchema = z.object({
  schema_version: schemaVersion,
  id: z.string().min(1).max(300),
  product: z.enum(SATELLITE_PRODUCTS),
  variable: z.string().min(1).max(64),
  site_id: siteId,
  lat: latitude,
  lon: longitude,
  value: z.number().finite(),
  unit: z.string().min(1),
  observed_at: isoTime,
  quality: z.number().optional(),
  source_uri: z.string().min(1),
});

export type SatelliteObservation = z.infer<typeof satelliteObservationSchema>;
