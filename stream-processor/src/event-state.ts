import { TransportError } from '@reefguard/core';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import { dropOldestSites, sitesKeptOf, touchSite } from './sites-kept.js';

/**
 * The event-time state of every site: per-day SST sums, counts and maxima, the site's watermark
 * (latest event time), the latest turbidity and its history, and the ids already applied per
 * day. Redis holds the committed state, so any number of processor instances share it and a
 * restarted one carries on; each instance keeps the sites it has seen in memory and applies a
 * batch there (de-duplicating, classifying late readings, adding to the aggregates), then
 * commits every changed site in one Lua call that checks each site's sequence first: if another
 * instance (or a satellite ingest) committed to one of the sites since this one last saw it,
 * nothing is written, those sites are read again from Redis and the batch is applied to them
 * anew. A redelivered or doubly delivered reading is therefore never counted twice, and two
 * instances never interleave half-applied batches, while the usual case (a site's readings
 * arriving at one instance, as with a consumer partitioned by site) costs one write per site
 * and no reads. The call names every key it touches (each site's day hash, satellite ids and
 * per-day id sets), so it needs them on one Redis: a single server, as the online store is, or
 * on Redis Cluster keys hashed to one slot.
 */

/** Days of daily means returned per site: 84-day DHW window, 7 more for the trend, today. */
export const STATE_WINDOW_DAYS = 92;
/** Readings later than this behind the site's watermark go to the late-data table. */
export const DEFAULT_ALLOWED_LATENESS_MS = 6 * 60 * 60 * 1000;
/** Commits retried after a conflict (another writer) before the batch fails. */
export const MAX_COMMIT_ATTEMPTS = 20;
/**
 * Sites an instance keeps in memory by default, least recently used dropped first (a dropped
 * site is read from Redis again when it next has readings, as after a restart). A buoy site
 * with 5 sensors every 10 minutes takes ~280 kB with its DHW hash (measured: 200 such sites,
 * 400 days), mostly the ids of its last 4 days: 2,000 sites are ~560 MB, within the 1 GiB the
 * Kubernetes deployment gives a replica.
 */
export const DEFAULT_SITES_KEPT = 2_000;

const DAY_MS = 86_400_000;

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

/** A day's water temperature: count, sum and maximum (°C). */
type DayAggregate = [n: number, sum: number, max: number];

/** A site's committed state as this instance knows it (Redis hash fields in brackets). */
interface SiteState {
  /** Commits to the site so far, by anyone [seq]. */
  seq: number;
  /** Watermark, epoch ms, -1 before the first reading [wm]. */
  wm: number;
  /** [{day}n, {day}s, {day}x] */
  days: Map<number, DayAggregate>;
  /** Turbidity count, sum, sum of squares, latest time and value [tn ts tq tms tl]. */
  tn: number;
  ts: number;
  tq: number;
  tms: number;
  tl: number | null;
  /** Ids applied per day, for the days whose ids are all known here [seen:{site}:{day}]. */
  seen: Map<number, Set<string>>;
  /** Satellite scene ids applied, kept for good [satseen:{site}]. */
  satSeen: Set<string>;
}

/** What one batch does to one site, before it is committed. */
interface SiteDraft {
  statuses: ApplyStatus[];
  wm: number;
  /** The changed days' new aggregates. */
  days: Map<number, DayAggregate>;
  /** Days that fall out of the window (deleted from the hash). */
  pruned: number[];
  newIds: Map<number, string[]>;
  satIds: string[];
  turbidity: { tn: number; ts: number; tq: number; tms: number; tl: number | null } | null;
  firstTouchedDay: number;
}

