import { TransportError } from '@reefguard/core';
import type { Redis, Result } from 'ioredis';

/**
 * The event-time state of every site, kept in Redis so that any number of processor instances
 * share it: per-day SST sums, counts and maxima, the site's watermark (latest event time), the
 * latest turbidity and its history, and the ids already applied per day. One Lua script call
 * per batch de-duplicates, classifies late readings and updates the aggregates of every site
 * in it atomically, so a redelivered or doubly delivered reading is never counted twice and
 * two instances can never interleave half-applied batches. The call names every key it
 * touches (each site's day hash, satellite ids and per-day id sets), so it needs them on one
 * Redis: a single server, as the online store is, or on Redis Cluster keys hashed to one slot.
 */

/** Days of daily means returned per site: 84-day DHW window, 7 more for the trend, today. */
export const STATE_WINDOW_DAYS = 92;
/** Readings later than this behind the site's watermark go to the late-data table. */
export const DEFAULT_ALLOWED_LATENESS_MS = 6 * 60 * 60 * 1000;

/** One reading to apply: a short parameter code keeps the script's arguments small. */
export interface StateReading {
  id: string;
  observedMs: number;
  /**
   * 'w' water temperature, 't' turbidity, 'o' other (stored, not aggregated), 's' satellite
   * turbidity (no lateness, does not move the watermark, ids remembered without expiry).
   */
  kind: 'w' | 't' | 'o' | 's';
  value: number;
}

/** N: newly applied, D: duplicate of an applied reading, L: beyond the allowed lateness. */
export type ApplyStatus = 'N' | 'D' | 'L';

export interface SiteWindow {
  /** Latest event time seen for the site (epoch ms). */
  watermarkMs: number;
  /** Day (since epoch) of the last element of `meanC`. */
  lastDay: number;
  /** Daily mean SST, oldest first, NaN without data; length STATE_WINDOW_DAYS. */
  meanC: Float64Array;
  maxC: Float64Array;
  /** Earliest day a reading of this batch landed in (NaN if none was applied or repeated). */
  firstTouchedDay: number;
  turbidity: { latest: number; n: number; mean: number; std: number } | null;
  /** Increases with every batch applied to the site, by any instance: orders online writes. */
  seq: number;
}

export interface SiteApplyResult {
  statuses: ApplyStatus[];
  window: SiteWindow;
}

