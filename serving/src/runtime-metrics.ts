import { monitorEventLoopDelay, PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { Gauge, Histogram, type Registry } from 'prom-client';

/** How often the event-loop monitor samples (ms): fine enough to see a 5 ms stall. */
export const EVENT_LOOP_RESOLUTION_MS = 2;

/** Quantiles of the event-loop delay reported at each scrape ("max" as quantile 1). */
const DELAY_QUANTILES = [0.5, 0.9, 0.99, 0.999, 1] as const;

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * What stalls the process for every request at once, where a latency tail comes from:
 * event-loop delay (quantiles since the previous scrape, as prom-client's default metrics do)
 * and garbage-collection pauses by kind. Returns how to stop observing (the app's onClose).
 */
export function registerRuntimeMetrics(registry: Registry): () => void {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  new Gauge({
    name: 'reefguard_event_loop_delay_seconds',
    help: `Event-loop delay since the previous scrape (sampled every ${EVENT_LOOP_RESOLUTION_MS} ms), by quantile; 1 is the max`,
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      // No sample yet (a scrape right after the previous one): report nothing rather than 0.
      this.reset();
      if (delay.count === 0) return;
      for (const q of DELAY_QUANTILES) {
        const ns = q === 1 ? delay.max : delay.percentile(q * 100);
        this.set({ quantile: String(q) }, ns / 1e9);
      }
      delay.reset();
    },
  });
  const gcPause = new Histogram({
    name: 'reefguard_gc_pause_seconds',
    help: 'Garbage-collection pauses of the main thread, by kind (minor: scavenge, major: mark-compact)',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  });
  const children = new Map<number, Histogram.Internal<'kind'>>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
      let child = children.get(kind);
      if (!child) {
        child = gcPause.labels({ kind: GC_KINDS[kind] ?? 'other' });
        children.set(kind, child);
      }
      child.observe(entry.duration / 1e3);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    delay.disable();
  };
}