export interface EventState {
  /**
   * Applies one batch; readings grouped by site, results in the same order. With `commitWith`
   * the commit runs inside the caller's script (its writes depend on the results and are made
   * only if the commit is: one round trip for both); on a conflict it is called again with the
   * re-applied results.
   */
  apply(
    bySite: Map<string, StateReading[]>,
    commitWith?: CommitWith,
  ): Promise<Map<string, SiteApplyResult>>;
  /**
   * Since creation: sites read whole from Redis (first sight, after a conflict or after being
   * dropped from memory), sites another writer had changed at commit time (each one read again
   * and re-applied), and sites dropped from memory to stay within `sitesKept`.
   */
  readonly counts: { siteReads: number; conflicts: number; dropped: number };
  /** Sites in memory now (at most `sitesKept` between batches). */
  readonly sitesInMemory: number;
}

export interface EventStateOptions {
  redis: Redis;
  /** Key prefix, e.g. `reefguard:sp:`; tests use their own. */
  prefix: string;
  allowedLatenessMs?: number;
  /** Sites kept in memory (default {@link DEFAULT_SITES_KEPT}), least recently used dropped. */
  sitesKept?: number;
}

/**
 * Lua: `commitState(a, kx)` commits a batch's sites (one call per batch, alone or inside the
 * online write's script: `createRedisFeatureWriter`). ARGV[a] is the id sets' TTL (ms),
 * ARGV[a + 1] the number of sites; then per site: a header 'expected seq,id-set days,satellite
 * ids', the hash fields to set packed 'field\tvalue\t...', the fields to delete packed
 * 'field\t...', per id-set day its id count and ids, then the satellite ids (ids, any string,
 * one argument each; the rest packed because ioredis and Redis pay per argument). KEYS from kx,
 * per site: its day hash, its satellite id set, one id set per day in the order of ARGV. Every
 * site's seq is checked before anything is written; a mismatch writes nothing. Returns the
 * 1-based positions of the sites that changed ({} when all were written), the next ARGV and
 * KEYS index; or nil and an error message.
 */
export const STATE_COMMIT_LUA = `
local function commitState(a0, kx0)
  local ttl, count = tonumber(ARGV[a0]), tonumber(ARGV[a0 + 1])
  if not ttl or not count then return nil, 'reefguard state: no TTL and site count at argument ' .. a0 end
  local groups, stale = {}, {}
  local a, kx = a0 + 2, kx0
  for s = 1, count do
    local expect, ns, nsat = string.match(ARGV[a] or '', '^(%d+),(%d+),(%d+)$')
    if not expect then return nil, 'reefguard state: bad site header at argument ' .. a end
    local g = {days = KEYS[kx], satSeen = KEYS[kx + 1], seenAt = kx + 2, expect = tonumber(expect),
      ns = tonumber(ns), nsat = tonumber(nsat), hash = ARGV[a + 1], deleted = ARGV[a + 2], at = a + 3}
    local p = g.at
    for d = 1, g.ns do p = p + 1 + tonumber(ARGV[p]) end
    g.satAt = p
    a = p + g.nsat
    kx = kx + 2 + g.ns
    groups[#groups + 1] = g
    if tonumber(redis.call('HGET', g.days, 'seq') or '0') ~= g.expect then stale[#stale + 1] = s end
  end
  if a - 1 > #ARGV or kx - 1 > #KEYS then return nil, 'reefguard state: arguments do not add up' end
  if #stale > 0 then return stale, a, kx end
  local function addAll(key, from, n)
    local i = 0
    while i < n do
      local m = math.min(n - i, 1000)
      redis.call('SADD', key, unpack(ARGV, from + i, from + i + m - 1))
      i = i + m
    end
  end
  for _, g in ipairs(groups) do
    local fields = {}
    for f, v in string.gmatch(g.hash, '([^\t]+)\t([^\t]+)\t') do
      fields[#fields + 1] = f; fields[#fields + 1] = v
    end
    redis.call('HSET', g.days, unpack(fields))
    if g.deleted ~= '' then
      local gone = {}
      for f in string.gmatch(g.deleted, '([^\t]+)\t') do gone[#gone + 1] = f end
      redis.call('HDEL', g.days, unpack(gone))
    end
    local p = g.at
    for d = 1, g.ns do
      local n, key = tonumber(ARGV[p]), KEYS[g.seenAt + d - 1]
      addAll(key, p + 1, n)
      redis.call('PEXPIRE', key, ttl)
      p = p + 1 + n
    end
    if g.nsat > 0 then addAll(g.satSeen, g.satAt, g.nsat) end
  end
  return {}, a, kx
end
`;

