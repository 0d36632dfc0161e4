import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  driftEventSchema,
  type FeatureVector,
  natsSubjects,
  retrainRequestSchema,
  Secret,
} from '@reefguard/core';
import {
  type BatchOutcome,
  createMonitoring,
  createProcessorMetrics,
  createSlackNotifier,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isolation } from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');

/** A local stand-in for Slack's incoming webhook: records bodies, can fail on demand. */
function slackReceiver() {
  const texts: string[] = [];
  let failNext = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(500).end('internal_error');
        return;
      }
      texts.push((JSON.parse(body) as { text: string }).text);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return {
    texts,
    failNextRequests: (n: number) => {
      failNext = n;
    },
    start: () => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/x`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const vector = (
  site: string,
  values: FeatureVector['values'],
  day = '2024-02-01',
): FeatureVector => ({
  schema_version: 1,
  site_id: site,
  as_of: `${day}T23:59:59.999Z`,
  computed_at: new Date().toISOString(),
  feature_set_version: 'v1',
  values,
});
const outcome = (vectors: FeatureVector[]): BatchOutcome => ({
  deliveries: [],
  vectors,
  quarantined: [],
  late: [],
  applied: vectors.length,
  duplicates: 0,
});

describe('stream processor - drift, retrain requests and Slack alerts', () => {
  let nc: NatsConnection;
  let redis: Redis;
  let iso: Awaited<ReturnType<typeof isolation>>;
  const slack = slackReceiver();
  beforeAll(async () => {
    iso = await isolation();
    nc = await connect({ servers: natsUrl });
    redis = new Redis(redisUrl);
    await slack.start();
  });
  afterAll(async () => {
    await nc.close();
    await redis.quit();
    await slack.close();
    await iso.cleanup();
  });

  it('sustained PSI > 0.3 gives drift events, a gauge, one retrain request and one Slack alert', async () => {
    const version = `drift-test-${iso.tag}`;
    const card = {
      version,
      features: [
        {
          name: 'sst_daily_mean',
          unit: 'degC',
          mean: 27,
          std: 1.7,
          monotone: 0 as const,
          psi_reference: { edges: [-1e9, 25, 26, 27, 28, 29, 1e9], shares: Array(6).fill(1 / 6) },
        },
      ],
    };
    const drift = nc.subscribe(natsSubjects.drift('sst_daily_mean'));
    const retrain = nc.subscribe(natsSubjects.retrainRequests);
    const events: ReturnType<typeof driftEventSchema.parse>[] = [];
    const requests: ReturnType<typeof retrainRequestSchema.parse>[] = [];
    void (async () => {
      for await (const m of drift) {
        const e = driftEventSchema.parse(m.json());
        if (e.model_version === version) events.push(e);
      }
    })();
    void (async () => {
      for await (const m of retrain) {
        const r = retrainRequestSchema.parse(m.json());
        if (r.id.includes(version)) requests.push(r);
      }
    })();
    // Two processor instances watch the same stream of vectors.
    const instances = [0, 1].map(() => {
      const metrics = createProcessorMetrics();
      const monitoring = createMonitoring({
        nc,
        redis,
        metrics,
        card,
        notifier: createSlackNotifier({ webhookUrl: new Secret(slack.url()) }),
        claimPrefix: `${iso.options.statePrefix}claim:`,
        drift: { windowSize: 60, checkEvery: 20, sustainChecks: 3, sustainMs: 0 },
      });
      return { metrics, monitoring };
    });
    const feed = async (values: number[]) => {
      for (let i = 0; i < values.length; i += 10) {
        const vectors = values
          .slice(i, i + 10)
          .map((v, k) => vector(`s${k}`, { sst_daily_mean: v }));
        for (const { monitoring } of instances) await monitoring.afterAck(outcome(vectors));
      }
    };
    // Live values spread like the training data: PSI 0, nothing happens.
    await feed(Array.from({ length: 120 }, (_, i) => 24.5 + (i % 6)));
    await nc.flush();
    const calm = instances[0]!.monitoring.drift?.psi().sst_daily_mean;
    expect(calm).toBe(0);
    // A marine heatwave: every value in the top bin, for 12 checks.
    await feed(Array.from({ length: 240 }, () => 29.5));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));

    const psi = instances[0]!.monitoring.drift?.psi().sst_daily_mean ?? 0;
    // 5 empty bins floored at 1e-4, one bin holding everything: sum (l - r) ln(l / r).
    const expected = 5 * (1e-4 - 1 / 6) * Math.log(1e-4 / (1 / 6)) + (1 - 1 / 6) * Math.log(6);
    expect(psi).toBeCloseTo(expected, 6);
    const gauge = await instances[0]!.metrics.psi.get();
    expect(gauge.values[0]?.value).toBeCloseTo(expected, 6);
    // 2 instances x 18 checks each, the first 6 calm per instance.
    expect(events.length).toBe(36);
    expect(events.filter((e) => e.drifted).length).toBe(24);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ reason: 'drift', features: ['sst_daily_mean'] });
    expect(slack.texts.filter((t) => t.includes(version))).toHaveLength(1);
    drift.unsubscribe();
    retrain.unsubscribe();
  });

  it('Slack - alert-level rises alert once, retries a failing webhook, and rate-limits', async () => {
    const before = slack.texts.length;
    const monitoring = createMonitoring({
      nc,
      redis,
      metrics: createProcessorMetrics(),
      card: null,
      notifier: createSlackNotifier({ webhookUrl: new Secret(slack.url()), maxPerMinute: 3 }),
    });
    const site = `site-${iso.tag}`;
    slack.failNextRequests(1);
    for (const [level, day] of [
      [0, '2024-02-01'],
      [2, '2024-02-02'],
      [2, '2024-02-03'],
      [4, '2024-02-04'],
      [4, '2024-02-04'],
    ] as const) {
      await monitoring.afterAck(outcome([vector(site, { alert_level: level, dhw: 8 }, day)]));
    }
    const sent = slack.texts.slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toContain('Bleaching Warning on 2024-02-02');
    expect(sent[1]).toContain('Alert Level 2 on 2024-02-04');

    const limited = createSlackNotifier({ webhookUrl: new Secret(slack.url()), maxPerMinute: 2 });
    expect(await limited.notify('a', 'one')).toBe('sent');
    expect(await limited.notify('a', 'one again')).toBe('duplicate');
    expect(await limited.notify('b', 'two')).toBe('sent');
    expect(await limited.notify('c', 'three')).toBe('rate_limited');
  });
});
