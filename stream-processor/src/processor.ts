import {
  type BuoyReading,
  computeDailyFeatures,
  dayEndIso,
  FEATURE_SET_VERSION,
  type FeatureVector,
} from '@reefguard/core';
import type { Delivery } from './batch-queue.js';
import type { DhwYearToDate } from './dhw-ytd.js';
import type { EventState, SiteApplyResult, SiteWindow, StateReading } from './event-state.js';
import { createFeatureWriter, type FeatureWriter } from './feature-writer.js';
import type { HeatStress } from './heat-stress.js';
import type { ReadingSource } from './jetstream-source.js';
import type { ProcessorMetrics } from './metrics.js';
import type { FeatureRow, LateReading, OfflineStore, StoredReading } from './offline-store.js';
import type { OnlineItem, OnlineStore } from './online-store.js';
import { decodeReading, type QuarantinedItem, quarantinedItem } from './quarantine.js';
import type { SiteProfile, SiteRegistry } from './sites.js';

/** Past days recomputed when a late-but-allowed reading changes one (their rolling values). */
export const MAX_RECOMPUTE_DAYS = 7;

/** What the processor tells the rest of the system after each committed batch. */
export interface BatchOutcome {
  deliveries: readonly Delivery[];
  vectors: readonly FeatureVector[];
  quarantined: readonly QuarantinedItem[];
  late: readonly LateReading[];
  applied: number;
  duplicates: number;
}

export interface ProcessorOptions {
  source: ReadingSource;
  sites: SiteRegistry;
  state: EventState;
  offline: OfflineStore;
  online: OnlineStore;
  heat: HeatStress | null;
  /** Year-to-date maximum DHW per site (`dhw_max_ytd`); omitted, the feature stays empty. */
  dhwYtd?: DhwYearToDate | null;
  /**
   * Writes the year-to-date DHW and the online vectors in one step (on Redis: one script call
   * per batch, `createRedisFeatureWriter`); default: `dhwYtd`, then `online.writeMany`.
   */
  writer?: FeatureWriter;
  metrics: ProcessorMetrics;
  /** Name recorded as the quarantine source, e.g. `jetstream` or `mqtt`. */
  sourceName: string;
  /** Called once the batch's features are in the online store (before the offline commit ends). */
  afterOnline?: (outcome: BatchOutcome) => void;
  /** Called after the batch is committed in both stores and before it is acknowledged. */
  afterCommit?: (outcome: BatchOutcome) => Promise<void> | void;
  /** Called after the acknowledgement (drift, alerts, feature publication). */
  afterAck?: (outcome: BatchOutcome) => Promise<void> | void;
  now?: () => number;
  /** Batches written online but not yet committed offline (default {@link DEFAULT_MAX_IN_FLIGHT}). */
  maxInFlight?: number;
  /** Readings of those batches (default {@link DEFAULT_MAX_IN_FLIGHT_READINGS}). */
  maxInFlightReadings?: number;
  /**
   * Least time between the starts of two offline commits (default: the source's own
   * `commitIntervalMs`, else {@link DEFAULT_OFFLINE_COMMIT_INTERVAL_MS}); batches applied
   * meanwhile share the next one.
   */
  offlineCommitIntervalMs?: number;
  /** Time spent in each stage of a batch (ms) and the batch's size, e.g. for a profile. */
  onStage?: (stage: Stage, ms: number, readings: number) => void;
}

const kindOf = (r: BuoyReading): StateReading['kind'] =>
  r.parameter === 'water_temperature' ? 'w' : r.parameter === 'turbidity' ? 't' : 'o';

/** One stage's time to the metrics (`reefguard_stream_stage_seconds`) and the onStage hook. */
function reportStage(options: ProcessorOptions, stage: Stage, ms: number, readings: number) {
  options.metrics.stageSeconds.observe({ stage }, ms / 1000);
  options.onStage?.(stage, ms, readings);
}