const COMMIT_SCRIPT = `${STATE_COMMIT_LUA}
local stale, a, kx = commitState(1, 1)
if stale == nil then return redis.error_reply(a) end
if a ~= #ARGV + 1 or kx ~= #KEYS + 1 then return redis.error_reply('reefguard state: arguments do not add up') end
return stale
`;

/**
 * A batch's state commit as keys and arguments of {@link STATE_COMMIT_LUA}, for a caller that
 * runs it inside its own script; `sites` in the order of the reply's positions.
 */
export interface StateCommitCall {
  keys: string[];
  args: (string | number)[];
  sites: string[];
}

/**
 * Runs a batch's state commit together with the caller's own writes (computed from `results`,
 * the windows as they will be once committed) and returns the commit's stale positions
 * (empty: committed); see {@link EventState.apply}.
 */
export type CommitWith = (
  results: Map<string, SiteApplyResult>,
  call: StateCommitCall,
) => Promise<number[]>;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reefguardCommitState(
      numberOfKeys: number,
      ...keysAndArgs: (string | number)[]
    ): Result<number[], Context>;
  }
}

export function createEventState(options: EventStateOptions): EventState {
  const { redis, prefix } = options;
  const lateness = options.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS;
  // Ids are remembered for the lateness plus two days: an older redelivery is late anyway.
  const seenTtlMs = lateness + 2 * DAY_MS;
  const seenDaysKept = Math.ceil(seenTtlMs / DAY_MS) + 1;
  const sitesKept = sitesKeptOf(options.sitesKept ?? DEFAULT_SITES_KEPT, 'event state');
  // In use order, least recent first: a site's entry moves to the end each time it is applied.
  const cache = new Map<string, SiteState>();
  const counts = { siteReads: 0, conflicts: 0, dropped: 0 };
  const daysKey = (site: string) => `${prefix}days:${site}`;
  const satKey = (site: string) => `${prefix}satseen:${site}`;
  const seenKey = (site: string, day: number) => `${prefix}seen:${site}:${day}`;
  // No fixed key count: each call declares every key it touches (see the script).
  redis.defineCommand('reefguardCommitState', { lua: COMMIT_SCRIPT });

  /**
   * Reads what this instance does not know: a site seen for the first time (or changed by
   * another writer) whole, and which of the batch's ids Redis already holds on days whose ids
   * this instance does not all know (it knows them from a day's start on). Returns those ids.
   */
  async function load(bySite: Map<string, StateReading[]>): Promise<Map<string, Set<string>>> {
    // Commands to send, run as one pipeline (none at all when every site and day is known).
    const reads: ((pipeline: ChainableCommander) => void)[] = [];
    const steps: ((reply: unknown) => void)[] = [];
    const applied = new Map<string, Set<string>>();
    const wholeDays: [SiteState, number[]][] = [];
    for (const [site, readings] of bySite) {
      let state = cache.get(site);
      const whole = !state;
      if (state) touchSite(cache, site, state);
      else {
        const fresh = emptyState();
        state = fresh;
        cache.set(site, fresh);
        counts.siteReads += 1;
        reads.push((p) => p.hgetall(daysKey(site)));
        steps.push((reply) => readHash(fresh, reply as Record<string, string>));
        reads.push((p) => p.smembers(satKey(site)));
        steps.push((reply) => {
          for (const id of reply as string[]) fresh.satSeen.add(id);
        });
      }
      const known = state;
      const asked = new Map<number, string[]>();
      for (const r of readings) {
        const day = Math.floor(r.observedMs / DAY_MS);
        if (r.kind === 's' || known.seen.has(day)) continue;
        // A day after the watermark's holds no id yet: a commit that added one would have moved
        // the watermark there (and a commit since this view fails the sequence check).
        if (!whole && day > Math.floor(known.wm / DAY_MS)) {
          known.seen.set(day, new Set());
          continue;
        }
        const ids = asked.get(day);
        if (ids) ids.push(r.id);
        else asked.set(day, [r.id]);
      }
      if (asked.size === 0) continue;
      if (whole) wholeDays.push([known, [...asked.keys()]]);
      const found = new Set<string>();
      applied.set(site, found);
      for (const [day, ids] of asked) {
        reads.push((p) => p.smismember(seenKey(site, day), ...ids));
        steps.push((reply) => {
          (reply as number[]).forEach((flag, k) => {
            if (flag === 1) found.add(ids[k] as string);
          });
        });
      }
    }
    if (steps.length === 0) return applied;
    const pipeline = redis.pipeline();
    for (const read of reads) read(pipeline);
    try {
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([error, reply], i) => {
        if (error) throw new TransportError('event state: reading a site from Redis failed', error);
        steps[i]?.(reply);
      });
    } catch (error) {
      // Half-read sites are not known: the next batch reads them again.
      for (const [site] of bySite) cache.delete(site);
      throw error;
    }
    // The same rule once a site's watermark is read.
    for (const [state, days] of wholeDays) {
      for (const day of days)
        if (day > Math.floor(state.wm / DAY_MS)) state.seen.set(day, new Set());
    }
    return applied;
  }

  function commitCall(drafts: Map<string, SiteDraft>): StateCommitCall {
    const keys: string[] = [];
    const sites = [...drafts.keys()];
    const args: (string | number)[] = [seenTtlMs, sites.length];
    for (const site of sites) {
      const draft = drafts.get(site) as SiteDraft;
      const state = cache.get(site) as SiteState;
      let deleted = '';
      for (const d of draft.pruned) deleted += `${d}n\t${d}s\t${d}x\t`;
      keys.push(daysKey(site), satKey(site));
      args.push(`${state.seq},${draft.newIds.size},${draft.satIds.length}`);
      args.push(hashFields(state, draft), deleted);
      for (const [day, ids] of draft.newIds) {
        keys.push(seenKey(site, day));
        args.push(ids.length, ...ids);
      }
      args.push(...draft.satIds);
    }
    return { keys, args, sites };
  }

  const commitAlone: CommitWith = (_results, call) =>
    redis.reefguardCommitState(call.keys.length, ...call.keys, ...call.args);

  return {
    counts,
    get sitesInMemory() {
      return cache.size;
    },
    async apply(bySite, commitWith = commitAlone) {
      const results = new Map<string, SiteApplyResult>();
      if (bySite.size === 0) return results;
      const drafts = new Map<string, SiteDraft>();
      let pending = bySite;
      for (let attempt = 1; ; attempt++) {
        const applied = await load(pending);
        for (const [site, readings] of pending) {
          const state = cache.get(site) as SiteState;
          const draft = draftSite(state, readings, applied.get(site), lateness);
          drafts.set(site, draft);
          results.set(site, { statuses: draft.statuses, window: draftWindow(state, draft) });
        }
        const call = commitCall(drafts);
        const positions = await commitWith(results, call);
        const stale = positions.map((position) => call.sites[position - 1] as string);
        if (stale.length === 0) break;
        if (attempt >= MAX_COMMIT_ATTEMPTS) {
          throw new TransportError(
            `event state: sites ${stale.join(', ')} changed under this instance ${attempt} times in a row`,
          );
        }
        // Someone else committed to these sites: read them again and redo only their part.
        counts.conflicts += stale.length;
        for (const site of stale) cache.delete(site);
        pending = new Map(stale.map((site) => [site, bySite.get(site) as StateReading[]]));
      }
      for (const [site, draft] of drafts)
        install(cache.get(site) as SiteState, draft, seenDaysKept);
      // Only between batches: a batch's sites stay known from its read to its commit.
      counts.dropped += dropOldestSites(cache, sitesKept);
      return results;
    },
  };
}

