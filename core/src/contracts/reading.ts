import { z } from 'zod';
import { isoTime, latitude, longitude, schemaVersion, siteId } from './common.js';

/** Physical quantities a buoy or logger reports, with the one unit each is carried in. */
export const READING_UNITS = {
  water_temperature: 'degC',
  air_temperature: 'degC',
  turbidity: 'NTU',
  wind_speed: 'm/s',
  salinity: 'PSU',
  par: 'umol/m2/s',
} as const;

export type ReadingParameter = keyof typeof READING_UNITS;

const parameterNames = Object.keys(READING_UNITS) as [ReadingParameter, ...ReadingParameter[]];

/**
 * One sensor value from a buoy gateway. `id` is `station/parameter/epoch-ms`, stable across
 * retries and restarts, so a duplicate is detectable anywhere downstream.
 */
export const buoyReadingSchema = z.object({
  schema_version: schemaVersion,
  id: z.string().min(1).max(200),
  site_id: siteId,
  station_id: z.string().min(1).max(64),
  parameter: z.enum(parameterNames),
  value: z.number().finite(),
  unit: z.string().min(1),
  observed_at: isoTime,
  depth_m: z.number().min(0).max(200).optional(),
  lat: latitude.optional(),
  lon: longitude.optional(),
  qc_flag: z.number().int().min(0).max(9).optional(),
  source: z.enum(['aims', 'replay', 'serial', 'generated']),
});

export type BuoyReading = z.infer<typeof buoyReadingSchema>;

/** The stable id of a reading: the same station, parameter and instant give the same id. */
export function readingId(stationId: string, parameter: string, observedAt: string | Date): string {
  const epochMs = (typeof observedAt === 'string' ? new Date(observedAt) : observedAt).getTime();
  if (Number.isNaN(epochMs)) throw new RangeError(`readingId: invalid time ${String(observedAt)}`);
  return `${stationId}/${parameter}/${epochMs}`;
}
