import type { Redis, Result } from 'ioredis';

/**
 * `dhw_max_ytd`: the maximum daily DHW from 1 January of the as-of day's year to that day (on
 * 31 December: CRW's annual maximum DHW, the label season's physics prior). The processor's
 * event state only keeps 92 days, so every computed day's DHW is also kept per site in one
 * Redis hash (day -> DHW, this year and the last; a recomputed day replaces its value) with
 * the maximum of each 32-day block of a year beside them; a Lua function writes the new
 * values, refreshes their blocks and returns the running maxima. The processor runs it inside
 * the batch's online write (one script call for both, online-store.ts); this store runs it on
 * its own (satellite turbidity, other online stores). Shared by all instances like the rest of
 * the event state.
 */

/**
 * Lua: `updateYtd(key, keepFrom, B, thisYear, rows)` stores each row `{day, from, dhw}` (dhw as
 * text, '' when unknown; from = 1 January of the day's year) in the site's hash `key` and
 * returns each row's year-to-date maximum as stored ('' if none). Shared by this store's own
 * script and the online write that folds it in (online-store.ts).
 */
export const DHW_YTD_LUA = `
local function blockField(from, b) return 'b' .. from .. ':' .. b end
-- The largest of the stored texts, returned as stored (no round trip through a Lua number).
local function maxOf(values)
  local best, text = nil, nil
  for _, v in ipairs(values) do
    if v then
      local x = tonumber(v)
      if best == nil or x > best then best = x; text = v end
    end
  end
  return text
end
local function updateYtd(key, keepFrom, B, thisYear, rows)
  local function blockMax(from, b)
    local lo = from + B * b
    local fields = {}
    for d = lo, lo + B - 1 do fields[#fields + 1] = d end
    return maxOf(redis.call('HMGET', key, unpack(fields)))
  end
  local function setBlock(from, b)
    local best = blockMax(from, b)
    if best then redis.call('HSET', key, blockField(from, b), best)
    else redis.call('HDEL', key, blockField(from, b)) end
  end
  -- 'kf': the oldest day kept. Days before it (and their blocks) are dropped once, when it moves;
  -- a hash without it (written before the blocks existed) gets its blocks built here.
  -- 'ld': no stored day is later (a hash written before it had one gets it from its fields).
  local meta = redis.call('HMGET', key, 'kf', 'ld')
  local kf, ld = tonumber(meta[1] or ''), tonumber(meta[2] or '')
  if kf == nil then
    local all = redis.call('HGETALL', key)
    local blocks = {}
    for i = 1, #all, 2 do
      local d = tonumber(all[i])
      if d then
        if d < keepFrom then redis.call('HDEL', key, all[i]) else
          local from = d >= thisYear and thisYear or keepFrom
          blocks[from .. ':' .. math.floor((d - from) / B)] = {from, math.floor((d - from) / B)}
        end
      end
    end
    for _, fb in pairs(blocks) do setBlock(fb[1], fb[2]) end
    redis.call('HSET', key, 'kf', keepFrom)
  elseif keepFrom > kf then
    local stale = {}
    for d = math.max(kf, keepFrom - 800), keepFrom - 1 do stale[#stale + 1] = d end
    for b = 0, 11 do stale[#stale + 1] = blockField(kf, b) end
    redis.call('HDEL', key, unpack(stale))
    redis.call('HSET', key, 'kf', keepFrom)
  end
  if ld == nil then
    ld = -1
    for _, f in ipairs(redis.call('HKEYS', key)) do
      local d = tonumber(f)
      if d and d > ld then ld = d end
    end
  end
  local storedLd = ld
  local touched = {}
  for _, row in ipairs(rows) do
    local day, from, dhw = row[1], row[2], row[3]
    if dhw ~= '' then
      local b, v = math.floor((day - from) / B), tonumber(dhw)
      local field = blockField(from, b)
      local now = redis.call('HMGET', key, day, field)
      local old, top = tonumber(now[1] or ''), tonumber(now[2] or '')
      if top == nil or v > top then
        redis.call('HSET', key, day, dhw, field, dhw)
      else
        redis.call('HSET', key, day, dhw)
        if old ~= nil and old >= top and v < old then
          -- The block's maximum was lowered: read its days again (once per block, below).
          touched[from .. ':' .. b] = {from, b}
        end
      end
      if day > ld then ld = day end
    end
  end
  for _, fb in pairs(touched) do setBlock(fb[1], fb[2]) end
  if ld ~= storedLd then redis.call('HSET', key, 'ld', ld) end
  -- 'v': the hash's version, for a writer that keeps a copy of it (planDhwYtd).
  redis.call('HINCRBY', key, 'v', 1)
  local out = {}
  for _, row in ipairs(rows) do
    local day, from = row[1], row[2]
    local b = math.floor((day - from) / B)
    local fields = {}
    if day >= ld then
      -- No stored day after this one: its block's maximum is the maximum up to it.
      for j = 0, b do fields[#fields + 1] = blockField(from, j) end
    else
      for j = 0, b - 1 do fields[#fields + 1] = blockField(from, j) end
      for d = from + B * b, day do fields[#fields + 1] = d end
    end
    out[#out + 1] = maxOf(redis.call('HMGET', key, unpack(fields))) or ''
  end
  return out
end
`;