const emptyState = (): SiteState => ({
  seq: 0,
  wm: -1,
  days: new Map(),
  tn: 0,
  ts: 0,
  tq: 0,
  tms: -1,
  tl: null,
  seen: new Map(),
  satSeen: new Set(),
});

const DAY_FIELD = /^(-?\d+)([nsx])$/;

/** A site's day hash as stored (HGETALL) into its state. */
function readHash(state: SiteState, hash: Record<string, string>): void {
  const n = new Map<number, number>();
  for (const [field, text] of Object.entries(hash)) {
    const match = DAY_FIELD.exec(field);
    if (match) {
      const day = Number(match[1]);
      const aggregate = state.days.get(day) ?? [0, 0, Number.NEGATIVE_INFINITY];
      const slot = match[2] === 'n' ? 0 : match[2] === 's' ? 1 : 2;
      aggregate[slot] = Number(text);
      state.days.set(day, aggregate);
      if (slot === 0) n.set(day, Number(text));
    }
  }
  for (const day of [...state.days.keys()]) if (!((n.get(day) ?? 0) > 0)) state.days.delete(day);
  state.seq = Number(hash.seq ?? 0);
  state.wm = Number(hash.wm ?? -1);
  state.tn = Number(hash.tn ?? 0);
  state.ts = Number(hash.ts ?? 0);
  state.tq = Number(hash.tq ?? 0);
  state.tms = Number(hash.tms ?? -1);
  state.tl = hash.tl === undefined ? null : Number(hash.tl);
}

