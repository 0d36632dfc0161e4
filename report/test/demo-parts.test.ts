import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { buoyReadingSchema } from '@reefguard/core';
import { routeVariant } from '@reefguard/serving';
import {
  calibrateHeatwave,
  loadReplayPixels,
  seasonDays,
  seasonSst,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parsePrometheusText, sumSamples } from '../src/counters.js';
import { writeGatewayReadings } from '../src/demo-gateways.js';
import { startSlackReceiver } from '../src/demo-slack.js';
import { readEvents, startEventRecorder } from '../src/event-log.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('event recorder - the loop messages of a real NATS server, in arrival order', () => {
  it('keeps drift, retrain and model messages each in its file', async () => {
    const { natsUrl } = inject('stack');
    const stateDir = join(dir, 'recorder');
    const recorder = await startEventRecorder({ natsUrl, stateDir });
    const nc = await connect({ servers: natsUrl });
    const tag = `t${Date.now()}`;
    for (const psi of [0.1, 0.4, 0.9]) {
      nc.publish(`reefguard.v1.drift.${tag}`, JSON.stringify({ feature: tag, psi }));
    }
    nc.publish('reefguard.v1.retrain.requests', JSON.stringify({ id: `req-${tag}` }));
    nc.publish(
      'reefguard.v1.models.decisions',
      JSON.stringify({ id: `dec-${tag}`, stage: 'promoted' }),
    );
    nc.publish(`reefguard.v1.readings.${tag}`, JSON.stringify({ not: 'recorded' }));
    await nc.flush();
    await nc.close();
    await new Promise((r) => setTimeout(r, 300));
    await recorder.close();
    await recorder.close();
    const drift = (await readEvents(stateDir, 'drift')).filter((e) => e.subject.endsWith(tag));
    expect(drift.map((e) => (e.data as { psi: number }).psi)).toEqual([0.1, 0.4, 0.9]);
    const retrain = await readEvents(stateDir, 'retrain');
    expect(retrain.some((e) => (e.data as { id: string }).id === `req-${tag}`)).toBe(true);
    const models = await readEvents(stateDir, 'models');
    expect(models.find((e) => (e.data as { id: string }).id === `dec-${tag}`)?.subject).toBe(
      'reefguard.v1.models.decisions',
    );
    const all = JSON.stringify([drift, retrain, models]);
    expect(all).not.toContain('"recorded"');
  });
});

describe('Slack receiver - stands in for the incoming webhook', () => {
  it('logs JSON posts and answers ok, refuses what is not JSON', async () => {
    const log = join(dir, 'slack', 'messages.jsonl');
    const slack = await startSlackReceiver(log);
    try {
      const post = (body: string) => fetch(slack.url, { method: 'POST', body });
      const ok = await post(JSON.stringify({ text: 'drift on dhw' }));
      expect([ok.status, await ok.text()]).toEqual([200, 'ok']);
      const bad = await post('{not json');
      expect(bad.status).toBe(400);
      expect(slack.received()).toBe(1);
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string).body).toEqual({ text: 'drift on dhw' });
    } finally {
      await slack.close();
    }
  });
});

