import { join } from 'node:path';
import { connect as connectNats } from '@nats-io/transport-node';
import { natsSubjects, startNats } from '@reefguard/core';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../src/index.js';
import { edgeConfig, quietLogger, streamIds, tempDir, waitFor } from './helpers.js';

describe('lifecycle - cloud context in, graceful stop flushes', () => {
  it('takes the cloud feature vector of its site from NATS and flushes the outbox on stop', async () => {
    const temp = await tempDir('edge-life-');
    const nats = await startNats({ dataDir: join(temp.dir, 'nats') });
    const agent = await startAgent(
      edgeConfig({
        STATE_DIR: join(temp.dir, 'agent'),
        TRANSPORT: 'nats',
        NATS_URL: nats.url,
        NATS_STREAM: 'LIFE',
        SOURCE: 'replay',
        REPLAY_GENERATE_COUNT: 5000,
        // Small publish rounds: the forwarder trails the source, so the stop finds a backlog.
        BATCH_SIZE: 20,
      }),
      { logger: quietLogger() },
    );
    const nc = await connectNats({ servers: nats.url });
    try {
      await waitFor(() => agent.health().brokers.nats === true, 10_000, 'the NATS link');
      const vector = (site: string, mmm: number) =>
        JSON.stringify({
          schema_version: 1,
          site_id: site,
          as_of: '2024-01-01T00:00:00Z',
          computed_at: '2024-01-01T00:00:00Z',
          feature_set_version: 'v1',
          values: { mmm, dhw_prev_year_max: 3.2 },
        });
      nc.publish(natsSubjects.features('18-054'), vector('18-054', 28.4));
      nc.publish(natsSubjects.features('other-site'), vector('other-site', 99));
      await waitFor(() => agent.features.values().mmm === 28.4, 5_000, 'the cloud context');
      expect(agent.features.values().dhw_prev_year_max).toBe(3.2);

      const controller = new AbortController();
      const running = agent.run(controller.signal);
      await waitFor(
        async () => ((await agent.metrics.enqueued.get()).values[0]?.value ?? 0) >= 5000,
        15_000,
        'ingest',
      );
      // Stop right after ingest: whatever is still queued must go out before run() returns.
      const depthAtStop = agent.outbox.stats().depth;
      controller.abort();
      await running;
      console.log(
        'graceful stop',
        JSON.stringify({ depthAtStop, depthAfter: agent.outbox.stats().depth }),
      );
      expect(depthAtStop).toBeGreaterThan(0);
      expect(agent.outbox.stats().depth).toBe(0);
      expect((await streamIds(nats.url, 'LIFE')).length).toBe(5000);
    } finally {
      await nc.close();
      await agent.close();
      await nats.stop();
      await temp.remove();
    }
  });
});