/**
 * Applies a site's readings to a copy of what changes: new ids, the day aggregates they add
 * to, turbidity, watermark; the state itself is untouched until the commit succeeds.
 */
function draftSite(
  state: SiteState,
  readings: readonly StateReading[],
  /** Ids of these readings that Redis holds on days whose ids the state does not all know. */
  applied: Set<string> | undefined,
  lateness: number,
): SiteDraft {
  const statuses: ApplyStatus[] = [];
  const days = new Map<number, DayAggregate>();
  const newIds = new Map<number, string[]>();
  const batchIds = new Set<string>();
  const satIds: string[] = [];
  let { wm } = state;
  let turbidity: SiteDraft['turbidity'] = null;
  let firstTouchedDay = Number.NaN;
  const addTurbidity = (ms: number, v: number) => {
    const t = turbidity ?? {
      tn: state.tn,
      ts: state.ts,
      tq: state.tq,
      tms: state.tms,
      tl: state.tl,
    };
    t.tn += 1;
    t.ts += v;
    t.tq += v * v;
    if (ms >= t.tms) {
      t.tms = ms;
      t.tl = v;
    }
    turbidity = t;
  };
  for (const r of readings) {
    const day = Math.floor(r.observedMs / DAY_MS);
    let status: ApplyStatus;
    if (r.kind === 's') {
      // Satellite turbidity: scenes arrive days late, so no lateness and no watermark move;
      // their ids are kept for good (a few per site and week) so a re-ingest never counts twice.
      if (state.satSeen.has(r.id) || batchIds.has(`s${r.id}`)) status = 'D';
      else {
        status = 'N';
        batchIds.add(`s${r.id}`);
        satIds.push(r.id);
        addTurbidity(r.observedMs, r.value);
      }
    } else if (state.seen.get(day)?.has(r.id) || applied?.has(r.id) || batchIds.has(r.id)) {
      status = 'D';
    } else if (wm >= 0 && r.observedMs < wm - lateness) {
      status = 'L';
    } else {
      status = 'N';
      batchIds.add(r.id);
      const ids = newIds.get(day);
      if (ids) ids.push(r.id);
      else newIds.set(day, [r.id]);
      if (r.kind === 'w') {
        let aggregate = days.get(day);
        if (!aggregate) {
          const stored = state.days.get(day);
          aggregate = stored ? [...stored] : [0, 0, Number.NEGATIVE_INFINITY];
          days.set(day, aggregate);
        }
        aggregate[0] += 1;
        aggregate[1] += r.value;
        if (r.value > aggregate[2]) aggregate[2] = r.value;
      } else if (r.kind === 't') {
        addTurbidity(r.observedMs, r.value);
      }
      if (r.observedMs > wm) wm = r.observedMs;
    }
    if (status !== 'L' && r.kind !== 's' && !(day >= firstTouchedDay)) firstTouchedDay = day;
    statuses.push(status);
  }
  const lastKept = Math.floor(wm / DAY_MS) - STATE_WINDOW_DAYS;
  const pruned = [...state.days.keys(), ...days.keys()].filter((d) => d <= lastKept);
  for (const d of pruned) days.delete(d);
  return {
    statuses,
    wm,
    days,
    pruned: [...new Set(pruned)],
    newIds,
    satIds,
    turbidity,
    firstTouchedDay,
  };
}

