/**
 * Layout of the online feature store (Redis): one hash per site holding the latest value of
 * every feature plus its provenance, written atomically (MULTI) by the stream processor and
 * read in one round trip by serving and the edge agent's cloud context.
 */
export const ONLINE_KEY_PREFIX = 'reefguard:features:';

/** Online features expire 8 hours after their last write: stale risk is worse than none. */
export const ONLINE_TTL_SECONDS = 8 * 60 * 60;

/** Provenance fields stored next to the feature values in every site hash. */
export const ONLINE_META_FIELDS = ['as_of', 'computed_at', 'feature_set_version'] as const;

export function onlineFeatureKey(siteId: string): string {
  return `${ONLINE_KEY_PREFIX}${siteId}`;
}

/**
 * The slow features of a site (catalog cadence 'static' and 'yearly': climatology, depth,
 * past-year stress, cyclone exposure) live in a second hash, `reefguard:context:{site}`,
 * written by `./reefguard features context` from the same GBR tables and code the training
 * set uses. It has no TTL (the values change yearly at most); freshness is judged on the
 * daily hash only. Readers fetch both hashes in one round trip and merge them, the daily
 * value winning on a name clash. A value stored as the literal `NaN` is a feature the
 * training rows of such a site never had (the model learned a default for it), unlike an
 * absent field, which is missing.
 */
export const CONTEXT_KEY_PREFIX = 'reefguard:context:';

/** Provenance fields of a context hash: the year the yearly values are for, and their data. */
export const CONTEXT_META_FIELDS = [
  'as_of',
  'computed_at',
  'feature_set_version',
  'data_version',
] as const;

/** The stored value of a feature known to be unknown (NaN in training too). */
export const CONTEXT_UNKNOWN_VALUE = 'NaN';

export function contextFeatureKey(siteId: string): string {
  return `${CONTEXT_KEY_PREFIX}${siteId}`;
}
