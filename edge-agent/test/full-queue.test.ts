import { join } from 'node:path';
import { freePort } from '@reefguard/core';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../src/index.js';
import { edgeConfig, quietLogger, tempDir } from './helpers.js';

/** 2,000 readings into a 500-message outbox with no broker reachable. */
async function fillWhileOffline(policy: 'drop-oldest' | 'reject-new') {
  const temp = await tempDir('edge-full-');
  // Nothing listens on this port: the link stays down the whole test.
  const deadPort = await freePort();
  const agent = await startAgent(
    edgeConfig({
      STATE_DIR: join(temp.dir, 'agent'),
      TRANSPORT: 'mqtt',
      MQTT_URL: `mqtt://127.0.0.1:${deadPort}`,
      SOURCE: 'replay',
      REPLAY_GENERATE_COUNT: 2000,
      OUTBOX_MAX_MESSAGES: 500,
      OUTBOX_FULL_POLICY: policy,
    }),
    { logger: quietLogger() },
  );
  try {
    // The link never comes up: the drain gives up at the deadline with the queue full.
    const left = await agent.runOnce(AbortSignal.timeout(1_500));
    const kept = await agent.outbox.peek(1000);
    const metricsText = await (await fetch(`${agent.healthUrl}/metrics`)).text();
    const health = (await (await fetch(`${agent.healthUrl}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    return { left, kept, metricsText, health };
  } finally {
    await agent.close();
    await temp.remove();
  }
}

describe('full queue - the configured policy is applied and reported', () => {
  it('drop-oldest keeps the newest 500 and reports 1,500 dropped', async () => {
    const { left, kept, metricsText, health } = await fillWhileOffline('drop-oldest');
    expect(left).toBe(500);
    expect(kept).toHaveLength(500);
    expect(kept[0]?.id).toBe(
      `davies-buoy/water_temperature/${Date.parse('2024-01-01T00:00:00Z') + 1500 * 600_000}`,
    );
    expect(metricsText).toContain('reefguard_edge_queue_dropped_total{policy="drop-oldest"} 1500');
    expect(metricsText).toContain('reefguard_edge_queue_depth 500');
    expect(health).toMatchObject({
      status: 'degraded',
      queue_depth: 500,
      dropped_total: 1500,
      brokers: { mqtt: false },
    });
  });

  it('reject-new keeps the oldest 500 and reports 1,500 refused', async () => {
    const { kept, metricsText, health } = await fillWhileOffline('reject-new');
    expect(kept).toHaveLength(500);
    expect(kept[0]?.id).toBe(`davies-buoy/water_temperature/${Date.parse('2024-01-01T00:00:00Z')}`);
    expect(metricsText).toContain('reefguard_edge_queue_dropped_total{policy="reject-new"} 1500');
    expect(health).toMatchObject({ queue_depth: 500, dropped_total: 1500 });
  });
});
