import {
  type BuoyReading,
  computeDailyFeatures,
  dayEndIso,
  FEATURE_SET_VERSION,
  type FeatureVector,
} from '@reefguard/core';
import type { Delivery } from './batch-queue.js';
import type { DhwYearToDate } from './dhw-ytd.js';
import type { EventState, SiteWindow, StateReading } from './event-state.js';
import type { HeatStress } from './heat-stress.js';
import type { ReadingSource } from './jetstream-source.js';
import type { ProcessorMetrics } from './metrics.js';
import type { FeatureRow, LateReading, OfflineStore, StoredReading } from './offline-store.js';
import type { OnlineStore } from './online-store.js';
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
  metrics: ProcessorMetrics;
  /** Name recorded as the quarantine source, e.g. `jetstream` or `mqtt`. */
  sourceName: string;
  /** Called after the batch is committed and before it is acknowledged. */
  afterCommit?: (outcome: BatchOutcome) => Promise<void> | void;
  /** Called after the acknowledgement (drift, alerts, feature publication). */
  afterAck?: (outcome: BatchOutcome) => Promise<void> | void;
  now?: () => number;
}

const kindOf = (r: BuoyReading): StateReading['kind'] =>
  r.parameter === 'water_temperature' ? 'w' : r.parameter === 'turbidity' ? 't' : 'o';

/**
 * The processing loop: decode and check each reading, apply it to the shared event-time
 * state (which says new, duplicate or late), recompute the touched days' features, write
 * readings and features offline and online, and only then acknowledge. A crash anywhere
 * before the ack means redelivery, and every write above is idempotent by reading id, so the
 * effect is exactly once.
 *
 * Two batches are in flight: while one is written to DuckDB and Redis, the next one is
 * applied to the event state, so Redis's Lua time overlaps DuckDB's commit. Acks stay in
 * batch order; a crash in between only means more redelivered duplicates.
 */
export async function runProcessor(options: ProcessorOptions, signal?: AbortSignal): Promise<void> {
  const onAbort = () => void options.source.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let previous: Promise<void> = Promise.resolve();
    for await (const batch of options.source.batches()) {
      const applied = await applyBatch(options, batch);
      await previous;
      previous = (async () => {
        const outcome = await commitBatch(options, applied);
        await options.afterCommit?.(outcome);
        for (const d of batch) d.ack();
        await options.afterAck?.(outcome);
      })();
      // Surface a failed commit on the next turn instead of as an unhandled rejection.
      previous.catch(() => undefined);
      if (signal?.aborted) break;
    }
    await previous;
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
  online: { vector: FeatureVector; seq: number }[];
}

/** Applies and commits one batch (both stages, in order). */
export async function processBatch(
  options: ProcessorOptions,
  batch: readonly Delivery[],
): Promise<BatchOutcome> {
  return commitBatch(options, await applyBatch(options, batch));
}

/** Stage 1: decode, check and apply to the shared event state; compute features. */
export async function applyBatch(
  options: ProcessorOptions,
  batch: readonly Delivery[],
): Promise<AppliedBatch> {
  const { sites, metrics } = options;
  const now = options.now ?? Date.now;
  const ingestedMs = now();
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

  const stateInput = new Map<string, StateReading[]>();
  for (const [site, rows] of bySite) {
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
  const applied = await options.state.apply(stateInput);

  const fresh: StoredReading[] = [];
  const repeated: StoredReading[] = [];
  const late: LateReading[] = [];
  const featureRows: FeatureRow[] = [];
  const online: { vector: FeatureVector; seq: number }[] = [];
  let appliedCount = 0;
  let duplicates = 0;
  const computedAt = new Date(ingestedMs).toISOString();
  for (const [siteId, rows] of bySite) {
    const result = applied.get(siteId);
    const site = sites.get(siteId) as SiteProfile;
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
    const { window } = result;
    if (Number.isNaN(window.firstTouchedDay)) continue;
    const fromDay = Math.max(window.firstTouchedDay, window.lastDay - MAX_RECOMPUTE_DAYS);
    for (let day = fromDay; day <= window.lastDay; day++) {
      const values = featuresOfDay(site, window, day, options.heat);
      featureRows.push({ siteId, day, ingestedMs, values });
      if (day === window.lastDay) {
        online.push({
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
  await addDhwMaxYtd(options.dhwYtd, featureRows);
  return {
    outcome: {
      deliveries: batch,
      vectors: online.map((o) => o.vector),
      quarantined,
      late,
      applied: appliedCount,
      duplicates,
    },
    fresh,
    repeated,
    featureRows,
    online,
  };
}

/** Stage 2: write readings, quarantine, late data and features offline, and features online. */
export async function commitBatch(
  options: ProcessorOptions,
  applied: AppliedBatch,
): Promise<BatchOutcome> {
  const { outcome, metrics } = { outcome: applied.outcome, metrics: options.metrics };
  // Both stores are idempotent and the ack waits for both: their round trips overlap.
  await Promise.all([
    options.offline.appendBatch({
      fresh: applied.fresh,
      repeated: applied.repeated,
      quarantined: outcome.quarantined,
      late: outcome.late,
      features: applied.featureRows,
    }),
    options.online.writeMany(applied.online),
  ]);
  const doneMs = (options.now ?? Date.now)();
  for (const d of outcome.deliveries) metrics.latency.observe((doneMs - d.receivedAtMs) / 1000);
  metrics.readings.inc({ outcome: 'applied' }, outcome.applied);
  metrics.readings.inc({ outcome: 'duplicate' }, outcome.duplicates);
  metrics.readings.inc({ outcome: 'late' }, outcome.late.length);
  metrics.readings.inc({ outcome: 'quarantined' }, outcome.quarantined.length);
  metrics.batches.inc();
  return outcome;
}

/**
 * Sets `dhw_max_ytd` on every row (in place: the online vectors share the rows' values) from
 * the year-to-date DHW store, after storing the rows' own DHW.
 */
export async function addDhwMaxYtd(
  store: DhwYearToDate | null | undefined,
  rows: readonly FeatureRow[],
): Promise<void> {
  if (!store || rows.length === 0) return;
  const bySite = new Map<string, FeatureRow[]>();
  for (const row of rows) {
    const list = bySite.get(row.siteId);
    if (list) list.push(row);
    else bySite.set(row.siteId, [row]);
  }
  const maxima = await store.update(
    new Map(
      [...bySite].map(([site, list]) => [
        site,
        list.map((r) => ({ day: r.day, dhw: r.values.dhw ?? Number.NaN })),
      ]),
    ),
  );
  for (const [site, list] of bySite) {
    const values = maxima.get(site) ?? [];
    list.forEach((row, i) => {
      const v = values[i] ?? Number.NaN;
      row.values.dhw_max_ytd = Number.isFinite(v) ? v : null;
    });
  }
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
