import { RISK_BANDS } from '@reefguard/core';

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
