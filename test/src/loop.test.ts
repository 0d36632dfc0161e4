import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type DriftEvent,
  driftEventSchema,
  FEATURE_NAMES,
  type FeatureVector,
  type LocalServer,
  type ModelAnnouncement,
  modelAnnouncementSchema,
  natsSubjects,
  type PrometheusServer,
  type RetrainRequest,
  type RetrainResult,
  type RolloutDecision,
  retrainRequestSchema,
  retrainResultSchema,
  rolloutDecisionSchema,
  Secret,
  type SlackReceiver,
  slackMessageText,
  startMlflow,
  startMosquitto,
  startNats,
  startSlackReceiver,
  writeScrapeTargets,
} from '@reefguard/core';
import { type Agent, cohortPosition, loadEdgeConfig, startAgent } from '@reefguard/edge-agent';
import {
  type BatchOutcome,
  createMonitoring,
  createProcessorMetrics,
  createSlackNotifier,
} from '@reefguard/stream-processor';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAnnouncer } from '../../serving/src/announcer.js';
import { buildApp } from '../../serving/src/app.js';
import { createAuditLog } from '../../serving/src/audit-log.js';
import { routeVariant } from '../../serving/src/canary-routing.js';
import { createChipLayers } from '../../serving/src/chip-layers.js';
import { createMlflowRegistry } from '../../serving/src/mlflow-registry.js';
import type { PromotionDeps } from '../../serving/src/promotion.js';
import { loadApprovals, loadPolicy } from '../../serving/src/promotion-policy.js';
import { ensureLoopStreams } from '../../serving/src/retrain-results.js';
import { type RolloutController, startRolloutController } from '../../serving/src/rollout.js';
import { readTrace } from '../../serving/src/rollout-trace.js';
import { createSiteCatalog, type Site } from '../../serving/src/sites.js';
import { featureHash, MODEL_NAME, testSites, writeFeatures } from '../../serving/test/helpers.js';
import { registerVersion } from '../../serving/test/mlflow.js';
import { startFastMonitoring } from './fast-monitoring.js';

/**
 * The closed loop end to end, every part real: private NATS (JetStream) and Mosquitto, the
 * shared Redis (unique keys), a real MLflow server, Prometheus + Alertmanager + a local Slack
 * receiver, the stream processor's drift monitor on NATS, the real retrain worker process
 * (Python, --quick), serving with its rollout controller, and an edge agent of the cohort.
 */
const { redisUrl } = inject('stack');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TRAINING_SET = join(ROOT, 'test/fixtures/loop/training-set');
const POLICY = join(ROOT, 'test/fixtures/loop/promotion-policy.loop.json');
const PYTHON = join(ROOT, 'trainer/.venv/bin/python');
const WINDOW_MS = 8_000;
const CANARY_WEIGHT = 0.1;
const silent = pino({ level: 'silent' });

/** A succeeded retrain result as the worker publishes it, for a registered `version`. */
function succeededResult(requestId: string, trace: string, version: string): RetrainResult {
  const now = new Date().toISOString();
  return {
    schema_version: 1,
    id: `result/${requestId}`,
    request_id: requestId,
    trace_id: trace,
    status: 'succeeded',
    model_name: MODEL_NAME,
    model_version: version,
    data_version: 'fixture',
    threshold: 0.5,
    metrics: {
      model: { f1: 0.9, auroc: 0.9, pr_auc: 0.9, brier: 0.1 },
      crw_baseline: { f1: 0.6, auroc: null, pr_auc: null, brier: 0.2 },
    },
    held_out_events: [],
    training_seconds: 1,
    started_at: now,
    finished_at: now,
  };
}

/**
 * 300 sites of which exactly 30 fall in the challenger's 10 % by serving's own routing, so the
 * canary's evidence (the loop policy's min_requests 20) does not depend on this run's pid.
 */
function loopSites(): Site[] {
  const candidates = testSites(`loop-${process.pid}`, 1_000);
  const inCohort = (site: Site) => routeVariant(site.site_id, CANARY_WEIGHT) === 'challenger';
  return [
    ...candidates.filter((site) => !inCohort(site)).slice(0, 270),
    ...candidates.filter(inCohort).slice(0, 30),
  ];
}

