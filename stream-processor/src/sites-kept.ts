/**
 * Bounded per-site memory (the event state, the DHW writer): a Map in use order, least recently
 * used first, trimmed between batches so that a batch's sites stay known from its read to its
 * commit; a dropped site is read from Redis again when it next has readings.
 */

/** The number of sites to keep, checked: a whole number above 0. */
export function sitesKeptOf(value: number, owner: string): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`${owner}: sitesKept must be a whole number > 0, got ${value}`);
  }
  return value;
}

/** Marks `site` as the most recently used (moves its entry to the end). */
export function touchSite<V>(sites: Map<string, V>, site: string, value: V): void {
  sites.delete(site);
  sites.set(site, value);
}

/** Drops the least recently used sites beyond `keep`; returns how many were dropped. */
export function dropOldestSites<V>(sites: Map<string, V>, keep: number): number {
  let dropped = 0;
  for (const site of sites.keys()) {
    if (sites.size <= keep) break;
    sites.delete(site);
    dropped += 1;
  }
  return dropped;
}
