import {
  FEATURE_SET_VERSION,
  type FeatureVector,
  ONLINE_TTL_SECONDS,
  onlineFeatureKey,
  TransportError,
  utcDay,
} from '@reefguard/core';
import type { Redis, Result } from 'ioredis';
import { BLOCK_DAYS, DHW_YTD_LUA, type DhwOfDay, dhwYtdKey, packDhwYtd } from './dhw-ytd.js';
import type { FeatureWriter } from './feature-writer.js';
import type { FeatureRow } from './offline-store.js';

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
  writeMany(items: readonly OnlineItem[]): Promise<number>;
  read(siteId: string): Promise<FeatureVector | null>;
}

/** A site's latest vector and the event-state sequence it was computed from. */
export interface OnlineItem {
  vector: FeatureVector;
  seq: number;
}

export const SEQ_FIELD = 'state_seq';

/**
 * Lua: `writeFeatures(key, seq, ttl, packed, ytd)` replaces the site's hash with the packed
 * 'field\tvalue\t' pairs (names, ISO times and numbers: never a tab), `dhw_max_ytd` = `ytd`
 * unless '', the sequence and the TTL, unless the stored sequence is as new; 1 if written.
 */
const WRITE_FEATURES_LUA = `
local function writeFeatures(key, seq, ttl, packed, ytd)
  local stored = tonumber(redis.call('HGET', key, '${SEQ_FIELD}') or '-1')
  if seq <= stored then return 0 end
  local fields = {'${SEQ_FIELD}', seq}
  for name, value in string.gmatch(packed, '([^\t]+)\t([^\t]+)\t') do
    fields[#fields + 1] = name; fields[#fields + 1] = value
  end
  if ytd ~= '' then fields[#fields + 1] = 'dhw_max_ytd'; fields[#fields + 1] = ytd end
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(fields))
  redis.call('EXPIRE', key, ttl)
  return 1
end
`;

/**
 * One script call per batch for every site in it (atomic for all of them, so it needs their
 * keys on one Redis: a single server, or hash tags on Redis Cluster). ARGV: TTL, block days,
 * then per site: seq ('' = no online write), packed fields, year-to-date rows packed
 * 'day,from,dhw;' ('' = none), oldest day kept, 1 January of the latest day's year, the online
 * vector's day. KEYS per site: its feature hash, then its year-to-date DHW hash when it has
 * rows. The site's DHW is stored first, so the hash gets the `dhw_max_ytd` of the vector's day;
 * the reply gives each site's written flag and every row's year-to-date maximum.
 */
