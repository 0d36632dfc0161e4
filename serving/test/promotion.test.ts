import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import {
  type LocalServer,
  type ModelAnnouncement,
  type ModelCard,
  modelAnnouncementSchema,
  mqttTopics,
  natsSubjects,
  startMosquitto,
  startNats,
} from '@reefguard/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnnouncer } from '../src/announcer.js';
import { createAuditLog } from '../src/audit-log.js';
import { createMlflowRegistry } from '../src/mlflow-registry.js';
import { type PromotionDeps, promote, rollback } from '../src/promotion.js';
import { loadApprovals, loadPolicy } from '../src/promotion-policy.js';
import type { ModelRegistry } from '../src/registry.js';
import { MODEL_NAME, REPO_POLICY } from './helpers.js';
import { type MlflowServer, registerVersion, startMlflow } from './mlflow.js';

type HeldOut = ModelCard['metrics']['held_out_events'][number];

const v1Sha = '1f17507884b74f0bef13c7fb2ef3087ccb1099f1f3c55a5d060e8ae26b1e7114';

describe('promotion - policy gates against a real MLflow registry', () => {
  let dir: string;
  let mlflow: MlflowServer;
  let nats: LocalServer;
  let mosquitto: LocalServer;
  let nc: NatsConnection;
  let registry: ModelRegistry;
  let deps: PromotionDeps;
  let approvedPath: string;
  const announced: ModelAnnouncement[] = [];
  const versions: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reefguard-promotion-'));
    [mlflow, nats, mosquitto] = await Promise.all([
      startMlflow(join(dir, 'mlflow')),
      startNats({ dataDir: join(dir, 'nats') }),
      startMosquitto({ dataDir: join(dir, 'mosquitto') }),
    ]);
    nc = await connectNats({ servers: nats.url });
    const sub = nc.subscribe(natsSubjects.modelAnnouncements);
    void (async () => {
      for await (const message of sub)
        announced.push(modelAnnouncementSchema.parse(message.json()));
    })();
    // Versions registered as the trainer would, each shaped to pass or fail one gate.
    versions.good = await registerVersion(mlflow.url, 'v1');
    versions.lowF1 = await registerVersion(mlflow.url, 'v1', (card) => {
      card.metrics.overall.model.f1 = 0.8;
    });
    versions.losesToCrw = await registerVersion(mlflow.url, 'v1', (card) => {
      (card.metrics.held_out_events[1] as HeldOut).crw_baseline.f1 = 0.92;
    });
    versions.regresses = await registerVersion(mlflow.url, 'v1', (card) => {
      (card.metrics.held_out_events[0] as HeldOut).model.f1 = 0.85;
      (card.metrics.held_out_events[1] as HeldOut).model.f1 = 0.85;
    });
    versions.corrupt = await registerVersion(mlflow.url, 'v2', () => {}, { corrupt: true });
    versions.better = await registerVersion(mlflow.url, 'v2');
    approvedPath = join(dir, 'approved_models.txt');
    await writeFile(approvedPath, `# test list\n${MODEL_NAME} ${versions.good} ${v1Sha}\n`);
    const policy = await loadPolicy(REPO_POLICY);
    registry = createMlflowRegistry({
      trackingUri: mlflow.url,
      name: MODEL_NAME,
      cacheDir: join(dir, 'cache'),
    });
    deps = {
      registry,
      policy: { ...policy, champion: { approved_list: approvedPath } },
      loadApprovals: () => loadApprovals(approvedPath),
      audit: createAuditLog(join(dir, 'audit.jsonl')),
      announcer: createAnnouncer({ natsUrl: nats.url, mqttUrl: mosquitto.url }),
      publicUrl: 'http://serving.test:8080',
      canaryWeight: 0.1,
      actor: 'test',
    };
  }, 120_000);

  afterAll(async () => {
    await deps?.announcer?.close();
    await nc?.close();
    await Promise.allSettled([mlflow?.stop(), nats?.stop(), mosquitto?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const gate = (decision: { gates: Array<{ gate: string; passed: boolean }> }, name: string) =>
    decision.gates.find((g) => g.gate === name)?.passed;

  it('a good version passes every challenger gate, moves the alias and is announced', async () => {
    const decision = await promote(deps, { to: 'challenger', version: versions.good });
    expect(decision.applied).toBe(true);
    expect(decision.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['beats_crw_baseline', true],
      ['f1_floor', true],
      ['no_regression', true],
      ['artifact_sha256', true],
    ]);
    expect(await registry.getAlias('challenger')).toBe(versions.good);
    await nc.flush();
    await expect
      .poll(() => announced.find((a) => a.trace_id === decision.trace_id))
      .toMatchObject({
        name: MODEL_NAME,
        version: versions.good,
        alias: 'challenger',
        decision: 'canary',
        canary_share: 0.1,
        sha256: v1Sha,
        url: `http://serving.test:8080/v1/models/${versions.good}/model.onnx`,
      });
  });

  it('champion: approved with its sha256 passes; the challenger alias is consumed', async () => {
    const decision = await promote(deps, { to: 'champion' });
    expect(decision.version).toBe(versions.good);
    expect(gate(decision, 'approved')).toBe(true);
    expect(decision.applied).toBe(true);
    expect(await registry.getAlias('champion')).toBe(versions.good);
    expect(await registry.getAlias('challenger')).toBeNull();
    // Retained on MQTT: an agent that connects now still learns the decision.
    const late = await mqtt.connectAsync(mosquitto.url, { clean: true });
    const retained = new Promise<ModelAnnouncement>((resolve) =>
      late.on('message', (_t, payload, packet) => {
        if (packet.retain) resolve(modelAnnouncementSchema.parse(JSON.parse(payload.toString())));
      }),
    );
    await late.subscribeAsync(mqttTopics.modelAnnouncements, { qos: 1 });
    expect(await retained).toMatchObject({
      version: versions.good,
      alias: 'champion',
      decision: 'promote',
      canary_share: 0,
    });
    await late.endAsync();
  });

  it.each([
    ['f1_floor', 'lowF1'],
    ['beats_crw_baseline', 'losesToCrw'],
    ['no_regression', 'regresses'],
  ])('the %s gate fails for its version and no alias moves', async (failing, key) => {
    const before = await registry.getAlias('challenger');
    const decision = await promote(deps, { to: 'challenger', version: versions[key] });
    expect(decision.applied).toBe(false);
    expect(decision.gates.filter((g) => !g.passed).map((g) => g.gate)).toEqual([failing]);
    expect(decision.reason).toContain(`gates failed: ${failing}`);
    expect(await registry.getAlias('challenger')).toBe(before);
  });

  it('no_regression compares mean F1 on the events both cards hold (0.85 vs 0.88 drops 0.03 > 0.02)', async () => {
    const decision = await promote(deps, {
      to: 'challenger',
      version: versions.regresses,
      dryRun: true,
    });
    const detail = decision.gates.find((g) => g.gate === 'no_regression')?.detail;
    expect(detail).toBe(
      `mean F1 on 1998, 2002: 0.850 vs champion ${versions.good} 0.880 (max drop 0.02)`,
    );
  });

  it('a file that fails its sha256 after download is never aliased', async () => {
    const decision = await promote(deps, { to: 'challenger', version: versions.corrupt });
    expect(decision.applied).toBe(false);
    expect(decision.gates.filter((g) => !g.passed).map((g) => g.gate)).toEqual(['artifact_sha256']);
    expect(decision.gates.at(-1)?.detail).toMatch(
      /model.onnx downloaded with sha256 [0-9a-f]{64}, card says/,
    );
    expect(await registry.getAlias('challenger')).toBeNull();
  });

  it('dry run: every gate passes but the alias stays', async () => {
    const decision = await promote(deps, { to: 'challenger', dryRun: true });
    expect(decision.version).toBe(versions.better);
    expect(decision.gates.every((g) => g.passed)).toBe(true);
    expect(decision.applied).toBe(false);
    expect(await registry.getAlias('challenger')).toBeNull();
  });

  it('champion: a version missing from approved_models.txt fails the approved gate', async () => {
    expect((await promote(deps, { to: 'challenger', version: versions.better })).applied).toBe(
      true,
    );
    const refused = await promote(deps, { to: 'champion' });
    expect(refused.applied).toBe(false);
    expect(refused.gates.filter((g) => !g.passed).map((g) => g.gate)).toEqual(['approved']);
    expect(await registry.getAlias('champion')).toBe(versions.good);
    // Listed, but with another file's sha256: still refused.
    await writeFile(approvedPath, `${MODEL_NAME} ${versions.better} ${v1Sha}\n`);
    const wrongSha = await promote(deps, { to: 'champion' });
    expect(wrongSha.gates.find((g) => g.gate === 'approved')?.detail).toContain('but the file has');
    expect(await registry.getAlias('champion')).toBe(versions.good);
  });

  it('rollback ends the canary, then restores the champion the last promotion replaced', async () => {
    const ended = await rollback(deps, { reason: 'test' });
    expect(ended).toMatchObject({ applied: true, target: 'challenger', version: versions.better });
    expect(await registry.getAlias('challenger')).toBeNull();
    await writeFile(approvedPath, `${MODEL_NAME} ${versions.better}\n`);
    expect((await promote(deps, { to: 'champion', version: versions.better })).applied).toBe(true);
    const back = await rollback(deps, { reason: 'test' });
    expect(back).toMatchObject({
      applied: true,
      target: 'champion',
      version: versions.good,
      previous: versions.better,
    });
    expect(await registry.getAlias('champion')).toBe(versions.good);
    await expect
      .poll(() => announced.find((a) => a.trace_id === back.trace_id)?.decision)
      .toBe('rollback');
  });

  it('every decision, applied or not, is one line of the audit log', async () => {
    const log = await deps.audit.read();
    expect(log.map((d) => [d.action, d.target, d.applied])).toEqual([
      ['promote', 'challenger', true],
      ['promote', 'champion', true],
      ['promote', 'challenger', false],
      ['promote', 'challenger', false],
      ['promote', 'challenger', false],
      ['promote', 'challenger', false],
      ['promote', 'challenger', false],
      ['promote', 'challenger', false],
      ['promote', 'challenger', true],
      ['promote', 'champion', false],
      ['promote', 'champion', false],
      ['rollback', 'challenger', true],
      ['promote', 'champion', true],
      ['rollback', 'champion', true],
    ]);
  });
});
