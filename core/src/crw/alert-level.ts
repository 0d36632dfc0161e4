/** DHW accumulates HotSpots of the last 84 calendar days (12 weeks). */
export const DHW_WINDOW_DAYS = 84;
/** Only HotSpots of at least 1 degC accumulate into DHW. */
export const HOTSPOT_DHW_MIN_C = 1;
/**
 * HotSpots are resolved to 0.01 degC, the precision of every CRW product, so that decimal
 * inputs (29.59 - 28.59) and float32 climatologies (28.5900002) fall on the intended side of the
 * 1 degC threshold. It also makes the 84-day sum an exact integer of hundredths.
 */
export const HOTSPOT_RESOLUTION_C = 0.01;
/** The 7-day maximum composite of the published CRW Bleaching Alert Area product. */
export const ALERT_LEVEL_COMPOSITE_DAYS = 7;
/** Alert level written where the day's SST (or the pixel's MMM) is missing. */
export const ALERT_LEVEL_MISSING = 255;

/** NOAA CRW alert levels, December 2023 scale, in NOAA's integer encoding. */
export const ALERT_LEVELS = [
  'No Stress',
  'Bleaching Watch',
  'Bleaching Warning',
  'Alert Level 1',
  'Alert Level 2',
  'Alert Level 3',
  'Alert Level 4',
  'Alert Level 5',
] as const;

/** DHW step between the Alert Levels 1..5 (4, 8, 12, 16, 20 degC-weeks). */
export const ALERT_DHW_STEP = 4;

/**
 * NOAA alert level 0..7, December 2023 scale (CRW Bleaching Alert Area):
 * 0 No Stress (HS <= 0); 1 Watch (0 < HS < 1); with HS >= 1: 2 Warning (0 < DHW < 4),
 * 3 Alert Level 1 (4 <= DHW < 8), 4 Level 2 (8-12), 5 Level 3 (12-16), 6 Level 4 (16-20),
 * 7 Level 5 (DHW >= 20). HotSpot in degC, DHW in degC-weeks compared at 0.01 as NOAA does;
 * NaN gives ALERT_LEVEL_MISSING.
 * Reference: coralreefwatch.noaa.gov/product/5km/index_5km_baa-max-7d.php (2023 update).
 */
export function alertLevel(hotspotC: number, dhw: number): number {
  if (Number.isNaN(hotspotC)) return ALERT_LEVEL_MISSING;
  if (hotspotC <= 0) return 0;
  if (hotspotC < HOTSPOT_DHW_MIN_C) return 1;
  if (Number.isNaN(dhw)) return ALERT_LEVEL_MISSING;
  // NOAA compares the DHW it publishes, rounded to 0.01, with the thresholds.
  return 2 + Math.min(5, Math.floor(Math.round(dhw * 100) / (ALERT_DHW_STEP * 100)));
}
