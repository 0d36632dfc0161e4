import type { GbrContext } from './gbr-context.js';
import {
  countOnce,
  isEmptyRow,
  type Observation,
  type ParsedObservations,
  parseNumber,
  type QuarantinedRow,
} from './observation.js';
import type { ObservationTable } from './observation-file.js';
import { bleachColumnYear, LAT_COLUMNS, LON_COLUMNS } from './observation-file.js';

/**
 * GBR aerial surveys are flown February to April of the event year; features are taken as
 * known at the end of that window. The annual maximum DHW of the year is the documented proxy
 * of `dhw_max_ytd` on this date: GBR heat stress peaks in February-March (README).
 */
export const GBR_SURVEY_AS_OF_MONTH_DAY = '04-30';

/** Moderate-or-worse bleaching: aerial category 2 (10-30 % bleached) or worse. */
export const GBR_LABEL_MIN_CATEGORY = 2;

/**
 * Why a row matches no reef pixel: no PIXEL_ID or position at all, a PIXEL_ID the shipped
 * table lacks and no position to place it, or a position more than the tolerance (0.02
 * degrees) from every reef pixel (off the GBR grid, or between reefs).
 */
function unmatchedReason(pixelId: number | null, lon: number | null, lat: number | null): string {
  if (lon !== null && lat !== null) return 'no_reef_pixel_within_tolerance';
  return pixelId === null ? 'missing_site' : 'unknown_pixel_id';
}

/**
 * Turns a GBR aerial file (PIXEL_ID, REEF_ID, lon, lat, bleach_YYYY...) into one observation
 * per pixel and surveyed year. Blank categories are pixels not surveyed that year (skipped);
 * categories outside 0-4, unmatched sites and years without DHW context are quarantined. A
 * PIXEL_ID the shipped table lacks (or one whose pixel lies elsewhere) is placed by its lon/lat
 * on the nearest reef pixel within the tolerance and counted `pixel_matched_by_position`.
 */
export function parseGbrAerial(table: ObservationTable, context: GbrContext): ParsedObservations {
  const observations: Observation[] = [];
  const quarantined: QuarantinedRow[] = [];
  const skipped: Record<string, number> = {};
  const adjusted: Record<string, number> = {};
  const pixelColumn = table.column('PIXEL_ID');
  const lonColumn = table.column(LON_COLUMNS);
  const latColumn = table.column(LAT_COLUMNS);
  const years = table.columns
    .map((name, index) => ({ name, index, year: bleachColumnYear(name) }))
    .filter((c): c is { name: string; index: number; year: number } => c.year !== null);

  table.rows.forEach((cells, i) => {
    const row = i + 1;
    if (isEmptyRow(cells)) {
      countOnce(skipped, 'empty_row');
      return;
    }
    const quarantine = (column: string, reason: string, value: string | null): void => {
      quarantined.push({ path: table.path, row, column, reason, value });
    };
    const cell = (index: number) => (index < 0 ? null : (cells[index] ?? null));
    const pixelId = parseNumber(cell(pixelColumn));
    const lon = parseNumber(cell(lonColumn));
    const lat = parseNumber(cell(latColumn));
    if (
      Number.isNaN(lon) ||
      Number.isNaN(lat) ||
      (lon !== null && Math.abs(lon) > 180) ||
      (lat !== null && Math.abs(lat) > 90)
    ) {
      quarantine(
        Number.isNaN(lat) || (lat !== null && Math.abs(lat) > 90) ? 'lat' : 'lon',
        'invalid_coordinates',
        `${cell(lonColumn)},${cell(latColumn)}`,
      );
      return;
    }
    const id = pixelId === null || Number.isNaN(pixelId) ? null : pixelId;
    const pixel = context.matchSite(id, lon, lat);
    if (pixel < 0) {
      const reason = unmatchedReason(id, lon, lat);
      quarantine(
        reason === 'no_reef_pixel_within_tolerance' || pixelColumn < 0 ? 'lon' : 'PIXEL_ID',
        reason,
        `${cell(pixelColumn)} at ${cell(lonColumn)},${cell(latColumn)}`,
      );
      return;
    }
    if (id !== null && context.pixelId[pixel] !== id)
      countOnce(adjusted, 'pixel_matched_by_position');
    for (const { name, index, year } of years) {
      const raw = cell(index);
      const category = parseNumber(raw);
      if (category === null) {
        skipped.not_surveyed = (skipped.not_surveyed ?? 0) + 1;
        continue;
      }
      if (!Number.isInteger(category) || category < 0 || category > 4) {
        quarantine(name, 'invalid_category', raw);
        continue;
      }
      if (context.annualMaxDhw(year) === undefined) {
        quarantine(name, 'no_context_for_year', String(year));
        continue;
      }
      observations.push({
        source: 'gbr-aerial',
        siteId: `pixel-${context.pixelId[pixel]}`,
        event: `gbr-${year}`,
        year,
        asOf: `${year}-${GBR_SURVEY_AS_OF_MONTH_DAY}`,
        lat: context.latDeg[pixel] as number,
        lon: context.lonDeg[pixel] as number,
        label: category >= GBR_LABEL_MIN_CATEGORY ? 1 : 0,
        severity: category,
        pixel,
        origin: { path: table.path, row },
      });
    }
  });
  return { observations, quarantined, skipped, adjusted };
}