describe('gateway readings - the replay season at several reef sites per latitude band', () => {
  it('carries the calibrated daily SST with a day-night cycle for every buoy, valid, in time order, with unique ids', async () => {
    const gateways = await writeGatewayReadings({
      root: ROOT,
      year: 2016,
      outDir: join(dir, 'gateways'),
      gateways: 2,
      sitesPerGateway: 3,
      canaryWeight: 0.1,
      intervalHours: 6,
    });
    expect(gateways).toHaveLength(2);
    const days = seasonDays(2016);
    const [north, south] = gateways;
    for (const site of north?.sites ?? []) expect(site.pixel.lat).toBeGreaterThanOrEqual(-14.5);
    for (const site of south?.sites ?? []) {
      expect(site.pixel.lat).toBeLessThan(-14.5);
      expect(site.pixel.lat).toBeGreaterThanOrEqual(-17.5);
    }
    const pixels = gateways.flatMap((g) => g.sites.map((s) => s.pixel));
    expect(new Set(pixels.map((p) => p.siteId)).size).toBe(6);
    const sst = seasonSst(pixels, days, calibrateHeatwave(pixels, days, 2016), 2016);
    for (const [g, gateway] of gateways.entries()) {
      expect(gateway.sites).toHaveLength(3);
      expect(gateway.pixel.siteId).toBe(gateway.sites[0]?.pixel.siteId);
      const readings = (await readFile(gateway.readingsFile, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => buoyReadingSchema.parse(JSON.parse(line)));
      expect(readings).toHaveLength(days.length * 4 * 3);
      expect(gateway.readings).toBe(readings.length);
      expect(gateway.readingsPerSite).toBe(days.length * 4);
      expect(new Set(readings.map((r) => r.id)).size).toBe(readings.length);
      const times = readings.map((r) => Date.parse(r.observed_at));
      expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
      for (const [s, site] of gateway.sites.entries()) {
        const own = readings.filter((r) => r.site_id === site.pixel.siteId);
        expect(own).toHaveLength(days.length * 4);
        expect(own.every((r) => r.station_id === site.stationId)).toBe(true);
        // The four readings of a day average to the replay's daily SST (the cycle cancels).
        for (const t of [0, 60, 90, days.length - 1]) {
          const mean = own.slice(t * 4, t * 4 + 4).reduce((sum, r) => sum + r.value, 0) / 4;
          expect(mean).toBeCloseTo(sst[t * pixels.length + g * 3 + s] as number, 2);
        }
      }
    }
    const all = await loadReplayPixels(join(ROOT, 'data/sample'), 2016);
    expect(all.some((p) => p.siteId === north?.pixel.siteId)).toBe(true);
  });

  it("puts exactly one buoy of each gateway in serving's challenger cohort, so a canary has live sites on both sides", async () => {
    for (const weight of [0.1, 0.05]) {
      const gateways = await writeGatewayReadings({
        root: ROOT,
        year: 2016,
        outDir: join(dir, `cohorts-${weight}`),
        sitesPerGateway: 4,
        canaryWeight: weight,
      });
      expect(gateways).toHaveLength(4);
      for (const gateway of gateways) {
        // serving's own routing decides, not the demo's label.
        const routed = gateway.sites.map((s) => routeVariant(s.pixel.siteId, weight));
        expect(routed).toEqual(gateway.sites.map((s) => s.cohort));
        expect(routed.filter((r) => r === 'challenger')).toHaveLength(1);
        expect(routed.filter((r) => r === 'champion')).toHaveLength(3);
      }
    }
  });

  it('refuses more buoys than a band has reef pixels, naming the band', async () => {
    await expect(
      writeGatewayReadings({
        root: ROOT,
        year: 2016,
        outDir: join(dir, 'too-many'),
        gateways: 1,
        sitesPerGateway: 100_000,
        canaryWeight: 0.1,
      }),
    ).rejects.toThrow(/of 100000 sites between latitudes -14.5 and -11/);
  });
});

describe('Prometheus text - the counters the demo keeps', () => {
  it('parses labels (escaped too) and sums by label', () => {
    const samples = parsePrometheusText(
      [
        '# HELP reefguard_edge_published_total Readings acknowledged',
        '# TYPE reefguard_edge_published_total counter',
        'reefguard_edge_published_total{broker="mqtt"} 1216',
        'reefguard_edge_published_total{broker="nats"} 1215',
        'reefguard_edge_model_info{name="m",version="2",note="a \\"quoted\\" word"} 1',
        'reefguard_edge_queue_depth 0',
      ].join('\n'),
    );
    expect(sumSamples(samples, 'reefguard_edge_published_total')).toBe(2431);
    expect(sumSamples(samples, 'reefguard_edge_published_total', { broker: 'nats' })).toBe(1215);
    expect(samples.find((s) => s.name === 'reefguard_edge_model_info')?.labels).toEqual({
      name: 'm',
      version: '2',
      note: 'a "quoted" word',
    });
    expect(() => parsePrometheusText('not a sample line at all {')).toThrow(
      /not a Prometheus sample/,
    );
  });
});
