import {
  FEATURE_SET_VERSION,
  type FeatureVector,
  ONLINE_TTL_SECONDS,
  onlineFeatureKey,
} from '@reefguard/core';
import type { Redis, Result } from 'ioredis';

/**
 * The online store: one Redis hash per site (`reefguard:features:{site}`) with the latest
 * value of each feature, its provenance and a TTL of 8 hours, written atomically. Each write
 * carries the event-state sequence it was computed from; an older one (from a slower
 * instance) never overwrites a newer one.
 */
export interface OnlineStore {
  /** Writes the site's vector unless a newer one is stored; true if written. */
  write(vector: FeatureVector, seq: number): Promise<boolean>;
  /** Writes many sites in one round trip; returns how many were written. */
  writeMany(items: readonly { vector: FeatureVector; seq: number }[]): Promise<number>;
  read(siteId: string): Promise<FeatureVector | null>;
}

export const SEQ_FIELD = 'state_seq';

const WRITE_SCRIPT = `
local stored = tonumber(redis.call('HGET', KEYS[1], '${SEQ_FIELD}') or '-1')
local seq = tonumber(ARGV[1])
if seq <= stored then return 0 end
-- ARGV[3] packs 'field\tvalue\t' pairs (names, ISO times and numbers: never a tab).
local fields = {'${SEQ_FIELD}', seq}
for name, value in string.gmatch(ARGV[3], '([^\t]+)\t([^\t]+)\t') do
  fields[#fields + 1] = name; fields[#fields + 1] = value
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardWriteFeatures(key: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

export interface OnlineStoreOptions {
  redis: Redis;
  ttlSeconds?: number;
  /** Key of a site's hash; the core layout by default. */
  keyOf?: (siteId: string) => string;
}

export function createOnlineStore(options: OnlineStoreOptions): OnlineStore {
  const { redis } = options;
  const ttl = options.ttlSeconds ?? ONLINE_TTL_SECONDS;
  const keyOf = options.keyOf ?? onlineFeatureKey;
  redis.defineCommand('reefguardWriteFeatures', { numberOfKeys: 1, lua: WRITE_SCRIPT });
  // One packed argument per site instead of two per field: ioredis and Redis pay per argument.
  const args = (vector: FeatureVector, seq: number): (string | number)[] => {
    let packed = `as_of\t${vector.as_of}\tcomputed_at\t${vector.computed_at}\t`;
    packed += `feature_set_version\t${vector.feature_set_version}\t`;
    // A missing value is absent from the hash, never a stale or made-up number.
    for (const name in vector.values) {
      const value = vector.values[name];
      if (value !== null && value !== undefined) packed += `${name}\t${value}\t`;
    }
    return [seq, ttl, packed];
  };
  const store: OnlineStore = {
    async write(vector, seq) {
      return (
        (await redis.reefguardWriteFeatures(keyOf(vector.site_id), ...args(vector, seq))) === 1
      );
    },
    async writeMany(items) {
      if (items.length === 0) return 0;
      const pipeline = redis.pipeline();
      for (const { vector, seq } of items) {
        pipeline.reefguardWriteFeatures(keyOf(vector.site_id), ...args(vector, seq));
      }
      const replies = (await pipeline.exec()) ?? [];
      let written = 0;
      for (const [error, reply] of replies) {
        if (error) throw error;
        written += Number(reply);
      }
      return written;
    },
    async read(siteId) {
      const hash = await redis.hgetall(keyOf(siteId));
      if (!hash.as_of || !hash.computed_at) return null;
      const values: Record<string, number | null> = {};
      for (const [name, value] of Object.entries(hash)) {
        if (name === 'as_of' || name === 'computed_at' || name === 'feature_set_version') continue;
        if (name === SEQ_FIELD) continue;
        values[name] = Number(value);
      }
      return {
        schema_version: 1,
        site_id: siteId,
        as_of: hash.as_of,
        computed_at: hash.computed_at,
        feature_set_version: hash.feature_set_version ?? FEATURE_SET_VERSION,
        values,
      };
    },
  };
  return store;
}
