import {
  type BuoyReading,
  computeDailyFeatures,
  dayEndIso,
  FEATURE_SET_VERSION,
  type FeatureVector,
} from '@reefguard/core';
import type { Delivery } from './batch-queue.js';
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
 * The processing loop: decode and check each reading, store it, apply it to the shared
 * event-time state, recompute the touched days' features, write them offline and online,
 * and only then acknowledge. A crash anywhere before the ack means redelivery, and every
 * write above is idempotent by reading id, so the effect is exactly once.
 */
export async function runProcessor(options: ProcessorOptions, signal?: AbortSignal): Promise<void> {
  const onAbort = () => void options.source.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const batch of options.source.batches()) {
      const outcome = await processBatch(options, batch);
      await options.afterCommit?.(outcome);
      for (const d of batch) d.ack();
      await options.afterAck?.(outcome);
      if (signal?.aborted) break;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export async function processBatch(
  options: ProcessorOptions,
  batch: readonly Delivery[],
): Promise<BatchOutcome> {
  const { sites, metrics } = options;
  const now = options.now ?? Date.now;
  const ingestedMs = now();
  const stored: StoredReading[] = [];
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
    stored.push(row);
    const list = bySite.get(decoded.reading.site_id);
    if (list) list.push(row);
    else bySite.set(decoded.reading.site_id, [row]);
  }

  await options.offline.appendReadings(stored);
  await options.offline.appendQuarantine(quarantined);

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
      if (status === 'N') appliedCount += 1;
      else if (status === 'D') duplicates += 1;
      else {
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
  await options.offline.appendLate(late);
  await options.offline.appendFeatures(featureRows);
  await options.online.writeMany(online);

  const doneMs = now();
  for (const d of batch) metrics.latency.observe((doneMs - d.receivedAtMs) / 1000);
  metrics.readings.inc({ outcome: 'applied' }, appliedCount);
  metrics.readings.inc({ outcome: 'duplicate' }, duplicates);
  metrics.readings.inc({ outcome: 'late' }, late.length);
  metrics.readings.inc({ outcome: 'quarantined' }, quarantined.length);
  metrics.batches.inc();
  return {
    deliveries: batch,
    vectors: online.map((o) => o.vector),
    quarantined,
    late,
    applied: appliedCount,
    duplicates,
  };
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
