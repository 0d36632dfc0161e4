import type { DhwYearToDate } from './dhw-ytd.js';
import type { StateCommitCall } from './event-state.js';
import type { FeatureRow } from './offline-store.js';
import type { OnlineItem, OnlineStore } from './online-store.js';

/**
 * Writes a batch's features: stores each row's DHW for `dhw_max_ytd`, sets that feature on
 * every row (and on the online vector of the same day), and writes each site's online vector
 * unless a newer one is stored. The processor's last step before the offline commit, which
 * takes the rows with their `dhw_max_ytd`. On Redis it is one script call for the batch
 * (`createRedisFeatureWriter`); {@link createFeatureWriter} composes any online store with
 * the year-to-date store in two steps.
 */
export interface FeatureWriter {
  /** Returns how many sites' online hashes were written. */
  write(rows: readonly FeatureRow[], online: readonly OnlineItem[]): Promise<number>;
  /**
   * Commits the event state's batch (`call`, see `EventState.apply`) and then writes these
   * features, in one step and only if the commit goes through; returns the commit's stale
   * positions (empty: committed and written). Only a writer on the event state's own Redis
   * has it.
   */
  commitWith?(
    call: StateCommitCall,
    rows: readonly FeatureRow[],
    online: readonly OnlineItem[],
  ): Promise<number[]>;
}

/** The year-to-date update, then the online store's write (e.g. the embedded DuckDB store). */
export function createFeatureWriter(
  online: OnlineStore,
  dhwYtd: DhwYearToDate | null | undefined,
): FeatureWriter {
  return {
    async write(rows, items) {
      await addDhwMaxYtd(dhwYtd, rows);
      return online.writeMany(items);
    },
  };
}

/**
 * Sets `dhw_max_ytd` on every row (in place: the online vectors share the rows' values) from
 * the year-to-date DHW store, after storing the rows' own DHW.
 */
export async function addDhwMaxYtd(
  store: DhwYearToDate | null | undefined,
  rows: readonly FeatureRow[],
): Promise<void> {
  if (!store || rows.length === 0) return;
  const bySite = new Map<string, FeatureRow[]>();
  for (const row of rows) {
    const list = bySite.get(row.siteId);
    if (list) list.push(row);
    else bySite.set(row.siteId, [row]);
  }
  const maxima = await store.update(
    new Map(
      [...bySite].map(([site, list]) => [
        site,
        list.map((r) => ({ day: r.day, dhw: r.values.dhw ?? Number.NaN })),
      ]),
    ),
  );
  for (const [site, list] of bySite) {
    const values = maxima.get(site) ?? [];
    list.forEach((row, i) => {
      const v = values[i] ?? Number.NaN;
      row.values.dhw_max_ytd = Number.isFinite(v) ? v : null;
    });
  }
}
