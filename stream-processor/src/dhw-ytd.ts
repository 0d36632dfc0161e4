import type { Redis, Result } from 'ioredis';

/**
 * `dhw_max_ytd`: the maximum daily DHW from 1 January of the as-of day's year to that day (on
 * 31 December: CRW's annual maximum DHW, the label season's physics prior). The processor's
 * event state only keeps 92 days, so every computed day's DHW is also kept per site in one
 * Redis hash (day -> DHW, this year and the last; a recomputed day replaces its value) and
 * one Lua script per site and batch writes the new values and returns the running maxima.
 * Shared by all instances like the rest of the event state.
 */

const SCRIPT = `
local key, keepFrom = KEYS[1], tonumber(ARGV[1])
local n = (#ARGV - 1) / 3
for k = 0, n - 1 do
  local day, dhw = ARGV[2 + 3 * k], ARGV[4 + 3 * k]
  if dhw ~= '' then redis.call('HSET', key, day, dhw) end
end
local all = redis.call('HGETALL', key)
local days, values, stale = {}, {}, {}
for i = 1, #all, 2 do
  local d = tonumber(all[i])
  if d < keepFrom then stale[#stale + 1] = all[i] else
    days[#days + 1] = d; values[#values + 1] = tonumber(all[i + 1])
  end
end
if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
local out = {}
for k = 0, n - 1 do
  local day, from = tonumber(ARGV[2 + 3 * k]), tonumber(ARGV[3 + 3 * k])
  local best = nil
  for j = 1, #days do
    if days[j] >= from and days[j] <= day and (best == nil or values[j] > best) then best = values[j] end
  end
  out[#out + 1] = best and tostring(best) or ''
end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardDhwYtd(key: string, ...args: (string | number)[]): Result<string[], Context>;
  }
}

/** One computed day of a site: its DHW (NaN when unknown). */
export interface DhwOfDay {
  day: number;
  dhw: number;
}

export interface DhwYearToDate {
  /** Stores the days' DHW and returns each day's year-to-date maximum (NaN if none). */
  update(bySite: Map<string, DhwOfDay[]>): Promise<Map<string, number[]>>;
}

/** Days since epoch of 1 January of the year of `day` (UTC). */
export function yearStartDay(day: number): number {
  const year = new Date(day * 86_400_000).getUTCFullYear();
  return Date.UTC(year, 0, 1) / 86_400_000;
}

export function createDhwYearToDate(options: { redis: Redis; prefix: string }): DhwYearToDate {
  const { redis, prefix } = options;
  redis.defineCommand('reefguardDhwYtd', { numberOfKeys: 1, lua: SCRIPT });
  return {
    async update(bySite) {
      const sites = [...bySite.keys()];
      const results = new Map<string, number[]>();
      if (sites.length === 0) return results;
      const pipeline = redis.pipeline();
      for (const site of sites) {
        const days = bySite.get(site) ?? [];
        const latest = Math.max(...days.map((d) => d.day));
        // Keep this year and the last: a late reading may still touch last December.
        const args: (string | number)[] = [yearStartDay(yearStartDay(latest) - 1)];
        for (const { day, dhw } of days) {
          args.push(day, yearStartDay(day), Number.isFinite(dhw) ? dhw : '');
        }
        pipeline.reefguardDhwYtd(`${prefix}dhw:${site}`, ...args);
      }
      const replies = (await pipeline.exec()) ?? [];
      sites.forEach((site, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply')];
        if (error) throw error;
        results.set(
          site,
          (reply as string[]).map((v) => (v === '' ? Number.NaN : Number(v))),
        );
      });
      return results;
    },
  };
}
