import type { Redis, Result } from 'ioredis';

/**
 * The event-time state of every site, kept in Redis so that any number of processor instances
 * share it: per-day SST sums, counts and maxima, the site's watermark (latest event time), the
 * latest turbidity and its history, and the ids already applied per day. One Lua script per
 * site and batch de-duplicates, classifies late readings and updates the aggregates
 * atomically, so a redelivered or doubly delivered reading is never counted twice and two
 * instances can never interleave half-applied batches.
 */

/** Days of daily means returned per site: 84-day DHW window, 7 more for the trend, today. */
export const STATE_WINDOW_DAYS = 92;
/** Readings later than this behind the site's watermark go to the late-data table. */
export const DEFAULT_ALLOWED_LATENESS_MS = 6 * 60 * 60 * 1000;

/** One reading to apply: a short parameter code keeps the script's arguments small. */
export interface StateReading {
  id: string;
  observedMs: number;
  /** 'w' water temperature, 't' turbidity, 'o' other (stored, not aggregated). */
  kind: 'w' | 't' | 'o';
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

const SCRIPT = `
local days, seenPrefix = KEYS[1], KEYS[2]
local lateness, ttl, W = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wm = tonumber(redis.call('HGET', days, 'wm') or '-1')
local oldWmDay = math.floor(wm / 86400000)
local statuses = {}
local firstTouched = nil
for i = 4, #ARGV, 4 do
  local id, ms, kind, v = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], tonumber(ARGV[i + 3])
  local day = math.floor(ms / 86400000)
  local seen = seenPrefix .. day
  local status
  if redis.call('SISMEMBER', seen, id) == 1 then
    status = 'D'
  elseif wm >= 0 and ms < wm - lateness then
    status = 'L'
  else
    status = 'N'
    redis.call('SADD', seen, id)
    redis.call('PEXPIRE', seen, ttl)
    if kind == 'w' then
      redis.call('HINCRBY', days, day .. 'n', 1)
      redis.call('HINCRBYFLOAT', days, day .. 's', v)
      local mx = tonumber(redis.call('HGET', days, day .. 'x') or '-1e9')
      if v > mx then redis.call('HSET', days, day .. 'x', v) end
    elseif kind == 't' then
      redis.call('HINCRBY', days, 'tn', 1)
      redis.call('HINCRBYFLOAT', days, 'ts', v)
      redis.call('HINCRBYFLOAT', days, 'tq', v * v)
      if ms >= tonumber(redis.call('HGET', days, 'tms') or '-1') then
        redis.call('HSET', days, 'tms', ms, 'tl', v)
      end
    end
    if ms > wm then wm = ms end
  end
  if status ~= 'L' and (firstTouched == nil or day < firstTouched) then firstTouched = day end
  statuses[#statuses + 1] = status
end
redis.call('HSET', days, 'wm', wm)
local seq = redis.call('HINCRBY', days, 'seq', 1)
local wmDay = math.floor(wm / 86400000)
if oldWmDay >= 0 and wmDay > oldWmDay then
  local from = math.max(oldWmDay - W, wmDay - W - 400)
  for d = from, wmDay - W do
    redis.call('HDEL', days, d .. 'n', d .. 's', d .. 'x')
  end
end
local fields = {}
for d = wmDay - W + 1, wmDay do
  fields[#fields + 1] = d .. 'n'
  fields[#fields + 1] = d .. 's'
  fields[#fields + 1] = d .. 'x'
end
fields[#fields + 1] = 'tl'
fields[#fields + 1] = 'tn'
fields[#fields + 1] = 'ts'
fields[#fields + 1] = 'tq'
local values = redis.call('HMGET', days, unpack(fields))
return {table.concat(statuses), tostring(wm), tostring(firstTouched or ''), values, seq}
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardApply(
      days: string,
      seenPrefix: string,
      ...args: (string | number)[]
    ): Result<[string, string, string, (string | null)[], number], Context>;
  }
}

export function createEventState(options: EventStateOptions): EventState {
  const { redis, prefix } = options;
  const lateness = options.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS;
  // Ids are remembered for the lateness plus two days: an older redelivery is late anyway.
  const seenTtlMs = lateness + 2 * 86_400_000;
  redis.defineCommand('reefguardApply', { numberOfKeys: 2, lua: SCRIPT });
  return {
    async apply(bySite) {
      const pipeline = redis.pipeline();
      const sites = [...bySite.keys()];
      for (const site of sites) {
        const args: (string | number)[] = [lateness, seenTtlMs, STATE_WINDOW_DAYS];
        for (const r of bySite.get(site) ?? []) args.push(r.id, r.observedMs, r.kind, r.value);
        pipeline.reefguardApply(`${prefix}days:${site}`, `${prefix}seen:${site}:`, ...args);
      }
      const replies = (await pipeline.exec()) ?? [];
      const results = new Map<string, SiteApplyResult>();
      sites.forEach((site, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply')];
        if (error) throw error;
        const [statuses, wm, firstTouched, values, seq] = reply as [
          string,
          string,
          string,
          (string | null)[],
          number,
        ];
        results.set(site, {
          statuses: [...statuses] as ApplyStatus[],
          window: toWindow(Number(wm), firstTouched, values, seq),
        });
      });
      return results;
    },
  };
}

function toWindow(
  watermarkMs: number,
  firstTouched: string,
  values: (string | null)[],
  seq: number,
): SiteWindow {
  const meanC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  const maxC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  for (let i = 0; i < STATE_WINDOW_DAYS; i++) {
    const n = Number(values[3 * i] ?? 0);
    if (n > 0) {
      meanC[i] = Number(values[3 * i + 1]) / n;
      maxC[i] = Number(values[3 * i + 2]);
    }
  }
  const t = 3 * STATE_WINDOW_DAYS;
  const tn = Number(values[t + 1] ?? 0);
  let turbidity: SiteWindow['turbidity'] = null;
  if (tn > 0) {
    const mean = Number(values[t + 2]) / tn;
    const variance = Math.max(Number(values[t + 3]) / tn - mean * mean, 0);
    turbidity = { latest: Number(values[t]), n: tn, mean, std: Math.sqrt(variance) };
  }
  return {
    watermarkMs,
    lastDay: Math.floor(watermarkMs / 86_400_000),
    meanC,
    maxC,
    firstTouchedDay: firstTouched === '' ? Number.NaN : Number(firstTouched),
    turbidity,
    seq,
  };
}
