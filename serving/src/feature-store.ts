import {
  CONTEXT_META_FIELDS,
  CONTEXT_UNKNOWN_VALUE,
  contextFeatureKey,
  FEATURE_NAMES,
  type FeatureVector,
  ONLINE_META_FIELDS,
  onlineFeatureKey,
  TransportError,
} from '@reefguard/core';
import type { Redis } from 'ioredis';

/** The online features of one site as read from Redis; `null` when the site has no hash. */
export type OnlineFeatures = Omit<FeatureVector, 'schema_version'> | null;

/** Reads site feature hashes from the online store, always in one round trip. */
export interface FeatureReader {
  read(siteIds: readonly string[]): Promise<OnlineFeatures[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

function parseValue(raw: string | undefined): number | null {
  if (raw === undefined || raw === '' || raw === 'null') return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

/** A context value: `NaN` is a feature known to be unknown (as in training), kept as NaN. */
function parseContextValue(raw: string | undefined): number | null {
  return raw === CONTEXT_UNKNOWN_VALUE ? Number.NaN : parseValue(raw);
}

const META_FIELDS: readonly string[] = [...ONLINE_META_FIELDS, ...CONTEXT_META_FIELDS];

/**
 * Turns the HGETALL answers of a site's daily hash and (optionally) its context hash (layout
 * of core/src/features/online.ts) into one feature vector. The daily hash decides whether the
 * site has features at all and carries the provenance (freshness is judged on it alone); the
 * context fills the slow features, a daily value winning on a name clash.
 */
export function parseFeatureHash(
  siteId: string,
  hash: Record<string, string>,
  context: Record<string, string> = {},
): OnlineFeatures {
  if (Object.keys(hash).length === 0) return null;
  const values: Record<string, number | null> = {};
  for (const name of FEATURE_NAMES) values[name] = parseValue(hash[name]);
  // for...in, not Object.entries: no [key, value] array per field on the hot path.
  for (const field in hash) {
    if (!(field in values) && !META_FIELDS.includes(field)) values[field] = parseValue(hash[field]);
  }
  for (const field in context) {
    if (META_FIELDS.includes(field) || field in hash) continue;
    values[field] = parseContextValue(context[field]);
  }
  return {
    site_id: siteId,
    as_of: hash.as_of ?? '',
    computed_at: hash.computed_at ?? '',
    feature_set_version: hash.feature_set_version ?? '',
    values,
  };
}

/** A reader over an ioredis client it does not own (the caller closes the client). */
export function createFeatureReader(redis: Redis): FeatureReader {
  return {
    async read(siteIds) {
      if (siteIds.length === 0) return [];
      const [only] = siteIds;
      if (siteIds.length === 1 && only !== undefined) {
        // The /v1/predict hot path: two commands, still one round trip (sent back to back, and
        // with the server's auto-pipelining in one write with every request of this tick),
        // without a pipeline object per request.
        const answers = await Promise.all([
          redis.hgetall(onlineFeatureKey(only)),
          redis.hgetall(contextFeatureKey(only)),
        ]).catch((cause: unknown) => {
          throw new TransportError(`the online feature store (Redis) did not answer for ${only}`, {
            cause,
          });
        });
        return [parseFeatureHash(only, answers[0], answers[1])];
      }
      // One pipeline: the daily and the context hash of every site, sent in one write and
      // read back together (one round trip however many sites).
      const pipeline = redis.pipeline();
      for (const siteId of siteIds) {
        pipeline.hgetall(onlineFeatureKey(siteId)).hgetall(contextFeatureKey(siteId));
      }
      const answers = await pipeline.exec().catch((cause: unknown) => {
        throw new TransportError('the online feature store (Redis) did not answer', { cause });
      });
      const answer = (i: number, siteId: string) => {
        const [error, hash] = answers?.[i] ?? [new Error('no answer'), null];
        if (error) throw new TransportError(`Redis HGETALL failed for ${siteId}`, { cause: error });
        return hash as Record<string, string>;
      };
      return siteIds.map((siteId, i) =>
        parseFeatureHash(siteId, answer(2 * i, siteId), answer(2 * i + 1, siteId)),
      );
    },
    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {},
  };
}