/** An agent id whose cohort position puts it in the first 10 % of the fleet. */
function cohortAgentId(): string {
  for (let i = 0; ; i++) {
    const id = `buoy-loop-${process.pid}-${i}`;
    if (cohortPosition(id) < CANARY_WEIGHT / 2) return id;
  }
}

async function mlflowRest<T>(url: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

describe('closed loop - drift -> retrain -> register -> challenger -> canary (cloud + edge) -> decision, one trace id', () => {
  const sites = loopSites();
  const agentSite = sites[0]?.site_id as string;
  let dir: string;
  let nats: LocalServer;
  let mosquitto: LocalServer;
  let mlflow: LocalServer;
  let slack: SlackReceiver;
  let alertmanager: LocalServer;
  let prometheus: PrometheusServer;
  let streamMetricsServer: Server;
  const streamMetrics = createProcessorMetrics();
  let nc: NatsConnection;
  let redis: Redis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let promotion: PromotionDeps;
  let controller: RolloutController;
  let agent: Agent;
  let worker: ChildProcess;
  let workerLog: string;
  const drift: DriftEvent[] = [];
  const requests: RetrainRequest[] = [];
  const results: RetrainResult[] = [];
  const decisions: RolloutDecision[] = [];
  const announcements: ModelAnnouncement[] = [];

  const stages = (traceId: string) =>
    decisions.filter((d) => d.trace_id === traceId).map((d) => d.stage);
  /** One request per site, sequentially: what the canary window judges. */
  const drive = async () => {
    const variants: Record<string, number> = { champion: 0, challenger: 0 };
    for (const site of sites) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { site_id: site.site_id },
      });
      const key =
        response.statusCode === 200
          ? (response.json() as { variant: string }).variant
          : `http-${response.statusCode}`;
      variants[key] = (variants[key] ?? 0) + 1;
    }
    return variants;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-loop-'));
    [nats, mosquitto, mlflow] = await Promise.all([
      startNats({ dataDir: join(dir, 'nats') }),
      startMosquitto({ dataDir: join(dir, 'mosquitto') }),
      startMlflow({ dataDir: join(dir, 'mlflow') }),
    ]);
    // Monitoring: Prometheus scrapes the stream processor's PSI gauge; its alerts go through
    // Alertmanager to a local Slack receiver, as the stream processor's own message does.
    slack = await startSlackReceiver({ recordFile: join(dir, 'slack.jsonl') });
    ({ alertmanager, prometheus } = await startFastMonitoring(dir, slack.url));
    streamMetricsServer = createServer(async (_req, res) => {
      res.setHeader('content-type', streamMetrics.registry.contentType);
      res.end(await streamMetrics.registry.metrics());
    });
    await new Promise<void>((r) => streamMetricsServer.listen(0, '127.0.0.1', r));
    const { port } = streamMetricsServer.address() as AddressInfo;
    await writeScrapeTargets(prometheus.targetsDir, 'stream-processor', 'loop', [
      { url: `http://127.0.0.1:${port}/metrics` },
    ]);

    nc = await connect({ servers: nats.url });
    await ensureLoopStreams(nc);
    const watch = <T>(subject: string, into: T[], parse: (x: unknown) => T) => {
      const subscription = nc.subscribe(subject);
      void (async () => {
        for await (const m of subscription) into.push(parse(m.json()));
      })();
    };
    watch(natsSubjects.drift('*'), drift, (x) => driftEventSchema.parse(x));
    watch(natsSubjects.retrainRequests, requests, (x) => retrainRequestSchema.parse(x));
    watch(natsSubjects.retrainResults, results, (x) => retrainResultSchema.parse(x));
    watch(natsSubjects.rolloutDecisions, decisions, (x) => rolloutDecisionSchema.parse(x));
    watch(natsSubjects.modelAnnouncements, announcements, (x) => modelAnnouncementSchema.parse(x));

    // The champion: the fixture model, registered in MLflow as the trainer would.
    // Its card is scored on the events the retrained model holds out, so the no-regression
    // gate has a shared slice to compare.
    const champion = await registerVersion(mlflow.url, 'v1', (card) => {
      for (const event of card.metrics.held_out_events) event.event = `gbr-${event.event}`;
    });
    await mlflowRest(mlflow.url, '/api/2.0/mlflow/registered-models/alias', {
      name: MODEL_NAME,
      alias: 'champion',
      version: champion,
    });

    // Online features for every site: every catalogue feature, as the stream processor writes.
    redis = new Redis(redisUrl);
    const values = Object.fromEntries(FEATURE_NAMES.map((name) => [name, 1]));
    const hash = featureHash(new Date(Date.now() - 3_600_000).toISOString(), {
      ...values,
      dhw: 6.2,
      dhw_max_ytd: 6.2,
      hotspot: 1.3,
      alert_level: 3,
    });
    for (const site of sites) await writeFeatures(redis, site.site_id, hash);

    // Serving with its rollout controller, as `./reefguard rollout` runs them.
    const policy = await loadPolicy(POLICY);
    promotion = {
      registry: createMlflowRegistry({
        trackingUri: mlflow.url,
        name: MODEL_NAME,
        cacheDir: join(dir, 'serving-cache'),
      }),
      policy,
      loadApprovals: () => loadApprovals(join(ROOT, policy.champion.approved_list)),
      audit: createAuditLog(join(dir, 'serving', 'audit.jsonl')),
      announcer: createAnnouncer({ natsUrl: nats.url, mqttUrl: mosquitto.url }),
      publicUrl: 'http://127.0.0.1:1',
      canaryWeight: CANARY_WEIGHT,
      canaryWindowMs: WINDOW_MS,
      actor: 'serving',
    };
    const servingRedis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await servingRedis.connect();
    app = await buildApp({
      redis: servingRedis,
      sites: createSiteCatalog(sites),
      promotion,
      predict: {
        maxAgeMs: 36 * 3_600_000,
        degraded: 'unavailable',
        // The gridded layers around each site, so the retrained ViT member really runs.
        chipLayers: createChipLayers(
          ['dhw_max_ytd', 'dhw_prev_year_max', 'sst_clim_range'],
          sites.map((site) => [site.site_id, 6.2, 3.1, 2.4]),
          sites,
        ),
      },
      canaryWindowMs: WINDOW_MS,
    });
    app.addHook('onClose', async () => servingRedis.disconnect());
    promotion.publicUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    promotion.canaryStats = () => app.models.canary.stats();
    if (app.models.hub.current()?.champion.version !== champion) {
      throw new Error(`serving did not load champion ${champion}: ${app.models.notReadyReason()}`);
    }
    controller = await startRolloutController({
      nc,
      promotion,
      models: app.models,
      logger: silent,
      retryDelayMs: 500,
    });

    // An edge agent of the canary cohort, running the champion announced at start.
    agent = await startAgent(
      loadEdgeConfig(
        {},
        {
          REEFGUARD_AGENT_ID: cohortAgentId(),
          REEFGUARD_SITE_ID: agentSite,
          REEFGUARD_STATION_ID: 'loop-wx',
          REEFGUARD_TRANSPORT: 'mqtt',
          REEFGUARD_MQTT_URL: mosquitto.url,
          REEFGUARD_NATS_URL: nats.url,
          REEFGUARD_STATE_DIR: join(dir, 'agent'),
          REEFGUARD_SOURCE: 'line',
          REEFGUARD_HEALTH_PORT: '0',
        },
      ),
      { logger: silent },
    );

    // The real retrain worker process, training quick models on the fixture training set.
    workerLog = join(dir, 'retrain-worker.log');
    const log = await open(workerLog, 'w');
    worker = spawn(
      PYTHON,
      [
        '-m',
        'reefguard_trainer',
        'retrain-worker',
        '--training-set',
        TRAINING_SET,
        '--quick',
        '--threads',
        '1',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', log.fd, log.fd],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          REEFGUARD_STATE_DIR: join(dir, 'trainer'),
          REEFGUARD_NATS_URL: nats.url,
          REEFGUARD_MLFLOW_TRACKING_URI: mlflow.url,
        },
      },
    );
    await log.close();
    // The worker is ready when its durable consumer exists.
    const deadline = Date.now() + 120_000;
    while (!(await readFile(workerLog, 'utf8')).includes('waiting for requests')) {
      if (Date.now() > deadline || worker.exitCode !== null) {
        throw new Error(`retrain worker did not start:\n${await readFile(workerLog, 'utf8')}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 180_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await agent?.close();
    await controller?.close();
    await app?.close();
    await promotion?.announcer?.close();
    await nc?.close();
    for (const site of sites) await redis?.del(`reefguard:features:${site.site_id}`);
    await redis?.quit();
    await new Promise((r) => (streamMetricsServer ? streamMetricsServer.close(r) : r(null)));
    await Promise.allSettled([
      nats?.stop(),
      mosquitto?.stop(),
      mlflow?.stop(),
      prometheus?.stop(),
      alertmanager?.stop(),
      slack?.close(),
    ]);
    await rm(dir, { recursive: true, force: true });
  });

  it('drifted values fire one retrain; the new version runs the canary in serving and on the cohort agent; the window decides; one trace id throughout', async () => {
    // The stream processor's post-ack stage, on the champion card, fed a marine heatwave:
    // DHW far above every training value for 6 checks in a row.
    const card = await promotion.registry.readCard('1');
    const monitoring = createMonitoring({
      nc,
      redis,
      metrics: streamMetrics,
      card: { version: '1', features: card.features },
      notifier: createSlackNotifier({ webhookUrl: new Secret(slack.url) }),
      claimPrefix: `reefguard:loop:${process.pid}:claim:`,
      drift: { windowSize: 60, checkEvery: 20, sustainChecks: 3, sustainMs: 0 },
    });
    const vector = (i: number, dhw: number): FeatureVector => ({
      schema_version: 1,
      site_id: sites[i % sites.length]?.site_id as string,
      as_of: '2024-02-20T23:59:59.999Z',
      computed_at: new Date().toISOString(),
      feature_set_version: 'v1',
      values: { dhw },
    });
    const outcome = (vectors: FeatureVector[]): BatchOutcome => ({
      deliveries: [],
      vectors,
      quarantined: [],
      late: [],
      applied: vectors.length,
      duplicates: 0,
    });
    for (let i = 0; i < 120; i += 20) {
      await monitoring.afterAck(
        outcome(Array.from({ length: 20 }, (_, k) => vector(i + k, 12 + (k % 3)))),
      );
    }
    await nc.flush();
    await expect.poll(() => requests.length, { timeout: 5_000 }).toBe(1);
    const request = requests[0] as RetrainRequest;
    const trace = request.trace_id;
    expect(request).toMatchObject({ reason: 'drift', features: ['dhw'] });
    const drifted = drift.filter((e) => e.drifted);
    expect(drifted.length).toBeGreaterThanOrEqual(3);
    expect(drifted.every((e) => e.trace_id === trace && e.psi > 0.3)).toBe(true);

    // Slack hears of it twice: the stream processor's message naming the trace, and the
    // FeatureDriftHigh alert Prometheus raised from the scraped gauge, through Alertmanager.
    const direct = await slack.waitFor((m) => slackMessageText(m).includes(trace), {
      timeoutMs: 10_000,
    });
    expect(slackMessageText(direct)).toContain('retrain requested');
    const alert = await slack.waitFor(
      (m) => slackMessageText(m).includes('FeatureDriftHigh feature dhw'),
      { timeoutMs: 60_000 },
    );
    expect(alert.payload.attachments?.[0]?.text).toMatch(
      /Feature dhw drifted: PSI \d+\.\d\d > 0\.3/,
    );

    // The worker trains, registers in MLflow with the trace, and publishes its result.
    await expect.poll(() => results.length, { timeout: 150_000, interval: 500 }).toBe(1);
    const result = results[0] as RetrainResult;
    expect(result, await readFile(workerLog, 'utf8')).toMatchObject({
      status: 'succeeded',
      trace_id: trace,
      request_id: request.id,
      model_version: '2',
    });
    const { model_version } = await mlflowRest<{
      model_version: { tags: { key: string; value: string }[] };
    }>(mlflow.url, `/api/2.0/mlflow/model-versions/get?name=${MODEL_NAME}&version=2`);
    const tags = Object.fromEntries(model_version.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ trace_id: trace, retrain_request_id: request.id });

    // Serving: gates -> challenger -> canary open; the cohort agent swaps to the challenger.
    await expect.poll(() => stages(trace).length, { timeout: 30_000 }).toBe(2);
    expect(stages(trace), JSON.stringify(decisions.at(-1))).toEqual(['challenger', 'canary-open']);
    expect(await promotion.registry.getAlias('challenger')).toBe('2');
    const challengerSha = (await promotion.registry.readCard('2')).files.model.sha256;
    await expect
      .poll(() => agent.slot.current()?.sha256, { timeout: 30_000, interval: 200 })
      .toBe(challengerSha);
    expect(announcements.filter((a) => a.trace_id === trace)[0]).toMatchObject({
      alias: 'challenger',
      version: '2',
      decision: 'canary',
      canary_share: CANARY_WEIGHT,
    });

    // Traffic through the window: ~10 % of sites answered by the challenger, every answer
    // from a model (no CRW-baseline fallback).
    const variants = await drive();
    expect(Object.keys(variants).sort()).toEqual(['challenger', 'champion']);
    const stats = app.models.canary.stats();
    expect(stats.champion.requests + stats.challenger.requests).toBe(sites.length);
    const share = stats.challenger.requests / sites.length;
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.15);

    // The window closes by itself: promoted when the challenger answered as well as the
    // champion, rolled back otherwise; either way announced to all agents with the trace.
    await expect
      .poll(() => stages(trace).length, { timeout: WINDOW_MS + 20_000, interval: 200 })
      .toBe(3);
    const final = decisions.filter((d) => d.trace_id === trace).at(-1) as RolloutDecision;
    console.log(`loop: ${final.stage} ${final.version}: ${final.reason}`);
    const healthy =
      stats.challenger.errorRate - stats.champion.errorRate < 0.01 &&
      stats.challenger.requests >= 20;
    expect(final.canary?.challenger?.requests).toBe(stats.challenger.requests);
    if (healthy) {
      expect(final).toMatchObject({ stage: 'promoted', version: '2', applied: true });
      expect(await promotion.registry.getAlias('champion')).toBe('2');
    } else {
      // A challenger that fails its requests is caught by the canary; the cohort goes back.
      expect(final).toMatchObject({ stage: 'rolled-back', version: '2', applied: true });
      expect(final.gates.find((g) => g.gate === 'canary_error_rate')?.passed).toBe(false);
      expect(await promotion.registry.getAlias('champion')).toBe('1');
      const championSha = (await promotion.registry.readCard('1')).files.model.sha256;
      await expect
        .poll(() => agent.slot.current()?.sha256, { timeout: 30_000, interval: 200 })
        .toBe(championSha);
    }
    expect(await promotion.registry.getAlias('challenger')).toBeNull();
    await expect
      .poll(() => announcements.filter((a) => a.trace_id === trace).map((a) => a.decision))
      .toEqual(['canary', healthy ? 'promote' : 'rollback']);

    // `reefguard trace`: the whole chain from the streams and the audit log, in order.
    const steps = await readTrace(nc, promotion.audit, trace);
    // Drift checks go on during the retrain; everything else is one ordered chain.
    expect(steps[0]?.kind).toBe('drift-event');
    expect(steps.filter((s) => s.kind !== 'drift-event').map((s) => s.kind)).toEqual([
      'retrain-request',
      'retrain-result',
      'audit',
      'rollout-decision',
      'model-announcement',
      'audit',
      'rollout-decision',
      'audit',
      'rollout-decision',
      'model-announcement',
    ]);
    expect(steps.filter((s) => s.kind === 'rollout-decision').map((s) => s.message.stage)).toEqual([
      'challenger',
      'canary-open',
      healthy ? 'promoted' : 'rolled-back',
    ]);
    expect(steps.filter((s) => s.kind === 'model-announcement')).toHaveLength(2);
    expect(steps.every((s) => s.message.trace_id === trace)).toBe(true);
  }, 240_000);

  it('a version that answers well is promoted after its canary and reaches every agent, with its trace', async () => {
    // A result as the worker publishes it, for a registered chip-less model.
    const version = await registerVersion(mlflow.url, 'v2', (card) => {
      for (const event of card.metrics.held_out_events) event.event = `gbr-${event.event}`;
    });
    const trace = `trace-loop-${process.pid}-good`;
    const result = succeededResult(`manual-${process.pid}`, trace, version);
    nc.publish(natsSubjects.retrainResults, JSON.stringify(result));
    await expect
      .poll(() => stages(trace), { timeout: 30_000 })
      .toEqual(['challenger', 'canary-open']);
    const sha = (await promotion.registry.readCard(version)).files.model.sha256;
    await expect
      .poll(() => agent.slot.current()?.sha256, { timeout: 30_000, interval: 200 })
      .toBe(sha);
    const variants = await drive();
    expect((variants.champion ?? 0) + (variants.challenger ?? 0)).toBe(sites.length);
    await expect
      .poll(() => stages(trace), { timeout: WINDOW_MS + 20_000, interval: 200 })
      .toEqual(['challenger', 'canary-open', 'promoted']);
    const promoted = decisions.find((d) => d.trace_id === trace && d.stage === 'promoted');
    expect(promoted?.gates.find((g) => g.gate === 'approved')?.detail).toContain('auto-approved');
    expect(promoted?.canary?.challenger?.error_rate).toBe(0);
    expect(await promotion.registry.getAlias('champion')).toBe(version);
    await expect
      .poll(() => announcements.filter((a) => a.trace_id === trace).map((a) => a.decision))
      .toEqual(['canary', 'promote']);
    expect(agent.slot.current()?.sha256).toBe(sha);
  }, 90_000);

  it('a version whose predictions fail is rolled back after its canary; the cohort agent refuses it and keeps the champion', async () => {
    // Injected degradation: a registered model whose session answers NaN for every row.
    const version = await registerVersion(mlflow.url, 'nan', (card) => {
      for (const event of card.metrics.held_out_events) event.event = `gbr-${event.event}`;
    });
    const champion = (await promotion.registry.getAlias('champion')) as string;
    const championSha = (await promotion.registry.readCard(champion)).files.model.sha256;
    const trace = `trace-loop-${process.pid}-broken`;
    const result = succeededResult(`broken-${process.pid}`, trace, version);
    nc.publish(natsSubjects.retrainResults, JSON.stringify(result));
    await expect
      .poll(() => stages(trace), { timeout: 30_000 })
      .toEqual(['challenger', 'canary-open']);
    // The agent's smoke prediction catches it: it never swaps.
    await expect.poll(() => announcements.filter((a) => a.trace_id === trace).length).toBe(1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(agent.slot.current()?.sha256).toBe(championSha);
    // In serving every challenger request fails over to the champion: no request fails.
    const variants = await drive();
    expect(variants.champion).toBe(sites.length);
    await expect
      .poll(() => stages(trace), { timeout: WINDOW_MS + 20_000, interval: 200 })
      .toEqual(['challenger', 'canary-open', 'rolled-back']);
    const back = decisions.find((d) => d.trace_id === trace && d.stage === 'rolled-back');
    expect(back?.gates.find((g) => g.gate === 'canary_error_rate')?.passed).toBe(false);
    expect(back?.canary?.challenger?.error_rate).toBe(1);
    expect(back?.canary?.challenger?.requests).toBeGreaterThanOrEqual(20);
    expect(await promotion.registry.getAlias('champion')).toBe(champion);
    expect(await promotion.registry.getAlias('challenger')).toBeNull();
    await expect
      .poll(() => announcements.filter((a) => a.trace_id === trace).map((a) => a.decision))
      .toEqual(['canary', 'rollback']);
    expect(announcements.at(-1)).toMatchObject({ alias: 'champion', version: champion });
    expect(agent.slot.current()?.sha256).toBe(championSha);
  }, 90_000);
});
