import {
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

/** Turns one HGETALL answer (layout of core/src/features/online.ts) into a feature vector. */
export function parseFeatureHash(siteId: string, hash: Record<string, string>): OnlineFeatures {
  if (Object.keys(hash).length === 0) return null;
  const values: Record<string, number | null> = {};
  for (const name of FEATURE_NAMES) values[name] = parseValue(hash[name]);
  for (const [field, raw] of Object.entries(hash)) {
    if (!(field in values) && !(ONLINE_META_FIELDS as readonly string[]).includes(field)) {
      values[field] = parseValue(raw);
    }
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
      if (siteIds.length === 1) {
        const siteId = siteIds[0] as string;
        const hash = await redis.hgetall(onlineFeatureKey(siteId)).catch((cause: unknown) => {
          throw new TransportError('the online feature store (Redis) did not answer', { cause });
        });
        return [parseFeatureHash(siteId, hash)];
      }
      // A pipeline sends every HGETALL in one write and reads the answers back together.
      const pipeline = redis.pipeline();
      for (const siteId of siteIds) pipeline.hgetall(onlineFeatureKey(siteId));
      const answers = await pipeline.exec().catch((cause: unknown) => {
        throw new TransportError('the online feature store (Redis) did not answer', { cause });
      });
      return siteIds.map((siteId, i) => {
        const [error, hash] = answers?.[i] ?? [new Error('no answer'), null];
        if (error) throw new TransportError(`Redis HGETALL failed for ${siteId}`, { cause: error });
        return parseFeatureHash(siteId, hash as Record<string, string>);
      });
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
