import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type FeatureVector,
  type LocalServer,
  type PrometheusServer,
  type SlackReceiver,
  slackMessageText,
  startMosquitto,
  startNats,
  startSlackReceiver,
  writeScrapeTargets,
} from '@reefguard/core';
import { type Agent, loadEdgeConfig, startAgent } from '@reefguard/edge-agent';
import {
  createMonitoring,
  createProcessorMetrics,
  type Monitoring,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  featureHash,
  HOT,
  startTestApp,
  type TestApp,
  testSites,
  writeFeatures,
} from '../../serving/test/helpers.js';
import { startFastMonitoring } from './fast-monitoring.js';

const { redisUrl } = inject('stack');
const MONITORING = resolve('infra/monitoring');
const TAG = `mon${process.pid}${Date.now() % 100_000}`;
const DRIFT_FEATURE = 'sst_daily_mean';

/** The metric families a /metrics page exports, with the series names a histogram adds. */
async function exportedNames(url: string): Promise<Set<string>> {
  const text = await (await fetch(url)).text();
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\w+) (\w+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    }
  }
  return names;
}

/** A feature vector as the stream processor emits one per site and day. */
const vector = (site: string, value: number): FeatureVector => ({
  schema_version: 1,
  site_id: site,
  as_of: '2024-02-01T23:59:59.999Z',
  computed_at: new Date().toISOString(),
  feature_set_version: 'v1',
  values: { [DRIFT_FEATURE]: value },
});

interface Grafana {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Array<{
    id: number;
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    targets?: Array<{ expr: string; datasource?: { type: string; uid: string } }>;
    panels?: unknown[];
  }>;
  templating?: { list: Array<{ name: string; query?: unknown; type: string }> };
}

async function dashboards(): Promise<Array<{ file: string; json: Grafana }>> {
  const dir = join(MONITORING, 'grafana', 'dashboards');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      json: JSON.parse(await readFile(join(dir, file), 'utf8')) as Grafana,
    })),
  );
}

/** Grafana's variables replaced by values Prometheus can evaluate directly. */
const evaluable = (expr: string) =>
  expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(\w+)(:\w+)?\}?/g, '.*');

