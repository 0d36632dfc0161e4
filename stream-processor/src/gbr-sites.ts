import { DuckDBInstance } from '@duckdb/node-api';
import { InputFormatError } from '@reefguard/core';
import type { SiteProfile } from './sites.js';

/** The shipped GBR reef-pixel environment (per-pixel SST mean, range and minimum). */
export const GBR_ENVIRONMENT_FILE = 'data/sample/gbr_environmental.parquet';

/** GBR SST peaks in February (month index 1) and bottoms out in August. */
export const GBR_WARMEST_MONTH = 1;

/**
 * Monthly mean SST (January first) of a pixel from its long-term minimum and annual range:
 * a cosine seasonal cycle from `minC` (August) to `minC + rangeC` (February). The maximum,
 * `minC + rangeC`, is the pixel's MMM. An approximation of the CRW climatology, used where
 * no CRW climatology file exists for the site.
 */
export function seasonalMonthlyMeans(minC: number, rangeC: number): number[] {
  return Array.from(
    { length: 12 },
    (_, m) => minC + (rangeC * (1 + Math.cos((2 * Math.PI * (m - GBR_WARMEST_MONTH)) / 12))) / 2,
  );
}

/**
 * Sites of the shipped GBR data: every reef pixel as `pixel-<PIXEL_ID>`, and every reef as its
 * GBRMPA id (e.g. `18-054`) with the mean of its pixels.
 */
export async function loadGbrSites(path = GBR_ENVIRONMENT_FILE): Promise<SiteProfile[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const source = `read_parquet('${path.replaceAll("'", "''")}')`;
    const reader = await conn.runAndReadAll(
      `SELECT 'pixel-' || PIXEL_ID AS id, lat, lon, MT_SST_MIN AS min_c, MT_SST_SR AS range_c
       FROM ${source} WHERE MT_SST_MIN IS NOT NULL AND MT_SST_SR IS NOT NULL
       UNION ALL
       SELECT REEF_ID, avg(lat), avg(lon), avg(MT_SST_MIN), avg(MT_SST_SR)
       FROM ${source} WHERE REEF_ID IS NOT NULL AND MT_SST_MIN IS NOT NULL
       GROUP BY REEF_ID`,
    );
    return reader.getRowObjectsJson().map((row) => {
      const minC = Number(row.min_c);
      const rangeC = Number(row.range_c);
      return {
        siteId: String(row.id),
        lat: Number(row.lat),
        lon: Number(row.lon),
        mmmC: minC + rangeC,
        monthlyMeanC: seasonalMonthlyMeans(minC, rangeC),
      };
    });
  } catch (cause) {
    throw new InputFormatError(`cannot read GBR sites from ${path}`, { cause });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
