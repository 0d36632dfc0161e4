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
