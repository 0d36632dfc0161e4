import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  type LocalServer,
  type ModelAnnouncement,
  type ModelCard,
  modelAnnouncementSchema,
  natsSubjects,
  type RetrainResult,
  type RolloutDecision,
  rolloutDecisionSchema,
  startMosquitto,
  startNats,
} from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAnnouncer } from '../src/announcer.js';
import { promote, rollback } from '../src/promotion.js';
import { evaluateGates, loadPolicy } from '../src/promotion-policy.js';
import { ensureLoopStreams } from '../src/retrain-results.js';
import { type RolloutController, startRolloutController } from '../src/rollout.js';
import { formatTrace, readTrace } from '../src/rollout-trace.js';
import {
  featureHash,
  HOT,
  REPO_POLICY,
  startTestApp,
  type TestApp,
  testSites,
  writeFeatures,
} from './helpers.js';

const { redisUrl } = inject('stack');
const asOf = () => new Date(Date.now() - 3_600_000).toISOString();
const WINDOW_MS = 3_000;
const silent = { info() {}, warn() {}, error() {} };

function result(
  requestId: string,
  traceId: string,
  version: string | null,
  failure?: string,
): RetrainResult {
  return {
    schema_version: 1,
    id: `result/${requestId}`,
    request_id: requestId,
    trace_id: traceId,
    status: failure ? 'failed' : 'succeeded',
    ...(failure ? { reason: failure } : {}),
    model_name: 'reefguard-bleaching-risk',
    model_version: version,
    data_version: failure ? null : 'sha256:test',
    threshold: failure ? null : 0.5,
    metrics: failure
      ? null
      : {
          model: { f1: 0.9, auroc: 0.95, pr_auc: 0.9, brier: 0.05 },
          crw_baseline: { f1: 0.6, auroc: null, pr_auc: null, brier: 0.2 },
        },
    held_out_events: [],
    training_seconds: failure ? null : 3,
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
  };
}

