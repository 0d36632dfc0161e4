import { readingId } from '@reefguard/core';
import type { StoredReading } from '../src/index.js';

/** A stored water-temperature reading of `stationId` at `observedMs` (id as readingId makes it). */
export function storedReading(options: {
  siteId: string;
  stationId: string;
  observedMs: number;
  ingestedMs: number;
  value: number;
  source?: StoredReading['reading']['source'];
}): StoredReading {
  const observedAt = new Date(options.observedMs).toISOString();
  return {
    reading: {
      schema_version: 1,
      id: readingId(options.stationId, 'water_temperature', observedAt),
      site_id: options.siteId,
      station_id: options.stationId,
      parameter: 'water_temperature',
      value: options.value,
      unit: 'degC',
      observed_at: observedAt,
      source: options.source ?? 'generated',
    },
    observedMs: options.observedMs,
    ingestedMs: options.ingestedMs,
  };
}
