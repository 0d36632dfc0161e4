/**
 * The readings the stream benchmarks generate (not a benchmark itself): the i-th reading is
 * site `i % sites`'s water temperature, one second apart per site from 1 February 2024 (UTC),
 * 27.0-29.9 degC.
 */
import { type BuoyReading, readingId } from '@reefguard/core';

export const GENERATED_FROM_MS = Date.parse('2024-02-01T00:00:00Z');

export function generatedReading(i: number, sites: number): BuoyReading {
  const site = `site-${i % sites}`;
  const observedAt = new Date(GENERATED_FROM_MS + Math.floor(i / sites) * 1000).toISOString();
  return {
    schema_version: 1,
    id: readingId(`${site}-buoy`, 'water_temperature', observedAt),
    site_id: site,
    station_id: `${site}-buoy`,
    parameter: 'water_temperature',
    value: 27 + (i % 30) / 10,
    unit: 'degC',
    observed_at: observedAt,
    source: 'generated',
  };
}