const SCRIPT = `${DHW_YTD_LUA}
local rows = {}
for k = 4, #ARGV - 2, 3 do
  rows[#rows + 1] = {tonumber(ARGV[k]), tonumber(ARGV[k + 1]), ARGV[k + 2]}
end
return updateYtd(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), rows)
`;

/**
 * Days per block of a year whose maximum is kept as a field of its own: a day's year-to-date
 * maximum reads at most 11 blocks and 32 days instead of the whole hash.
 */
export const BLOCK_DAYS = 32;

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

/**
 * A site's year-to-date update as the online write's script takes it: the oldest day kept
 * (1 January of last year: a late reading may still touch last December), 1 January of the
 * latest day's year, and the days packed 'day,from,dhw;' (from = 1 January of the day's year,
 * dhw '' when unknown).
 */
export function packDhwYtd(days: readonly DhwOfDay[]): [number, number, string] {
  let latest = Number.NEGATIVE_INFINITY;
  let packed = '';
  for (const { day, dhw } of days) {
    if (day > latest) latest = day;
    packed += `${day},${yearStartDay(day)},${Number.isFinite(dhw) ? dhw : ''};`;
  }
  const thisYear = yearStartDay(latest);
  return [yearStartDay(thisYear - 1), thisYear, packed];
}

/** The Redis hash of a site's stored DHW days and block maxima. */
export const dhwYtdKey = (prefix: string, siteId: string): string => `${prefix}dhw:${siteId}`;

/** The year of the last call (days since epoch of its 1 January and of the next): most calls hit it. */
let lastYear = { from: Number.NaN, next: Number.NaN };