describe('rollout controller - retrain results to challenger, canary, promotion or rollback', () => {
  const sites = testSites(`rollout-${process.pid}`, 40);
  let dir: string;
  let nats: LocalServer;
  let mosquitto: LocalServer;
  let nc: NatsConnection;
  let t: TestApp;
  let controller: RolloutController;
  const decisions: RolloutDecision[] = [];
  const announcements: ModelAnnouncement[] = [];

  const publish = async (r: RetrainResult, msgId = r.id) => {
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    nc.publish(natsSubjects.retrainResults, JSON.stringify(r), { headers: h });
    await nc.flush();
  };
  const stages = (traceId: string) =>
    decisions.filter((d) => d.trace_id === traceId).map((d) => d.stage);
  const drive = async () => {
    for (let round = 0; round < 3; round++) {
      for (const site of sites) {
        const response = await t.app.inject({
          method: 'POST',
          url: '/v1/predict',
          payload: { site_id: site.site_id },
        });
        expect(response.statusCode).toBe(200);
      }
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-rollout-'));
    [nats, mosquitto] = await Promise.all([
      startNats({ dataDir: join(dir, 'nats') }),
      startMosquitto({ dataDir: join(dir, 'mosquitto') }),
    ]);
    nc = await connect({ servers: nats.url });
    await ensureLoopStreams(nc);
    for (const [subject, into, schema] of [
      [natsSubjects.rolloutDecisions, decisions, rolloutDecisionSchema],
      [natsSubjects.modelAnnouncements, announcements, modelAnnouncementSchema],
    ] as const) {
      const subscription = nc.subscribe(subject);
      void (async () => {
        for await (const m of subscription) (into as unknown[]).push(schema.parse(m.json()));
      })();
    }
    t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'v1', '2': 'v2', '3': 'nan' },
      aliases: { champion: '1' },
      announcer: createAnnouncer({ natsUrl: nats.url, mqttUrl: mosquitto.url }),
      canaryWeight: 0.5,
      canaryWindowMs: WINDOW_MS,
      // The unattended policy: nothing is listed in approved_models.txt.
      policy: (p) => ({
        ...p,
        champion: { ...p.champion, auto_approve: 'after-healthy-canary' },
        canary: { ...p.canary, min_requests: 30 },
      }),
    });
    t.promotion.canaryStats = () => t.app.models.canary.stats();
    t.promotion.canaryWindowMs = WINDOW_MS;
    for (const site of sites) await writeFeatures(t.redis, site.site_id, featureHash(asOf(), HOT));
    controller = await startRolloutController({
      nc,
      promotion: t.promotion,
      models: t.app.models,
      logger: silent,
      retryDelayMs: 200,
    });
  }, 60_000);

  afterAll(async () => {
    await controller?.close();
    await t?.promotion.announcer?.close();
    await t?.close();
    await nc?.close();
    await Promise.allSettled([nats?.stop(), mosquitto?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a good retrain becomes challenger, is announced to the cohort, opens the canary, and is promoted after a healthy window', async () => {
    const trace = 'trace-good-0000-0001';
    await publish(result('drift/1/2026-11-29', trace, '2'));
    await expect
      .poll(() => stages(trace), { timeout: 10_000 })
      .toEqual(['challenger', 'canary-open']);
    expect(await t.registry.getAlias('challenger')).toBe('2');
    expect(t.app.models.hub.current()?.challenger?.version).toBe('2');
    expect(t.app.models.canary.version).toBe('2');
    const open = decisions.find((d) => d.stage === 'canary-open');
    expect(open).toMatchObject({
      version: '2',
      previous: '1',
      canary: { weight: 0.5, window_s: 3 },
      retrain_request_id: 'drift/1/2026-11-29',
    });
    const canaryAnnouncement = announcements.find((a) => a.trace_id === trace);
    expect(canaryAnnouncement).toMatchObject({
      alias: 'challenger',
      version: '2',
      decision: 'canary',
      canary_share: 0.5,
    });

    // Redelivery of the same result (a new message id gets past JetStream's de-dup window).
    const before = (await t.promotion.audit.read()).length;
    await publish(result('drift/1/2026-11-29', trace, '2'), 'again-1');
    await expect.poll(() => controller.handled, { timeout: 5_000 }).toBe(2);
    expect((await t.promotion.audit.read()).length).toBe(before);

    await drive();
    await expect.poll(() => stages(trace), { timeout: WINDOW_MS + 8_000 }).toContain('promoted');
    const promoted = decisions.find((d) => d.trace_id === trace && d.stage === 'promoted');
    expect(promoted).toMatchObject({ version: '2', previous: '1', applied: true });
    expect(promoted?.gates.find((g) => g.gate === 'approved')?.detail).toContain('auto-approved');
    const stats = promoted?.canary;
    expect(stats?.weight).toBe(0.5);
    expect((stats?.challenger?.requests ?? 0) + (stats?.champion?.requests ?? 0)).toBe(120);
    expect(stats?.challenger?.requests).toBeGreaterThanOrEqual(30);
    expect(stats?.challenger?.error_rate).toBe(0);
    expect(await t.registry.getAlias('champion')).toBe('2');
    await expect
      .poll(() => announcements.filter((a) => a.trace_id === trace).map((a) => a.decision))
      .toEqual(['canary', 'promote']);

    // The whole chain, read back from the streams and the audit log.
    const steps = await readTrace(nc, t.promotion.audit, trace);
    expect(steps.map((s) => s.kind)).toEqual([
      'retrain-result',
      'audit',
      'rollout-decision',
      'model-announcement',
      'audit',
      'rollout-decision',
      'retrain-result', // the redelivery: kept in the stream, decided nothing
      'audit',
      'rollout-decision',
      'model-announcement',
    ]);
    expect(steps.every((s) => s.message.trace_id === trace)).toBe(true);
    expect(formatTrace(steps).at(-1)).toContain('announced champion 2 (promote');
  }, 40_000);

  it('a failed retrain is recorded as rejected and moves nothing', async () => {
    const trace = 'trace-failed-0000-0002';
    await publish(result('drift/2/2026-11-29', trace, null, 'training failed: no rows'));
    await expect.poll(() => stages(trace), { timeout: 10_000 }).toEqual(['rejected']);
    expect(decisions.find((d) => d.trace_id === trace)).toMatchObject({
      applied: false,
      gates: [{ gate: 'retrain', passed: false, detail: 'training failed: no rows' }],
    });
    expect(await t.registry.getAlias('challenger')).toBeNull();
    expect(await t.registry.getAlias('champion')).toBe('2');
  });

  it('a window closing after the canary was decided elsewhere (another replica) changes nothing', async () => {
    const before = decisions.length;
    const healthy = [{ gate: 'canary_error_rate', passed: true, detail: 'ok' }];
    const late = await promote(t.promotion, {
      to: 'champion',
      version: '2',
      action: 'canary-promote',
      extraGates: healthy,
    });
    expect(late.applied).toBe(false);
    expect(late.gates.find((g) => g.gate === 'still_challenger')?.passed).toBe(false);
    const unhealthy = await rollback(t.promotion, {
      action: 'canary-rollback',
      reason: 'this replica saw errors',
    });
    expect(unhealthy).toMatchObject({ applied: false, version: null });
    // The champion the first decision promoted stays; nobody is told anything new.
    expect(await t.registry.getAlias('champion')).toBe('2');
    await new Promise((r) => setTimeout(r, 300));
    expect(decisions.length).toBe(before);
  });

  it('a challenger whose every prediction fails is rolled back when its window closes', async () => {
    const trace = 'trace-broken-0000-0003';
    await publish(result('drift/3/2026-11-29', trace, '3'));
    await expect
      .poll(() => stages(trace), { timeout: 10_000 })
      .toEqual(['challenger', 'canary-open']);
    await drive();
    await expect.poll(() => stages(trace), { timeout: WINDOW_MS + 8_000 }).toContain('rolled-back');
    const back = decisions.find((d) => d.trace_id === trace && d.stage === 'rolled-back');
    expect(back?.gates.find((g) => g.gate === 'canary_error_rate')?.passed).toBe(false);
    expect(back?.canary?.challenger?.error_rate).toBe(1);
    expect(await t.registry.getAlias('challenger')).toBeNull();
    expect(await t.registry.getAlias('champion')).toBe('2');
    await expect
      .poll(() => announcements.filter((a) => a.trace_id === trace).map((a) => a.decision))
      .toEqual(['canary', 'rollback']);
    expect(announcements.at(-1)).toMatchObject({ alias: 'champion', version: '2' });
  }, 30_000);
});