describe('monitoring - real Prometheus and Alertmanager over the real services', () => {
  let dir: string;
  let slack: SlackReceiver;
  let alertmanager: LocalServer;
  let prometheus: PrometheusServer;
  let nats: LocalServer;
  let mosquitto: LocalServer;
  let nc: NatsConnection;
  let redis: Redis;
  let serving: TestApp;
  let servingUrl: string;
  let monitoring: Monitoring;
  let streamMetricsServer: Server;
  let streamUrl: string;
  const agents = new Map<string, Agent>();

  const query = async (q: string) => {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
    return body.data?.result ?? [];
  };
  const until = async <T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs = 20_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'monitoring-'));
    // Private brokers: the drift monitor publishes retrain requests, which no other test's
    // retrain worker may take.
    [slack, nats, mosquitto] = await Promise.all([
      startSlackReceiver({ recordFile: join(dir, 'slack.jsonl') }),
      startNats({ dataDir: join(dir, 'nats') }),
      startMosquitto({ dataDir: join(dir, 'mosquitto') }),
    ]);
    ({ alertmanager, prometheus } = await startFastMonitoring(dir, slack.url));

    // Serving with a champion, answering the risk map of two sites from hot features.
    const sites = testSites(TAG, 2);
    serving = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1' },
      aliases: { champion: '1' },
    });
    for (const site of sites)
      await writeFeatures(serving.redis, site.site_id, featureHash(new Date().toISOString(), HOT));
    servingUrl = await serving.app.listen({ host: '127.0.0.1', port: 0 });
    const map = await fetch(`${servingUrl}/v1/risk-map`);
    expect(map.status).toBe(200);

    // The stream processor's monitoring (drift against a card) and its metrics endpoint.
    nc = await connect({ servers: nats.url });
    redis = new Redis(redisUrl);
    const metrics = createProcessorMetrics();
    monitoring = createMonitoring({
      nc,
      redis,
      metrics,
      notifier: null,
      claimPrefix: `reefguard:test:${TAG}:claim:`,
      card: {
        version: `card-${TAG}`,
        features: [
          {
            name: DRIFT_FEATURE,
            unit: 'degC',
            mean: 27,
            std: 1.7,
            monotone: 0,
            psi_reference: { edges: [-1e9, 25, 26, 27, 28, 29, 1e9], shares: Array(6).fill(1 / 6) },
          },
        ],
      },
      drift: { windowSize: 60, checkEvery: 20, sustainChecks: 3, sustainMs: 0 },
    });
    streamMetricsServer = createServer(async (_req, res) => {
      res.setHeader('content-type', metrics.registry.contentType);
      res.end(await metrics.registry.metrics());
    });
    await new Promise<void>((r) => streamMetricsServer.listen(0, '127.0.0.1', r));
    streamUrl = `http://127.0.0.1:${(streamMetricsServer.address() as AddressInfo).port}`;

    // Two buoy gateways on the private brokers.
    for (const [agentId, siteId] of [
      [`${TAG}-gw-a`, '18-054'],
      [`${TAG}-gw-b`, '19-131'],
    ] as const) {
      const agent = await startAgent(
        loadEdgeConfig(
          {
            AGENT_ID: agentId,
            SITE_ID: siteId,
            STATION_ID: 'davies-buoy',
            STATE_DIR: join(dir, agentId),
            TRANSPORT: 'mqtt',
            MQTT_URL: mosquitto.url,
            SOURCE: 'replay',
            REPLAY_GENERATE_COUNT: 20,
            HEALTH_PORT: 0,
            OUTBOX_FSYNC: 'never',
          },
          {},
        ),
        { logger: pino({ level: 'silent' }) },
      );
      agents.set(agentId, agent);
      await writeScrapeTargets(prometheus.targetsDir, 'edge-agent', agentId, [
        { url: agent.healthUrl as string, labels: { agent_id: agentId, site_id: siteId } },
      ]);
    }
    await writeScrapeTargets(prometheus.targetsDir, 'serving', 'serving', [{ url: servingUrl }]);
    await writeScrapeTargets(prometheus.targetsDir, 'stream-processor', 'sp', [{ url: streamUrl }]);
    await until('all four targets up', async () => {
      const up = await query('up == 1');
      return up.length === 4 ? up : undefined;
    });
  }, 90_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.close();
    await serving?.close();
    await new Promise((r) => streamMetricsServer?.close(r));
    await nc?.close();
    await redis?.quit();
    await prometheus?.stop();
    await alertmanager?.stop();
    await Promise.all([nats?.stop(), mosquitto?.stop(), slack?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('every metric named by a rule or a dashboard is exported by a running service, and every dashboard query evaluates', async () => {
    const exported = new Set<string>();
    const pages = [
      `${servingUrl}/metrics`,
      `${streamUrl}/metrics`,
      `${[...agents.values()][0]?.healthUrl}/metrics`,
    ];
    for (const url of pages) for (const name of await exportedNames(url)) exported.add(name);
    // Spot checks that the scrape really read each service.
    expect(exported).toContain('reefguard_inference_latency_seconds_bucket');
    expect(exported).toContain('reefguard_feature_psi');
    expect(exported).toContain('reefguard_edge_oldest_unsent_age_seconds');

    const rules = await readFile(join(MONITORING, 'rules', 'reefguard.rules.yml'), 'utf8');
    const boards = await dashboards();
    expect(boards.map((b) => b.json.title).sort()).toEqual([
      'ReefGuard - Bleach Risk Heat-Map',
      'ReefGuard - Data Drift PSI',
      'ReefGuard - Edge Fleet',
      'ReefGuard - Model Latency P95',
    ]);
    const exprs = boards.flatMap((b) =>
      b.json.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ where: `${b.file} "${p.title}"`, expr: t.expr })),
      ),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(12);
    const used = new Set(
      [...`${rules}\n${exprs.map((e) => e.expr).join('\n')}`.matchAll(/\b(reefguard_\w+)/g)].map(
        (m) => m[1] as string,
      ),
    );
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing, 'metrics used but not exported').toEqual([]);
    // Prometheus itself parses and evaluates every dashboard query.
    for (const { where, expr } of exprs) {
      await expect(query(evaluable(expr)), where).resolves.toBeDefined();
    }
  });

  it('the risk map puts every site on the geomap with its coordinates', async () => {
    const series = await until('site risk scraped', async () => {
      const r = await query(`reefguard_site_risk{site_id=~"${TAG}-.*"}`);
      return r.length === 2 ? r : undefined;
    });
    const sites = testSites(TAG, 2);
    for (const site of sites) {
      const s = series.find((x) => x.metric.site_id === site.site_id);
      expect(s?.metric).toMatchObject({
        lat: String(site.lat),
        lon: String(site.lon),
        site_name: site.name,
      });
      const risk = Number(s?.value[1]);
      expect(risk).toBeGreaterThanOrEqual(0);
      expect(risk).toBeLessThanOrEqual(1);
    }
  });

  it('drifted input raises the PSI gauge and Slack gets FeatureDriftHigh naming the feature', async () => {
    const feed = async (values: number[]) => {
      for (let i = 0; i < values.length; i += 10) {
        const vectors = values.slice(i, i + 10).map((v, k) => vector(`${TAG}-s${k}`, v));
        await monitoring.afterAck({
          deliveries: [],
          vectors,
          quarantined: [],
          late: [],
          applied: vectors.length,
          duplicates: 0,
        });
      }
    };
    await feed(Array.from({ length: 120 }, (_, i) => 24.5 + (i % 6)));
    // Calm data: the gauge is scraped at 0 and nothing about drift reaches Slack.
    await until('calm PSI scraped', async () => {
      const [s] = await query(`reefguard_feature_psi{feature="${DRIFT_FEATURE}"}`);
      return s && Number(s.value[1]) === 0 ? s : undefined;
    });
    // A marine heatwave: every value in the top bin.
    await feed(Array.from({ length: 240 }, () => 29.5));
    const message = await slack.waitFor((m) =>
      slackMessageText(m).includes(`FeatureDriftHigh feature ${DRIFT_FEATURE}`),
    );
    const attachment = message.payload.attachments?.[0];
    expect(message.payload.channel).toBe('#reefguard-ops');
    expect(attachment?.title).toBe(`[FIRING:1] FeatureDriftHigh feature ${DRIFT_FEATURE}`);
    expect(attachment?.title_link).toBe('docs/runbook.md#drift-storm');
    expect(attachment?.text).toMatch(
      new RegExp(`Feature ${DRIFT_FEATURE} drifted: PSI \\d\\.\\d\\d > 0\\.3`),
    );
    const [psi] = await query(`reefguard_feature_psi{feature="${DRIFT_FEATURE}"}`);
    expect(Number(psi?.value[1])).toBeGreaterThan(0.3);
  });

  it('stopping an edge agent makes Slack get EdgeAgentOffline naming the agent and its site', async () => {
    const agentId = `${TAG}-gw-b`;
    const before = slack.messages().length;
    expect(slack.messages().some((m) => slackMessageText(m).includes(agentId))).toBe(false);
    await agents.get(agentId)?.close();
    agents.delete(agentId);
    const message = await slack.waitFor((m) =>
      slackMessageText(m).includes('EdgeAgentOffline site 19-131'),
    );
    expect(slack.messages().length).toBeGreaterThan(before);
    expect(message.payload.channel).toBe('#reefguard-ops');
    expect(message.payload.attachments?.[0]?.color).toBe('warning');
    expect(slackMessageText(message)).toContain(`Edge agent ${agentId} at site 19-131 is offline`);
    expect(slackMessageText(message)).toContain(`agent \`${agentId}\` site \`19-131\``);
    // The agent still running is not reported.
    expect(slack.messages().some((m) => slackMessageText(m).includes(`${TAG}-gw-a`))).toBe(false);
  });
});