/** The hash fields a draft sets, packed: changed days, watermark, turbidity, the next sequence. */
function hashFields(state: SiteState, draft: SiteDraft): string {
  let fields = `seq\t${state.seq + 1}\twm\t${draft.wm}\t`;
  for (const [day, [n, sum, max]] of draft.days) {
    fields += `${day}n\t${n}\t${day}s\t${sum}\t${day}x\t${max}\t`;
  }
  const t = draft.turbidity;
  if (t) {
    fields += `tn\t${t.tn}\tts\t${t.ts}\ttq\t${t.tq}\t`;
    if (t.tl !== null) fields += `tms\t${t.tms}\ttl\t${t.tl}\t`;
  }
  return fields;
}

/** A committed draft into the state; id sets of days past the ids' TTL are dropped. */
function install(state: SiteState, draft: SiteDraft, seenDaysKept: number): void {
  state.seq += 1;
  state.wm = draft.wm;
  for (const day of draft.pruned) state.days.delete(day);
  for (const [day, aggregate] of draft.days) state.days.set(day, aggregate);
  // Only days whose ids are all known keep them (the others ask Redis per batch).
  for (const [day, ids] of draft.newIds) {
    const set = state.seen.get(day);
    if (set) for (const id of ids) set.add(id);
  }
  for (const id of draft.satIds) state.satSeen.add(id);
  if (draft.turbidity) Object.assign(state, draft.turbidity);
  const oldestSeen = Math.floor(state.wm / DAY_MS) - seenDaysKept;
  for (const day of state.seen.keys()) if (day < oldestSeen) state.seen.delete(day);
}

/**
 * The site's window as it will be once the draft is committed; the state is untouched (its
 * days first, then the draft's changed days over them; pruned days fall before the window).
 */
function draftWindow(state: SiteState, draft: SiteDraft): SiteWindow {
  const watermarkMs = draft.wm;
  const lastDay = Math.floor(watermarkMs / DAY_MS);
  const meanC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  const maxC = new Float64Array(STATE_WINDOW_DAYS).fill(Number.NaN);
  const firstDay = lastDay - STATE_WINDOW_DAYS + 1;
  for (const days of [state.days, draft.days]) {
    for (const [day, [n, sum, max]] of days) {
      const k = day - firstDay;
      if (k < 0 || k >= STATE_WINDOW_DAYS || !(n > 0)) continue;
      meanC[k] = sum / n;
      maxC[k] = max;
    }
  }
  const t = draft.turbidity ?? state;
  let turbidity: SiteWindow['turbidity'] = null;
  if (t.tn > 0) {
    const mean = t.ts / t.tn;
    const variance = Math.max(t.tq / t.tn - mean * mean, 0);
    turbidity = { latest: Number(t.tl), n: t.tn, mean, std: Math.sqrt(variance) };
  }
  const { firstTouchedDay } = draft;
  return { watermarkMs, lastDay, meanC, maxC, firstTouchedDay, turbidity, seq: state.seq + 1 };
}