/** Batches applied and written online whose offline commit and ack are still pending. */
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** Their readings: past either bound the loop stops pulling until a commit frees room. */
export const DEFAULT_MAX_IN_FLIGHT_READINGS = 20_000;
/**
 * A DuckDB commit costs ~4-8 ms of CPU whatever its size, so committing whenever the previous
 * commit ends kept DuckDB's thread busy at any rate (at 500 readings/s: 2,234 commits of one or
 * two readings in 10 s, over a core); commits at most every 50 ms delay acks, not features.
 */
export const DEFAULT_OFFLINE_COMMIT_INTERVAL_MS = 50;

/** The timed steps of a batch, in pipeline order (see {@link ProcessorOptions.onStage}). */
export const STAGES = [
  'decode',
  'event_state',
  'features',
  'online_write',
  'offline_commit',
  'offline_wait',
  'ack',
] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The processing loop: decode and check each reading, apply it to the shared event-time
 * state (which says new, duplicate or late), recompute the touched days' features, write
 * them online at once, append readings and features offline, and only then acknowledge. A
 * crash anywhere before the ack means redelivery, and every write is idempotent by reading id
 * (a redelivered reading is a duplicate to the event state, its days are recomputed, the
 * online write carries a newer sequence, the offline append anti-joins ids), so the effect is
 * exactly once.
 *
 * The online write does not wait for DuckDB: a batch's features reach Redis as soon as its
 * state is applied, while the offline commits run one after another behind the loop (DuckDB
 * has one writer), at most one every `offlineCommitIntervalMs`, each taking every batch applied
 * since the last. At most `maxInFlight` batches (`maxInFlightReadings` readings) wait for their
 * offline commit; past that the loop stops pulling, so a slow disk slows intake instead of
 * growing memory. Acks stay in batch order, each after both writes of its batch.
 */