// One script call per batch for every site in it (atomic for all of them). Per site, KEYS holds
// its day hash, its satellite ids, then one seen-id set per day listed in its ARGV group; the
// ARGV group is: expected seq, reading count, the days 'd;' (in the order of those keys), the
// readings packed 'ms,kind,value;', then one id per reading. Every group is parsed and checked
// before anything is written, so a bad argument fails the whole script with nothing applied.
const SCRIPT = `
local lateness, ttl, W = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local groups = {}
local a, kx = 4, 1
while a <= #ARGV do
  local g = {days = KEYS[kx], satSeen = KEYS[kx + 1], expectSeq = tonumber(ARGV[a]), idAt = a + 4}
  local count = tonumber(ARGV[a + 1])
  local seenKey, nd = {}, 0
  for d in string.gmatch(ARGV[a + 2], '([^;]+);') do
    nd = nd + 1
    seenKey[tonumber(d)] = KEYS[kx + 1 + nd]
  end
  local msOf, kindOf, valueOf, dayOf = {}, {}, {}, {}
  local k = 0
  for ms, kind, v in string.gmatch(ARGV[a + 3], '([^,;]+),(%a),([^,;]+);') do
    msOf[k] = tonumber(ms); kindOf[k] = kind; valueOf[k] = tonumber(v)
    dayOf[k] = math.floor(msOf[k] / 86400000)
    if kind ~= 's' and not seenKey[dayOf[k]] then
      return redis.error_reply('reefguard state: no id set key for day ' .. dayOf[k] .. ' of ' .. g.days)
    end
    k = k + 1
  end
  if k ~= count then return redis.error_reply('reefguard state: ' .. k .. ' packed readings for ' .. count .. ' ids of ' .. g.days) end
  g.count, g.msOf, g.kindOf, g.valueOf, g.dayOf, g.seenKey = count, msOf, kindOf, valueOf, dayOf, seenKey
  groups[#groups + 1] = g
  a = a + 4 + count
  kx = kx + 2 + nd
end

local function applySite(g)
  local days, satSeen, count = g.days, g.satSeen, g.count
  local msOf, kindOf, valueOf, dayOf = g.msOf, g.kindOf, g.valueOf, g.dayOf
  local wm = tonumber(redis.call('HGET', days, 'wm') or '-1')
  local oldWmDay = math.floor(wm / 86400000)
  local idsByDay = {}
  for k = 0, count - 1 do
    if kindOf[k] ~= 's' then
      local d = dayOf[k]
      local ids = idsByDay[d]
      if not ids then ids = {}; idsByDay[d] = ids end
      ids[#ids + 1] = ARGV[g.idAt + k]
    end
  end
  local seen = {}
  for d, ids in pairs(idsByDay) do
    local flags = redis.call('SMISMEMBER', g.seenKey[d], unpack(ids))
    for j = 1, #ids do if flags[j] == 1 then seen[ids[j]] = true end end
  end
  local statuses, acc, newIds = {}, {}, {}
  local tn, ts, tq, tl = 0, 0, 0, nil
  local tms = tonumber(redis.call('HGET', days, 'tms') or '-1')
  local firstTouched = nil
  for k = 0, count - 1 do
    local id, ms, kind, v = ARGV[g.idAt + k], msOf[k], kindOf[k], valueOf[k]
    local day = dayOf[k]
    local status
    if kind == 's' then
      -- Satellite turbidity: scenes arrive days late, so no lateness and no watermark move;
      -- their ids are kept for good (a few per site and week) so a re-ingest never counts twice.
      if redis.call('SADD', satSeen, id) == 0 then
        status = 'D'
      else
        status = 'N'
        tn = tn + 1; ts = ts + v; tq = tq + v * v
        if ms >= tms then tms = ms; tl = v end
      end
    elseif seen[id] then
      status = 'D'
    elseif wm >= 0 and ms < wm - lateness then
      status = 'L'
    else
      status = 'N'
      seen[id] = true
      local ids = newIds[day]
      if not ids then ids = {}; newIds[day] = ids end
      ids[#ids + 1] = id
      if kind == 'w' then
        local x = acc[day]
        if not x then x = {0, 0, -1e9}; acc[day] = x end
        x[1] = x[1] + 1
        x[2] = x[2] + v
        if v > x[3] then x[3] = v end
      elseif kind == 't' then
        tn = tn + 1; ts = ts + v; tq = tq + v * v
        if ms >= tms then tms = ms; tl = v end
      end
      if ms > wm then wm = ms end
    end
    if status ~= 'L' and kind ~= 's' and (firstTouched == nil or day < firstTouched) then firstTouched = day end
    statuses[#statuses + 1] = status
  end
  for d, ids in pairs(newIds) do
    redis.call('SADD', g.seenKey[d], unpack(ids))
    redis.call('PEXPIRE', g.seenKey[d], ttl)
  end
  for d, x in pairs(acc) do
    redis.call('HINCRBY', days, d .. 'n', x[1])
    redis.call('HINCRBYFLOAT', days, d .. 's', x[2])
    local mx = tonumber(redis.call('HGET', days, d .. 'x') or '-1e9')
    if x[3] > mx then redis.call('HSET', days, d .. 'x', x[3]) end
  end
  if tn > 0 then
    redis.call('HINCRBY', days, 'tn', tn)
    redis.call('HINCRBYFLOAT', days, 'ts', ts)
    redis.call('HINCRBYFLOAT', days, 'tq', tq)
    if tl then redis.call('HSET', days, 'tms', tms, 'tl', tl) end
  end
  redis.call('HSET', days, 'wm', wm)
  local seq = redis.call('HINCRBY', days, 'seq', 1)
  local wmDay = math.floor(wm / 86400000)
  if oldWmDay >= 0 and wmDay > oldWmDay then
    for d = math.max(oldWmDay - W, wmDay - W - 400), wmDay - W do
      redis.call('HDEL', days, d .. 'n', d .. 's', d .. 'x')
    end
  end
  local fields, full = {}, 0
  if seq - 1 == g.expectSeq then
    -- Nobody else wrote since this caller's last view: only the days it just changed.
    for d in pairs(acc) do
      fields[#fields + 1] = d .. 'n'; fields[#fields + 1] = d .. 's'; fields[#fields + 1] = d .. 'x'
    end
  else
    full = 1
    for d = wmDay - W + 1, wmDay do
      fields[#fields + 1] = d .. 'n'; fields[#fields + 1] = d .. 's'; fields[#fields + 1] = d .. 'x'
    end
  end
  fields[#fields + 1] = 'tl'; fields[#fields + 1] = 'tn'; fields[#fields + 1] = 'ts'
  fields[#fields + 1] = 'tq'
  local values = redis.call('HMGET', days, unpack(fields))
  local keys = {}
  if full == 0 then for d in pairs(acc) do keys[#keys + 1] = d end end
  return {table.concat(statuses), tostring(wm), tostring(firstTouched or ''), seq, full, keys, values}
end

local out = {}
for i, g in ipairs(groups) do out[i] = applySite(g) end
return out
`;

export interface EventState {
  /** Applies one batch; readings grouped by site, results in the same order. */
  apply(bySite: Map<string, StateReading[]>): Promise<Map<string, SiteApplyResult>>;
}

export interface EventStateOptions {
  redis: Redis;
  /** Key prefix, e.g. `reefguard:sp:`; tests use their own. */
  prefix: string;
  allowedLatenessMs?: number;
}

