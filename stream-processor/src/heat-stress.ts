import type { HeatStressOfDay } from '@reefguard/core';
import type { SiteProfile } from './sites.js';

/**
 * Heat stress of a site on a day from its daily mean SST: the CRW incremental update of
 * `core` run over the window (see `createCrwHeatStress`). Kept behind this interface so the
 * processor does not care whether the state is replayed or restored.
 */
export interface HeatStress {
  /**
   * `meanC` holds daily means oldest first, the last one being `day` (days since epoch);
   * returns null when the window has too little data for a DHW.
   */
  ofDay(site: SiteProfile, meanC: Float64Array, day: number): HeatStressOfDay | null;
  /** The site's daily climatology (degC) on `day`. */
  climatologyC(site: SiteProfile, day: number): number;
}