export async function runProcessor(options: ProcessorOptions, signal?: AbortSignal): Promise<void> {
  const onAbort = () => void options.source.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxInFlightReadings = options.maxInFlightReadings ?? DEFAULT_MAX_IN_FLIGHT_READINGS;
  const interval =
    options.offlineCommitIntervalMs ??
    options.source.commitIntervalMs ??
    DEFAULT_OFFLINE_COMMIT_INTERVAL_MS;
  let lastCommitMs = Number.NEGATIVE_INFINITY;
  const writer = writerOf(options);
  const inFlight: { done: Promise<void>; readings: number }[] = [];
  let inFlightReadings = 0;
  let tail: Promise<void> = Promise.resolve();
  const failed: { error?: unknown; yes: boolean } = { yes: false };
  // Applied batches whose offline commit has not started, oldest first, with their online write.
  const uncommitted: { applied: AppliedBatch; online: Promise<void> }[] = [];
  try {
    for await (const batch of options.source.batches()) {
      if (failed.yes) throw failed.error;
      const applied = await applyBatch(options, batch);
      const online = writeOnline(options, applied, writer);
      uncommitted.push({ applied, online });
      const previous = tail;
      tail = (async () => {
        await Promise.all([online, previous]);
        // Every earlier batch is committed by now: this one is either the oldest still waiting
        // or already in an earlier batch's commit.
        if (uncommitted[0]?.applied === applied) {
          const wait = lastCommitMs + interval - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          lastCommitMs = performance.now();
          // Every batch applied since the last commit goes into this one (each commit costs
          // the same fixed work whatever its size); their online writes come first, as the
          // offline rows take their dhw_max_ytd from them. Acks stay in batch order.
          const group = uncommitted.splice(0);
          await Promise.all(group.map((g) => g.online));
          await commitOffline(
            options,
            group.map((g) => g.applied),
          );
        }
        await options.afterCommit?.(applied.outcome);
        const ackStart = performance.now();
        for (const d of batch) d.ack();
        reportStage(options, 'ack', performance.now() - ackStart, batch.length);
        await options.afterAck?.(applied.outcome);
      })();
      // A failed write stops the loop on its next turn, never as an unhandled rejection.
      tail.catch((error: unknown) => {
        if (!failed.yes) Object.assign(failed, { yes: true, error });
      });
      inFlight.push({ done: tail, readings: batch.length });
      inFlightReadings += batch.length;
      if (inFlight.length > maxInFlight || inFlightReadings > maxInFlightReadings) {
        // Time the loop stands still because DuckDB is behind (the next batch waits for it).
        const waitStart = performance.now();
        while (inFlight.length > maxInFlight || inFlightReadings > maxInFlightReadings) {
          const oldest = inFlight.shift();
          if (!oldest) break;
          inFlightReadings -= oldest.readings;
          await oldest.done;
        }
        reportStage(options, 'offline_wait', performance.now() - waitStart, batch.length);
      }
      if (signal?.aborted) break;
    }
    await tail;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A batch applied to the event state, its writes still to commit. */
export interface AppliedBatch {
  outcome: BatchOutcome;
  fresh: StoredReading[];
  repeated: StoredReading[];
  featureRows: FeatureRow[];
  online: OnlineItem[];
  /** The online write went with the state's commit (the Redis writer's `commitWith`). */
  writtenOnline: boolean;
}

/** Applies and writes one batch (all stages, in order, without the ack). */
export async function processBatch(
  options: ProcessorOptions,
  batch: readonly Delivery[],
): Promise<BatchOutcome> {
  const applied = await applyBatch(options, batch);
  await writeOnline(options, applied, writerOf(options));
  await commitOffline(options, applied);
  return applied.outcome;
}

/** The ingestion time of each processor's last batch. */
const lastIngestedMs = new WeakMap<ProcessorOptions, number>();

const writerOf = (options: ProcessorOptions): FeatureWriter =>
  options.writer ?? createFeatureWriter(options.online, options.dhwYtd);

/** Stage 1: decode, check and apply to the shared event state; compute features. */
export async function applyBatch(
  options: ProcessorOptions,
  batch: readonly Delivery[],
): Promise<AppliedBatch> {
  const { sites, metrics } = options;
  const now = options.now ?? Date.now;
  // Strictly increasing per processor: a day recomputed by two batches in the same millisecond
  // must still have one latest row as known at a time (`featuresAsOf` orders by ingestion).
  const ingestedMs = Math.max(now(), (lastIngestedMs.get(options) ?? Number.NEGATIVE_INFINITY) + 1);
  lastIngestedMs.set(options, ingestedMs);
  let stageStart = performance.now();
  const endStage = (stage: Stage) => {
    const end = performance.now();
    reportStage(options, stage, end - stageStart, batch.length);
    stageStart = end;
  };
  const quarantined: QuarantinedItem[] = [];
  const bySite = new Map<string, StoredReading[]>();
  for (const delivery of batch) {
    const decoded = decodeReading(delivery.data, sites, ingestedMs);
    if (!decoded.ok) {
      quarantined.push(
        quarantinedItem(
          options.sourceName,
          decoded.reason,
          decoded.detail,
          delivery.data,
          ingestedMs,
        ),
      );
      metrics.quarantined.inc({ source: options.sourceName, reason: decoded.reason });
      continue;
    }
    const row = { reading: decoded.reading, observedMs: decoded.observedMs, ingestedMs };
    const list = bySite.get(decoded.reading.site_id);
    if (list) list.push(row);
    else bySite.set(decoded.reading.site_id, [row]);
  }

  endStage('decode');

  const fresh: StoredReading[] = [];
  const repeated: StoredReading[] = [];
  const late: LateReading[] = [];
  // Keyed by site and day: a day split over two rounds keeps its complete (last) row only.
  const featureRows = new Map<string, FeatureRow>();
  const online = new Map<string, OnlineItem>();
  let appliedCount = 0;
  let duplicates = 0;
  const computedAt = new Date(ingestedMs).toISOString();
  let stateMs = 0;
  let featuresMs = 0;
  let onlineMs = 0;
  // On Redis the state's commit and the online write are one script call (one round trip):
  // the features are computed from the windows the commit will make, and written with it.
  const commitWith = options.writer?.commitWith?.bind(options.writer);
  // A backlog batch may span weeks of a site; the state returns a 92-day window and at most
  // MAX_RECOMPUTE_DAYS + 1 days are recomputed per application, so the site's readings are
  // applied in rounds of that many days each (arrival order kept): every day gets its row,
  // computed with its full DHW history. A live batch is one round.
  const chunks = new Map([...bySite].map(([site, rows]) => [site, splitByDaySpan(rows)]));
  const rounds = Math.max(0, ...[...chunks.values()].map((c) => c.length));
  for (let round = 0; round < rounds; round++) {
    const stateInput = new Map<string, StateReading[]>();
    const roundRows = new Map<string, StoredReading[]>();
    for (const [site, siteChunks] of chunks) {
      const rows = siteChunks[round];
      if (!rows) continue;
      roundRows.set(site, rows);
      stateInput.set(
        site,
        rows.map((r) => ({
          id: r.reading.id,
          observedMs: r.observedMs,
          kind: kindOf(r.reading),
          value: r.reading.value,
        })),
      );
    }
    // This round's feature rows and online vectors, from the state's results (computed again
    // if the commit meets another writer's change and the state re-applies).
    let roundFeatures = new Map<string, FeatureRow>();
    let roundOnline = new Map<string, OnlineItem>();
    const computeFeatures = (results: Map<string, SiteApplyResult>) => {
      const start = performance.now();
      roundFeatures = new Map();
      roundOnline = new Map();
      for (const [siteId, result] of results) {
        const site = sites.get(siteId) as SiteProfile;
        const { window } = result;
        if (Number.isNaN(window.firstTouchedDay)) continue;
        const fromDay = Math.max(window.firstTouchedDay, window.lastDay - MAX_RECOMPUTE_DAYS);
        for (let day = fromDay; day <= window.lastDay; day++) {
          const values = featuresOfDay(site, window, day, options.heat);
          roundFeatures.set(`${siteId}/${day}`, { siteId, day, ingestedMs, values });
          if (day === window.lastDay) {
            roundOnline.set(siteId, {
              seq: window.seq,
              vector: {
                schema_version: 1,
                site_id: siteId,
                as_of: dayEndIso(day),
                computed_at: computedAt,
                feature_set_version: FEATURE_SET_VERSION,
                values,
              },
            });
          }
        }
      }
      featuresMs += performance.now() - start;
    };
    const stateStart = performance.now();
    const { siteReads, conflicts, dropped } = options.state.counts;
    const onlineBefore = onlineMs;
    const featuresBefore = featuresMs;
    const applied = await options.state.apply(
      stateInput,
      commitWith &&
        (async (results, call) => {
          computeFeatures(results);
          const start = performance.now();
          const stale = await commitWith(
            call,
            [...roundFeatures.values()],
            [...roundOnline.values()],
          );
          onlineMs += performance.now() - start;
          return stale;
        }),
    );
    if (!commitWith) computeFeatures(applied);
    stateMs +=
      performance.now() - stateStart - (onlineMs - onlineBefore) - (featuresMs - featuresBefore);
    metrics.stateSiteReads.inc(options.state.counts.siteReads - siteReads);
    metrics.stateConflicts.inc(options.state.counts.conflicts - conflicts);
    metrics.stateSitesDropped.inc(options.state.counts.dropped - dropped);
    for (const [key, row] of roundFeatures) featureRows.set(key, row);
    for (const [site, item] of roundOnline) online.set(site, item);
    for (const [siteId, rows] of roundRows) {
      const result = applied.get(siteId);
      if (!result) continue;
      result.statuses.forEach((status, i) => {
        const row = rows[i] as StoredReading;
        if (status === 'N') {
          appliedCount += 1;
          fresh.push(row);
        } else if (status === 'D') {
          duplicates += 1;
          repeated.push(row);
        } else {
          repeated.push(row);
          late.push({
            ...row,
            watermarkMs: result.window.watermarkMs,
            reason: 'beyond_allowed_lateness',
          });
        }
      });
    }
  }
  reportStage(options, 'event_state', stateMs, batch.length);
  reportStage(options, 'features', featuresMs, batch.length);
  if (commitWith) reportStage(options, 'online_write', onlineMs, batch.length);
  const rows = [...featureRows.values()];
  const onlineWrites = [...online.values()];
  return {
    outcome: {
      deliveries: batch,
      vectors: onlineWrites.map((o) => o.vector),
      quarantined,
      late,
      applied: appliedCount,
      duplicates,
    },
    fresh,
    repeated,
    featureRows: rows,
    online: onlineWrites,
    writtenOnline: commitWith !== undefined,
  };
}

/**
 * Cuts a site's readings (in arrival order) into runs whose event days span at most
 * MAX_RECOMPUTE_DAYS + 1 days, so that each run's days are all recomputed when it is applied.
 */
export function splitByDaySpan(rows: readonly StoredReading[]): StoredReading[][] {
  const runs: StoredReading[][] = [];
  let current: StoredReading[] = [];
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    const day = Math.floor(row.observedMs / 86_400_000);
    const nextLow = Math.min(low, day);
    const nextHigh = Math.max(high, day);
    if (current.length > 0 && nextHigh - nextLow > MAX_RECOMPUTE_DAYS) {
      runs.push(current);
      current = [];
      low = day;
      high = day;
    } else {
      low = nextLow;
      high = nextHigh;
    }
    current.push(row);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/**
 * Writes the batch's latest features online (Redis by default) with the year-to-date DHW,
 * which the offline rows then carry too; observes latency.
 */
export async function writeOnline(
  options: ProcessorOptions,
  applied: AppliedBatch,
  writer: FeatureWriter = writerOf(options),
): Promise<void> {
  const { deliveries } = applied.outcome;
  if (!applied.writtenOnline) {
    const start = performance.now();
    await writer.write(applied.featureRows, applied.online);
    reportStage(options, 'online_write', performance.now() - start, deliveries.length);
  }
  const doneMs = (options.now ?? Date.now)();
  for (const d of deliveries) options.metrics.latency.observe((doneMs - d.receivedAtMs) / 1000);
  options.afterOnline?.(applied.outcome);
}

/**
 * Appends readings, quarantine, late data and features offline in one DuckDB commit: one batch,
 * or several in application order (a reading repeated across them is kept once).
 */
export async function commitOffline(
  options: ProcessorOptions,
  batches: AppliedBatch | readonly AppliedBatch[],
): Promise<void> {
  const group = Array.isArray(batches) ? batches : [batches as AppliedBatch];
  const { metrics } = options;
  const start = performance.now();
  const fresh = group.flatMap((b) => b.fresh);
  const ids = new Set(fresh.map((r) => r.reading.id));
  const repeated: StoredReading[] = [];
  for (const row of group.flatMap((b) => b.repeated)) {
    if (ids.has(row.reading.id)) continue;
    ids.add(row.reading.id);
    repeated.push(row);
  }
  await options.offline.appendBatch({
    fresh,
    repeated,
    quarantined: group.flatMap((b) => b.outcome.quarantined),
    late: group.flatMap((b) => b.outcome.late),
    features: group.flatMap((b) => b.featureRows),
  });
  const readings = group.reduce((n, b) => n + b.outcome.deliveries.length, 0);
  reportStage(options, 'offline_commit', performance.now() - start, readings);
  for (const { outcome } of group) {
    metrics.readings.inc({ outcome: 'applied' }, outcome.applied);
    metrics.readings.inc({ outcome: 'duplicate' }, outcome.duplicates);
    metrics.readings.inc({ outcome: 'late' }, outcome.late.length);
    metrics.readings.inc({ outcome: 'quarantined' }, outcome.quarantined.length);
  }
  metrics.batches.inc(group.length);
}

/** The features of `day` from the site's window (the window's last day is its watermark day). */
export function featuresOfDay(
  site: SiteProfile,
  window: SiteWindow,
  day: number,
  heat: HeatStress | null,
): FeatureVector['values'] {
  const end = window.meanC.length - (window.lastDay - day);
  const meanC = window.meanC.subarray(0, end);
  return computeDailyFeatures({
    sstMeanC: meanC,
    sstMaxC: window.maxC[end - 1] ?? Number.NaN,
    climatologyC: heat ? heat.climatologyC(site, day) : Number.NaN,
    heat: heat ? heat.ofDay(site, meanC, day) : null,
    turbidity: window.turbidity,
  });
}
