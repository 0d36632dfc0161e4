import { RISK_BANDS } from '@reefguard/core';

/**
 * NOAA Coral Reef Watch bleaching alert level, December 2023 scale, as 0-7:
 * 0 No Stress (HotSpot <= 0), 1 Watch (0 < HotSpot < 1), 2 Warning (HotSpot >= 1, DHW < 4),
 * 3-7 Alert Levels 1-5 (HotSpot >= 1 and DHW >= 4, 8, 12, 16, 20 degC-weeks).
 * Reference: https://coralreefwatch.noaa.gov/product/5km/index_5km_baa-max-7d.php
 */
export function crwAlertLevel(hotspotC: number, dhw: number): number {
  if (!(hotspotC > 0)) return 0;
  if (hotspotC < 1) return 1;
  if (dhw < 4) return 2;
  return Math.min(7, 3 + Math.floor((dhw - 4) / 4));
}

/** DHW at which the baseline says "bleaching likely" (risk 0.5): CRW Alert Level 1. */
export const CRW_BASELINE_DHW_HALF = 4;

/**
 * The CRW baseline as a risk: DHW / 8 capped at 1, so 4 degC-weeks (Alert Level 1, bleaching
 * likely) maps to 0.5 and 8 degC-weeks (Alert Level 2, severe bleaching likely) to 1.
 */
export function crwBaselineRisk(dhw: number): number {
  return Math.min(1, Math.max(0, dhw / (2 * CRW_BASELINE_DHW_HALF)));
}

export type RiskBand = (typeof RISK_BANDS)[number];

/** Quarter-width bands: < 0.25 low, < 0.5 moderate, < 0.75 high, else severe. */
export function riskBand(risk: number): RiskBand {
  return RISK_BANDS[Math.min(3, Math.floor(risk * 4))] as RiskBand;
}
