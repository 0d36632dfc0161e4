import { generateKeyPairSync, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import {
  loadModel,
  type Model,
  type ModelAnnouncement,
  mqttTopics,
  sha256Of,
  startMosquitto,
} from '@reefguard/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cohortPosition,
  createModelSlot,
  createModelUpdater,
  inCanaryCohort,
  startAgent,
  takesAnnouncement,
} from '../src/index.js';
import { edgeConfig, quietLogger, tempDir, waitFor } from './helpers.js';

const models = resolve(import.meta.dirname, '../../test/fixtures/models');
const files: Record<string, Buffer> = {};
let server: Server;
let base = '';
const keys = generateKeyPairSync('ed25519');

beforeAll(async () => {
  for (const version of ['v1', 'v2']) {
    files[`/${version}/model.onnx`] = await readFile(join(models, version, 'model.onnx'));
    files[`/${version}/model-card.json`] = await readFile(join(models, version, 'model-card.json'));
    files[`/${version}/model.onnx.sig`] = Buffer.from(
      sign(null, files[`/${version}/model.onnx`] as Buffer, keys.privateKey).toString('base64'),
    );
  }
  // A download cut short: the bytes of v2 with the tail missing.
  files['/broken/model.onnx'] = (files['/v2/model.onnx'] as Buffer).subarray(0, 150);
  files['/broken/model-card.json'] = files['/v2/model-card.json'] as Buffer;
  server = createServer((request, response) => {
    const body = files[request.url ?? ''];
    response.writeHead(body ? 200 : 404);
    response.end(body ?? 'not found');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

function announce(version: string, overrides: Partial<ModelAnnouncement> = {}): ModelAnnouncement {
  return {
    schema_version: 1,
    name: 'reefguard-test',
    version,
    alias: 'champion',
    sha256: sha256Of(files[`/${version}/model.onnx`] as Buffer),
    url: `${base}/${version}/model.onnx`,
    canary_share: 0,
    decision: 'promote',
    trace_id: 'trace-edge-0001',
    announced_at: '2026-11-29T00:00:00Z',
    ...overrides,
  };
}

const row = new Float32Array([8, 1.2, 1.4, 29]);

async function updaterWithV1(publicKeyPem?: string) {
  const temp = await tempDir('edge-models-');
  const slot = createModelSlot(await loadModel({ dir: join(models, 'v1') }));
  const updater = createModelUpdater({
    agentId: 'gw-test',
    modelsDir: temp.dir,
    slot,
    backend: 'node',
    logger: quietLogger(),
    publicKeyPem,
  });
  return { slot, updater, temp };
}

describe('model update - download, verify, smoke test, swap', () => {
  it('good model - swaps under continuous inference with zero failed predictions', async () => {
    const { slot, updater, temp } = await updaterWithV1();
    const seen = new Map<string, number>();
    let failures = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => slot.predict({ features: row }, 1)),
        );
        for (const result of results) {
          if (result.status === 'rejected') failures++;
          else
            seen.set(
              result.value.model.card.version,
              (seen.get(result.value.model.card.version) ?? 0) + 1,
            );
        }
        await new Promise((done) => setImmediate(done));
      }
    })();
    expect(await updater.handle(announce('v2'))).toBe('swapped');
    await waitFor(() => (seen.get('v2') ?? 0) > 50, 5_000, 'predictions on v2');
    stop = true;
    await load;
    console.log(
      'swap under load',
      JSON.stringify({ failures, predictions: Object.fromEntries(seen) }),
    );
    expect(failures).toBe(0);
    expect(seen.get('v1')).toBeGreaterThan(0);
    expect(slot.current()?.card.version).toBe('v2');
    expect(slot.previous()?.card.version).toBe('v1');
    expect(JSON.parse(await readFile(join(temp.dir, 'current.json'), 'utf8'))).toMatchObject({
      version: 'v2',
    });
    expect(await updater.handle(announce('v2'))).toBe('already-running');
    expect(updater.variantOf(slot.current() as Model)).toBe('champion');
    // Rollback to the model still held: instant, no download.
    expect(await updater.handle(announce('v1', { decision: 'rollback' }))).toBe('rolled-back');
    expect(slot.current()?.card.version).toBe('v1');
    await slot.close();
    await temp.remove();
  });

  it('challenger - an agent of the cohort runs it and labels its alerts challenger', async () => {
    const { slot, updater, temp } = await updaterWithV1();
    const challenger = announce('v2', { alias: 'challenger', decision: 'canary', canary_share: 1 });
    expect(await updater.handle({ ...challenger, canary_share: 0 })).toBe('not-in-cohort');
    expect(await updater.handle(challenger)).toBe('swapped');
    expect(updater.variantOf(slot.current() as Model)).toBe('challenger');
    expect(updater.variantOf(slot.previous() as Model)).toBe('champion');
    await slot.close();
    await temp.remove();
  });

  it('bad sha256 - a corrupted download is rejected and the old model keeps predicting', async () => {
    const { slot, updater, temp } = await updaterWithV1();
    const before = await slot.predict({ features: row }, 1);
    const corrupted = announce('v2', { url: `${base}/broken/model.onnx` });
    expect(await updater.handle(corrupted)).toBe('rejected');
    expect(slot.current()?.card.version).toBe('v1');
    const after = await slot.predict({ features: row }, 1);
    expect(after.risk[0]).toBe(before.risk[0]);
    expect(await updater.handle({ not: 'an announcement' })).toBe('rejected');
    await slot.close();
    await temp.remove();
  });

  it('signature - with a key configured only a correctly signed file is taken', async () => {
    const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { slot, updater, temp } = await updaterWithV1(pem);
    files['/v2/model.onnx.sig.bak'] = files['/v2/model.onnx.sig'] as Buffer;
    files['/v2/model.onnx.sig'] = files['/v1/model.onnx.sig'] as Buffer;
    expect(await updater.handle(announce('v2'))).toBe('rejected');
    files['/v2/model.onnx.sig'] = files['/v2/model.onnx.sig.bak'] as Buffer;
    expect(await updater.handle(announce('v2'))).toBe('swapped');
    await slot.close();
    await temp.remove();
  });
});