const WRITE_BATCH_SCRIPT = `${DHW_YTD_LUA}${WRITE_FEATURES_LUA}
local ttl, B = tonumber(ARGV[1]), tonumber(ARGV[2])
if (#ARGV - 2) % 6 ~= 0 then return redis.error_reply('reefguard online: ' .. #ARGV .. ' arguments, not 2 + 6 per site') end
local wantKeys = 0
for a = 3, #ARGV, 6 do
  wantKeys = wantKeys + (ARGV[a + 2] == '' and 1 or 2)
end
if wantKeys ~= #KEYS then return redis.error_reply('reefguard online: ' .. #KEYS .. ' keys for ' .. wantKeys) end
local out = {}
local kx = 1
for a = 3, #ARGV, 6 do
  local key = KEYS[kx]
  kx = kx + 1
  local maxima, ytd = {}, ''
  if ARGV[a + 2] ~= '' then
    local rows = {}
    for day, from, dhw in string.gmatch(ARGV[a + 2], '([^,;]+),([^,;]+),([^,;]*);') do
      rows[#rows + 1] = {tonumber(day), tonumber(from), dhw}
    end
    maxima = updateYtd(KEYS[kx], tonumber(ARGV[a + 3]), B, tonumber(ARGV[a + 4]), rows)
    kx = kx + 1
    local onlineDay = tonumber(ARGV[a + 5])
    for i, row in ipairs(rows) do if row[1] == onlineDay then ytd = maxima[i] end end
  end
  local written = 0
  if ARGV[a] ~= '' then written = writeFeatures(key, tonumber(ARGV[a]), ttl, ARGV[a + 1], ytd) end
  out[#out + 1] = {written, maxima}
end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardWriteBatch(
      numberOfKeys: number,
      ...keysAndArgs: (string | number)[]
    ): Result<[number, string[]][], Context>;
  }
}

export interface OnlineStoreOptions {
  redis: Redis;
  ttlSeconds?: number;
  /** Key of a site's hash; the core layout by default. */
  keyOf?: (siteId: string) => string;
}

/** One packed argument per site instead of two per field: ioredis and Redis pay per argument. */
function packFeatures(vector: FeatureVector): string {
  let packed = `as_of\t${vector.as_of}\tcomputed_at\t${vector.computed_at}\t`;
  packed += `feature_set_version\t${vector.feature_set_version}\t`;
  // A missing value is absent from the hash, never a stale or made-up number.
  for (const name in vector.values) {
    const value = vector.values[name];
    if (value !== null && value !== undefined) packed += `${name}\t${value}\t`;
  }
  return packed;
}

/** A batch's features for the one-call write (see {@link createRedisFeatureWriter}). */
interface SiteWrite {
  item?: OnlineItem;
  rows?: FeatureRow[];
}

/** Runs the batch script; returns how many hashes were written (rows get `dhw_max_ytd`). */
async function writeBatch(
  redis: Redis,
  keyOf: (siteId: string) => string,
  ttl: number,
  ytdPrefix: string | null,
  bySite: Map<string, SiteWrite>,
): Promise<number> {
  if (bySite.size === 0) return 0;
  const keys: string[] = [];
  const args: (string | number)[] = [ttl, BLOCK_DAYS];
  for (const [site, { item, rows }] of bySite) {
    keys.push(keyOf(site));
    const group: (string | number)[] = [
      item ? item.seq : '',
      item ? packFeatures(item.vector) : '',
      '',
      '',
      '',
      item ? utcDay(Date.parse(item.vector.as_of)) : '',
    ];
    if (ytdPrefix !== null && rows && rows.length > 0) {
      const days: DhwOfDay[] = rows.map((r) => ({ day: r.day, dhw: r.values.dhw ?? Number.NaN }));
      const [keepFrom, thisYear, packed] = packDhwYtd(days);
      group[2] = packed;
      group[3] = keepFrom;
      group[4] = thisYear;
      keys.push(dhwYtdKey(ytdPrefix, site));
    }
    args.push(...group);
  }
  const replies = await redis.reefguardWriteBatch(keys.length, ...keys, ...args);
  let written = 0;
  let i = 0;
  for (const [site, { item, rows }] of bySite) {
    const reply = replies[i++];
    if (!reply) throw new TransportError(`online store: Redis gave no reply for site ${site}`);
    const [wrote, maxima] = reply;
    written += Number(wrote);
    if (maxima.length === 0 || !rows) continue;
    const onlineDay = item ? utcDay(Date.parse(item.vector.as_of)) : Number.NaN;
    rows.forEach((row, k) => {
      const text = maxima[k] ?? '';
      row.values.dhw_max_ytd = text === '' ? null : Number(text);
      if (item && row.day === onlineDay) item.vector.values.dhw_max_ytd = row.values.dhw_max_ytd;
    });
  }
  return written;
}

export function createOnlineStore(options: OnlineStoreOptions): OnlineStore {
  const { redis } = options;
  const ttl = options.ttlSeconds ?? ONLINE_TTL_SECONDS;
  const keyOf = options.keyOf ?? onlineFeatureKey;
  redis.defineCommand('reefguardWriteBatch', { lua: WRITE_BATCH_SCRIPT });
  const writeMany = (items: readonly OnlineItem[]) => {
    // The last item of a site wins within a call, as it would over several calls.
    const bySite = new Map<string, SiteWrite>();
    for (const item of items) bySite.set(item.vector.site_id, { item });
    return writeBatch(redis, keyOf, ttl, null, bySite);
  };
  return {
    async write(vector, seq) {
      return (await writeMany([{ vector, seq }])) === 1;
    },
    writeMany,
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
}

/**
 * The batch's year-to-date DHW update and online write in one Redis script call for all its
 * sites (the DHW under `ytdPrefix`, the layout of {@link createDhwYearToDate}; null: no
 * year-to-date DHW, the online write only). One round trip instead of one script per site and
 * stage; the same per-site rules, atomic for the whole batch.
 */
export function createRedisFeatureWriter(
  options: OnlineStoreOptions & { ytdPrefix: string | null },
): FeatureWriter {
  const { redis, ytdPrefix } = options;
  const ttl = options.ttlSeconds ?? ONLINE_TTL_SECONDS;
  const keyOf = options.keyOf ?? onlineFeatureKey;
  redis.defineCommand('reefguardWriteBatch', { lua: WRITE_BATCH_SCRIPT });
  return {
    write(rows, online) {
      const bySite = new Map<string, SiteWrite>();
      for (const item of online) bySite.set(item.vector.site_id, { item });
      for (const row of rows) {
        const entry = bySite.get(row.siteId);
        if (!entry) bySite.set(row.siteId, { rows: [row] });
        else if (entry.rows) entry.rows.push(row);
        else entry.rows = [row];
      }
      return writeBatch(redis, keyOf, ttl, ytdPrefix, bySite);
    },
  };
}