/** Days since epoch of 1 January of the year of `day` (UTC). */
export function yearStartDay(day: number): number {
  if (day >= lastYear.from && day < lastYear.next) return lastYear.from;
  const year = new Date(day * 86_400_000).getUTCFullYear();
  lastYear = {
    from: Date.UTC(year, 0, 1) / 86_400_000,
    next: Date.UTC(year + 1, 0, 1) / 86_400_000,
  };
  return lastYear.from;
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
        const thisYear = yearStartDay(latest);
        const args: (string | number)[] = [yearStartDay(thisYear - 1), BLOCK_DAYS, thisYear];
        for (const { day, dhw } of days) {
          args.push(day, yearStartDay(day), Number.isFinite(dhw) ? dhw : '');
        }
        pipeline.reefguardDhwYtd(dhwYtdKey(prefix, site), ...args);
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

/**
 * What one batch does to a site's DHW hash, worked out on a copy of the hash (the same rule as
 * `updateYtd` in {@link DHW_YTD_LUA}, step for step): the fields to set and to delete, and each
 * row's year-to-date maximum as stored text ('' if none). A processor that keeps the hashes of
 * its sites in memory writes these changes with its state commit instead of running the rule in
 * Redis; the hash's version `v` (raised by every writer) tells it when its copy is out of date.
 */
export interface DhwYtdPlan {
  set: Map<string, string>;
  deleted: Set<string>;
  maxima: string[];
}

const DAY_FIELD = /^-?\d+$/;

/** The largest of the texts, as stored (compared as numbers), or null. */
function maxText(values: Iterable<string | null>): string | null {
  let best = Number.NEGATIVE_INFINITY;
  let text: string | null = null;
  for (const v of values) {
    if (v === null) continue;
    const x = Number(v);
    if (text === null || x > best) {
      best = x;
      text = v;
    }
  }
  return text;
}

/**
 * Plans one site's year-to-date update on `hash` (field -> text, as HGETALL gives it; left
 * untouched): `days` as the online write packs them (`packDhwYtd`).
 */
export function planDhwYtd(
  hash: ReadonlyMap<string, string>,
  days: readonly DhwOfDay[],
  blockDays = BLOCK_DAYS,
): DhwYtdPlan {
  let latest = Number.NEGATIVE_INFINITY;
  for (const { day } of days) if (day > latest) latest = day;
  const thisYear = yearStartDay(latest);
  const keepFrom = yearStartDay(thisYear - 1);
  const B = blockDays;
  const changed = new Map<string, string | null>();
  const get = (field: string): string | null =>
    changed.has(field) ? (changed.get(field) ?? null) : (hash.get(field) ?? null);
  const num = (field: string): number | null => {
    const text = get(field);
    return text === null ? null : Number(text);
  };
  /** Every field of the hash as changed so far. */
  const fields = () => {
    const all = new Set(hash.keys());
    for (const [f, v] of changed) {
      if (v === null) all.delete(f);
      else all.add(f);
    }
    return all;
  };
  const blockField = (from: number, b: number) => `b${from}:${b}`;
  const setBlock = (from: number, b: number) => {
    const lo = from + B * b;
    const texts: (string | null)[] = [];
    for (let d = lo; d < lo + B; d++) texts.push(get(String(d)));
    changed.set(blockField(from, b), maxText(texts));
  };
  const kf = num('kf');
  let ld = num('ld');
  if (kf === null) {
    const blocks = new Map<string, [number, number]>();
    for (const f of fields()) {
      if (!DAY_FIELD.test(f)) continue;
      const d = Number(f);
      if (d < keepFrom) changed.set(f, null);
      else {
        const from = d >= thisYear ? thisYear : keepFrom;
        const b = Math.floor((d - from) / B);
        blocks.set(`${from}:${b}`, [from, b]);
      }
    }
    for (const [from, b] of blocks.values()) setBlock(from, b);
    changed.set('kf', String(keepFrom));
  } else if (keepFrom > kf) {
    for (let d = Math.max(kf, keepFrom - 800); d <= keepFrom - 1; d++) changed.set(String(d), null);
    for (let b = 0; b <= 11; b++) changed.set(blockField(kf, b), null);
    changed.set('kf', String(keepFrom));
  }
  if (ld === null) {
    ld = -1;
    for (const f of fields()) if (DAY_FIELD.test(f) && Number(f) > ld) ld = Number(f);
  }
  const storedLd = ld;
  const touched = new Map<string, [number, number]>();
  const rows = days.map(({ day, dhw }) => ({
    day,
    from: yearStartDay(day),
    dhw: Number.isFinite(dhw) ? String(dhw) : '',
  }));
  for (const { day, from, dhw } of rows) {
    if (dhw === '') continue;
    const b = Math.floor((day - from) / B);
    const v = Number(dhw);
    const field = blockField(from, b);
    const old = num(String(day));
    const top = num(field);
    changed.set(String(day), dhw);
    if (top === null || v > top) changed.set(field, dhw);
    else if (old !== null && old >= top && v < old) touched.set(`${from}:${b}`, [from, b]);
    if (day > ld) ld = day;
  }
  for (const [from, b] of touched.values()) setBlock(from, b);
  if (ld !== storedLd) changed.set('ld', String(ld));
  const maxima = rows.map(({ day, from }) => {
    const b = Math.floor((day - from) / B);
    const texts: (string | null)[] = [];
    const lastBlock = day >= (ld as number) ? b : b - 1;
    for (let j = 0; j <= lastBlock; j++) texts.push(get(blockField(from, j)));
    if (day < (ld as number)) for (let d = from + B * b; d <= day; d++) texts.push(get(String(d)));
    return maxText(texts) ?? '';
  });
  const set = new Map<string, string>();
  const deleted = new Set<string>();
  for (const [f, v] of changed) {
    if (v !== null) {
      if (hash.get(f) !== v) set.set(f, v);
    } else if (hash.has(f)) deleted.add(f);
  }
  return { set, deleted, maxima };
}