describe('canary cohort - chosen by agent id hash', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `gateway-${i}`);

  it('is stable, proportional to the share, and only grows with it', () => {
    expect(cohortPosition('gateway-42')).toBe(cohortPosition('gateway-42'));
    expect(cohortPosition('gateway-42')).toMatchInlineSnapshot(`0.4577644516248256`);
    const at10 = ids.filter((id) => inCanaryCohort(id, 0.1));
    const at30 = ids.filter((id) => inCanaryCohort(id, 0.3));
    console.log(
      'canary cohort sizes of 2000',
      JSON.stringify({ share10: at10.length, share30: at30.length }),
    );
    expect(at10.length).toBeGreaterThan(150);
    expect(at10.length).toBeLessThan(250);
    expect(at30.length).toBeGreaterThan(520);
    expect(at30.length).toBeLessThan(680);
    expect(at10.every((id) => at30.includes(id))).toBe(true);
  });

  it('a challenger goes only to the cohort; a promotion goes to everyone', () => {
    const challenger = announce('v2', {
      alias: 'challenger',
      decision: 'canary',
      canary_share: 0.3,
    });
    const inside = ids.find((id) => inCanaryCohort(id, 0.3)) as string;
    const outside = ids.find((id) => !inCanaryCohort(id, 0.3)) as string;
    expect(takesAnnouncement(inside, challenger)).toBe(true);
    expect(takesAnnouncement(outside, challenger)).toBe(false);
    const promote = announce('v2', { canary_share: 0.3 });
    expect(takesAnnouncement(inside, promote)).toBe(true);
    expect(takesAnnouncement(outside, promote)).toBe(true);
  });
});

describe('model update - end to end through a real MQTT announcement', () => {
  it('a retained announcement makes a running agent swap and report the version', async () => {
    const temp = await tempDir('edge-announce-');
    const mosquitto = await startMosquitto({ dataDir: join(temp.dir, 'mosquitto') });
    const agent = await startAgent(
      edgeConfig({
        STATE_DIR: join(temp.dir, 'agent'),
        TRANSPORT: 'mqtt',
        MQTT_URL: mosquitto.url,
        MODEL_DIR: join(models, 'v1'),
        REPLAY_GENERATE_COUNT: 0,
      }),
      { logger: quietLogger() },
    );
    const statuses: Record<string, unknown>[] = [];
    const watcher = await mqtt.connectAsync(mosquitto.url, { clean: true });
    watcher.on('message', (_t, payload) => statuses.push(JSON.parse(payload.toString())));
    await watcher.subscribeAsync(mqttTopics.agentStatus('gw-test'), { qos: 1 });
    try {
      expect(agent.health().model_version).toBe('v1');
      await watcher.publishAsync(mqttTopics.modelAnnouncements, JSON.stringify(announce('v2')), {
        qos: 1,
        retain: true,
      });
      await waitFor(() => agent.health().model_version === 'v2', 10_000, 'the swap');
      await waitFor(
        () => statuses.some((s) => s.model_version === 'v2'),
        5_000,
        'a heartbeat with v2',
      );
      const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /reefguard_edge_model_info\{name="reefguard-test",version="v2",sha256="[0-9a-f]{64}"\} 1/,
      );
      expect(metrics).toContain('reefguard_edge_model_updates_total{outcome="swapped"} 1');
      await agent.close();
      // A clean stop says offline itself; a crash leaves the same through the last will.
      await waitFor(() => statuses.at(-1)?.status === 'offline', 5_000, 'the offline status');
    } finally {
      await agent.close();
      await watcher.endAsync();
      await mosquitto.stop();
      await temp.remove();
    }
  });
});

describe('model backend - WASM where the native runtime is missing', () => {
  it('MODEL_BACKEND=web runs the same model through onnxruntime-web, risks equal to 1e-5', async () => {
    const temp = await tempDir('edge-wasm-');
    const config = (backend: string) =>
      edgeConfig({
        STATE_DIR: join(temp.dir, backend),
        TRANSPORT: 'mqtt',
        MQTT_URL: 'mqtt://127.0.0.1:1',
        MODEL_DIR: join(models, 'v2'),
        MODEL_BACKEND: backend,
      });
    const web = await startAgent(config('web'), { logger: quietLogger() });
    const native = await startAgent(config('node'), { logger: quietLogger() });
    try {
      expect(web.slot.current()?.backend).toBe('web');
      const a = await web.slot.predict({ features: row }, 1);
      const b = await native.slot.predict({ features: row }, 1);
      expect(Math.abs((a.risk[0] as number) - (b.risk[0] as number))).toBeLessThan(1e-5);
    } finally {
      await web.close();
      await native.close();
      await temp.remove();
    }
  });
});
