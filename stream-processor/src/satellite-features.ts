import {
  dayEndIso,
  FEATURE_SET_VERSION,
  type FeatureVector,
  type SatelliteObservation,
  utcDay,
} from '@reefguard/core';
import type { DhwYearToDate } from './dhw-ytd.js';
import { type EventState, STATE_WINDOW_DAYS, type StateReading } from './event-state.js';
import { addDhwMaxYtd } from './feature-writer.js';
import type { HeatStress } from './heat-stress.js';
import type { FeatureRow, OfflineStore } from './offline-store.js';
import type { OnlineStore } from './online-store.js';
import { featuresOfDay } from './processor.js';
import type { SiteRegistry } from './sites.js';

/**
 * Satellite turbidity into the same event-time state and feature code as buoy turbidity: each
 * observation joins the site's turbidity history (so `turbidity_zscore` is against the site's
 * own history, buoy and satellite alike), exactly once by its id, and the site's features of
 * its latest day are recomputed and written offline and online.
 */
export interface SatelliteFeatureOptions {
  state: EventState;
  sites: SiteRegistry;
  offline: OfflineStore;
  online: OnlineStore;
  heat: HeatStress | null;
  dhwYtd?: DhwYearToDate | null;
  now?: () => number;
}

export interface SatelliteFeatureSummary {
  applied: number;
  duplicates: number;
  vectors: FeatureVector[];
}

/** Applies turbidity observations (others are ignored) and writes the sites' features. */
export async function applySatelliteTurbidity(
  options: SatelliteFeatureOptions,
  observations: readonly SatelliteObservation[],
): Promise<SatelliteFeatureSummary> {
  const ingestedMs = (options.now ?? Date.now)();
  const bySite = new Map<string, StateReading[]>();
  for (const o of observations) {
    if (o.variable !== 'turbidity' || !options.sites.get(o.site_id)) continue;
    const list = bySite.get(o.site_id) ?? [];
    list.push({ id: o.id, observedMs: Date.parse(o.observed_at), kind: 's', value: o.value });
    bySite.set(o.site_id, list);
  }
  const summary: SatelliteFeatureSummary = { applied: 0, duplicates: 0, vectors: [] };
  if (bySite.size === 0) return summary;
  const results = await options.state.apply(bySite);
  const rows: FeatureRow[] = [];
  const online: { vector: FeatureVector; seq: number }[] = [];
  for (const [siteId, result] of results) {
    const applied = result.statuses.filter((s) => s === 'N').length;
    summary.applied += applied;
    summary.duplicates += result.statuses.length - applied;
    if (applied === 0) continue;
    const site = options.sites.get(siteId);
    if (!site) continue;
    let { window } = result;
    if (window.watermarkMs < 0) {
      // No buoy data yet: the features of the latest scene's day, SST features left empty.
      const latest = Math.max(...(bySite.get(siteId) ?? []).map((r) => r.observedMs));
      window = {
        ...window,
        lastDay: utcDay(latest),
        meanC: new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN),
        maxC: new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN),
      };
    }
    const values = featuresOfDay(site, window, window.lastDay, options.heat);
    rows.push({ siteId, day: window.lastDay, ingestedMs, values });
    const vector: FeatureVector = {
      schema_version: 1,
      site_id: siteId,
      as_of: dayEndIso(window.lastDay),
      computed_at: new Date(ingestedMs).toISOString(),
      feature_set_version: FEATURE_SET_VERSION,
      values,
    };
    online.push({ vector, seq: window.seq });
    summary.vectors.push(vector);
  }
  await addDhwMaxYtd(options.dhwYtd, rows);
  await options.offline.appendFeatures(rows);
  await options.online.writeMany(online);
  return summary;
}