/** One site's reply: statuses, watermark, first touched day, seq, full window?, days, values. */
type SiteReply = [string, string, string, number, number, number[], (string | null)[]];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardApplyState(
      numberOfKeys: number,
      ...keysAndArgs: (string | number)[]
    ): Result<SiteReply[], Context>;
  }
}

/** What this instance last saw of a site: day -> [count, sum, max] and the state sequence. */
interface SiteCache {
  seq: number;
  days: Map<number, [number, number, number]>;
}

export function createEventState(options: EventStateOptions): EventState {
  const { redis, prefix } = options;
  const lateness = options.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS;
  // Ids are remembered for the lateness plus two days: an older redelivery is late anyway.
  const seenTtlMs = lateness + 2 * 86_400_000;
  const cache = new Map<string, SiteCache>();
  // No fixed key count: each call declares every key it touches (see the script).
  redis.defineCommand('reefguardApplyState', { lua: SCRIPT });
  return {
    async apply(bySite) {
      const sites = [...bySite.keys()];
      const results = new Map<string, SiteApplyResult>();
      if (sites.length === 0) return results;
      const keys: string[] = [];
      const args: (string | number)[] = [lateness, seenTtlMs, STATE_WINDOW_DAYS];
      for (const site of sites) {
        const readings = bySite.get(site) ?? [];
        // One packed argument for the numbers and kinds, one per id: ioredis and Redis pay per
        // argument, and ids (any string) are the only part that could hold a separator.
        let packed = '';
        let dayList = '';
        const daysKey = `${prefix}days:${site}`;
        keys.push(daysKey, `${prefix}satseen:${site}`);
        const seenDays = new Set<number>();
        args.push(cache.get(site)?.seq ?? -1, readings.length, '', '');
        const at = args.length - 2;
        for (const r of readings) {
          packed += `${r.observedMs},${r.kind},${r.value};`;
          args.push(r.id);
          const day = Math.floor(r.observedMs / 86_400_000);
          if (r.kind !== 's' && !seenDays.has(day)) {
            seenDays.add(day);
            dayList += `${day};`;
            keys.push(`${prefix}seen:${site}:${day}`);
          }
        }
        args[at] = dayList;
        args[at + 1] = packed;
      }
      const replies = await redis.reefguardApplyState(keys.length, ...keys, ...args);
      sites.forEach((site, i) => {
        const reply = replies[i];
        if (!reply) throw new TransportError(`event state: Redis gave no reply for site ${site}`);
        const [statuses, wm, firstTouched, seq, full, changedDays, values] = reply;
        const watermarkMs = Number(wm);
        const lastDay = Math.floor(watermarkMs / 86_400_000);
        let entry = cache.get(site);
        if (!entry || full === 1) {
          entry = { seq, days: new Map() };
          cache.set(site, entry);
          for (let k = 0; k < STATE_WINDOW_DAYS; k++) {
            setDay(entry, lastDay - STATE_WINDOW_DAYS + 1 + k, values, 3 * k);
          }
        } else {
          entry.seq = seq;
          changedDays.forEach((day, k) => {
            setDay(entry as SiteCache, Number(day), values, 3 * k);
          });
        }
        for (const day of entry.days.keys()) {
          if (day <= lastDay - STATE_WINDOW_DAYS) entry.days.delete(day);
        }
        const t = values.length - 4;
        results.set(site, {
          statuses: [...statuses] as ApplyStatus[],
          window: toWindow(entry, watermarkMs, lastDay, firstTouched, values.slice(t), seq),
        });
      });
      return results;
    },
  };
}

function setDay(entry: SiteCache, day: number, values: (string | null)[], at: number) {
  const n = Number(values[at] ?? 0);
  if (n > 0) entry.days.set(day, [n, Number(values[at + 1]), Number(values[at + 2])]);
  else entry.days.delete(day);
}

function toWindow(
  entry: SiteCache,
  watermarkMs: number,
  lastDay: number,
  firstTouched: string,
  turbidityValues: (string | null)[],
  seq: number,
): SiteWindow {
  const meanC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  const maxC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  const firstDay = lastDay - STATE_WINDOW_DAYS + 1;
  for (const [day, [n, sum, max]] of entry.days) {
    const k = day - firstDay;
    if (k < 0 || k >= STATE_WINDOW_DAYS) continue;
    meanC[k] = sum / n;
    maxC[k] = max;
  }
  const [tl, tnText, ts, tq] = turbidityValues;
  const tn = Number(tnText ?? 0);
  let turbidity: SiteWindow['turbidity'] = null;
  if (tn > 0) {
    const mean = Number(ts) / tn;
    const variance = Math.max(Number(tq) / tn - mean * mean, 0);
    turbidity = { latest: Number(tl), n: tn, mean, std: Math.sqrt(variance) };
  }
  return {
    watermarkMs,
    lastDay,
    meanC,
    maxC,
    firstTouchedDay: firstTouched === '' ? Number.NaN : Number(firstTouched),
    turbidity,
    seq,
  };
}