describe('promotion policy - unattended behaviour is explicit', () => {
  const card = (version: string) =>
    ({
      name: 'reefguard-bleaching-risk',
      version,
      threshold: 0.5,
      metrics: {
        overall: { model: { f1: 0.9 }, crw_baseline: { f1: 0.6 } },
        held_out_events: [{ event: 'e1', model: { f1: 0.9 }, crw_baseline: { f1: 0.6 } }],
      },
    }) as unknown as ModelCard;
  const gate = async (file: string, canaryHealthy: boolean) =>
    evaluateGates({
      policy: await loadPolicy(file),
      target: 'champion',
      candidateVersion: '9',
      candidate: card('9'),
      candidateSha256: 'a'.repeat(64),
      championVersion: null,
      champion: null,
      approvals: [],
      canaryHealthy,
    }).find((g) => g.gate === 'approved');

  it("the repository's policy never auto-approves: an unlisted version stays challenger", async () => {
    expect((await gate(REPO_POLICY, true))?.passed).toBe(false);
  });

  it('the unattended policy approves only after a healthy canary, never a manual promotion', async () => {
    const unattended = REPO_POLICY.replace(
      'promotion-policy.json',
      'promotion-policy.unattended.json',
    );
    expect(await gate(unattended, true)).toMatchObject({ passed: true });
    expect((await gate(unattended, true))?.detail).toContain(
      'auto-approved after a healthy canary',
    );
    expect((await gate(unattended, false))?.passed).toBe(false);
  });
});
