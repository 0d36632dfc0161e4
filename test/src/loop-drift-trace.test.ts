import type { DriftEvent, RetrainRequest } from '@reefguard/core';
import { createDriftMonitor, createProcessorMetrics } from '@reefguard/stream-processor';
import { describe, expect, it } from 'vitest';

/** One feature whose training values split evenly around 2 degC-weeks. */
const card = {
  version: 'trace-card',
  features: [
    {
      name: 'dhw',
      unit: 'degC-weeks',
      mean: 2,
      std: 1,
      monotone: 1 as const,
      psi_reference: { edges: [-1e9, 2, 1e9], shares: [0.5, 0.5] },
    },
  ],
};

const vector = (dhw: number) => ({
  schema_version: 1 as const,
  site_id: 's1',
  as_of: '2024-02-20T23:59:59.999Z',
  computed_at: '2024-02-21T00:00:00.000Z',
  feature_set_version: 'v1',
  values: { dhw },
});

describe('drift monitor - one trace id per drift episode', () => {
  it("an episode's drifted events and its retrain request share one trace; calm checks and the next episode do not", async () => {
    const events: DriftEvent[] = [];
    const requests: RetrainRequest[] = [];
    let day = Date.parse('2026-11-29T00:00:00Z');
    const claims = new Map<string, number>();
    const monitor = createDriftMonitor({
      card,
      publishDrift: async (e) => {
        events.push(e);
      },
      publishRetrain: async (r) => {
        requests.push(r);
      },
      notifier: null,
      metrics: createProcessorMetrics(),
      // Redis SET NX PX semantics on the test's clock: a claim lapses after its TTL.
      claim: async (key, ttlMs) => {
        if ((claims.get(key) ?? 0) > day) return false;
        claims.set(key, day + ttlMs);
        return true;
      },
      windowSize: 20,
      checkEvery: 20,
      sustainChecks: 2,
      sustainMs: 0,
      now: () => day,
    });
    const feed = async (values: number[]) => {
      for (const v of values) await monitor.observe(vector(v));
    };
    const calm = () => Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1 : 3));
    const hot = () => Array.from({ length: 20 }, () => 9);

    await feed(calm()); // check 1: calm
    await feed(hot()); // check 2: drifted, episode A starts
    await feed(hot()); // check 3: drifted, sustained -> retrain request A
    await feed(hot()); // check 4: still episode A
    await feed(calm()); // check 5: calm, episode A ends
    day += 2 * 24 * 3_600_000; // the next day may retrain again
    await feed(hot()); // check 6: episode B
    await feed(hot()); // check 7: retrain request B

    expect(events.map((e) => e.drifted)).toEqual([false, true, true, true, false, true, true]);
    expect(requests).toHaveLength(2);
    const [a, b] = requests as [RetrainRequest, RetrainRequest];
    expect(a.trace_id).not.toBe(b.trace_id);
    expect(events.slice(1, 4).map((e) => e.trace_id)).toEqual([a.trace_id, a.trace_id, a.trace_id]);
    expect(events.slice(5, 7).map((e) => e.trace_id)).toEqual([b.trace_id, b.trace_id]);
    const calmTraces = [events[0]?.trace_id, events[4]?.trace_id];
    expect(calmTraces).not.toContain(a.trace_id);
    expect(calmTraces).not.toContain(b.trace_id);
  });
});
