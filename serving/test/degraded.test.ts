import { createChipRaster } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createChipLayers } from '../src/chip-layers.js';
import { crwBaselineRisk } from '../src/crw-baseline.js';
import {
  featureHash,
  startTestApp,
  streamModelRisk,
  type TestApp,
  testSites,
  writeFeatures,
} from './helpers.js';

const { redisUrl } = inject('stack');
const asOf = new Date(Date.now() - 3_600_000).toISOString();
const VALUES = { dhw: 6.2, hotspot: 1.3, sst_anomaly: 1.1, turbidity_zscore: -0.4, alert_level: 3 };
/** The `vit` fixture's chip: depth and the reef mask on 4 x 4 pixels of 0.02 degrees. */
const CHIP = { channels: ['depth_m', 'reef_mask'], size_px: 4, pixel_deg: 0.02 };
const logit = (p: number) => Math.log(p / (1 - p));

async function predict(t: TestApp, siteId: string) {
  return t.app.inject({ method: 'POST', url: '/v1/predict', payload: { site_id: siteId } });
}

describe('chip models - full answer with chip layers, flagged degraded answer without', () => {
  // The fifth site lies a degree east, out of the others' chips.
  const sites = testSites(`chips-${process.pid}`, 5).map((s, i) =>
    i === 4 ? { ...s, lon: s.lon + 1 } : s,
  );
  const ids = sites.map((s) => s.site_id) as [string, string, string, string, string];
  // Depth at every site but the fourth, which is outside the layers.
  const layered = [0, 1, 2, 4];
  const depths = [4, 6, 8, 0, 30];
  const rows = layered.map((i) => [ids[i] as string, depths[i] as number]);
  const apps: TestApp[] = [];
  const start = async (options: Partial<Parameters<typeof startTestApp>[0]>) => {
    const t = await startTestApp({
      redisUrl,
      sites,
      versions: { '1': 'vit' },
      aliases: { champion: '1' },
      ...options,
    });
    apps.push(t);
    return t;
  };

  beforeAll(async () => {
    const t = await start({});
    for (const id of ids) await writeFeatures(t.redis, id, featureHash(asOf, VALUES));
  });
  afterAll(async () => {
    for (const t of apps.reverse()) await t.close();
  });

  it('with chip layers the whole ensemble answers, chip included', async () => {
    const t = await start({ chipLayers: createChipLayers(['depth_m'], rows, sites) });
    const response = await predict(t, ids[0]);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ variant: 'champion', model_version: '1', degraded: false });
    expect(body.degraded_reason).toBeUndefined();
    // The fixture adds 0.5 x mean(chip) to the tabular logit: the chip reached the graph.
    const raster = createChipRaster(
      {
        lonDeg: layered.map((i) => sites[i]?.lon as number),
        latDeg: layered.map((i) => sites[i]?.lat as number),
        values: { depth_m: layered.map((i) => depths[i] as number) },
      },
      { channels: CHIP.channels, sizePx: CHIP.size_px, pixelDeg: CHIP.pixel_deg },
    );
    const chip = raster.chipAt(sites[0]?.lon as number, sites[0]?.lat as number);
    const meanChip = chip.reduce((s, v) => s + v, 0) / chip.length;
    expect(meanChip).toBeGreaterThan(0);
    expect(logit(body.risk) - logit(streamModelRisk(VALUES))).toBeCloseTo(0.5 * meanChip, 4);
    // The chip tensor is reused across requests: another site's chip does not leak into it.
    const other = (await predict(t, ids[4])).json();
    const otherChip = raster.chipAt(sites[4]?.lon as number, sites[4]?.lat as number);
    const otherMean = otherChip.reduce((s, v) => s + v, 0) / otherChip.length;
    expect(otherMean).not.toBeCloseTo(meanChip, 3);
    expect(logit(other.risk) - logit(streamModelRisk(VALUES))).toBeCloseTo(0.5 * otherMean, 4);
    expect((await predict(t, ids[0])).json().risk).toBe(body.risk);
  });

  it('no chip layers: the tabular member answers, flagged degraded with the reason', async () => {
    const t = apps[0] as TestApp;
    const body = (await predict(t, ids[0])).json();
    expect(body).toMatchObject({ variant: 'champion', model_version: '1', degraded: true });
    expect(body.risk).toBeCloseTo(streamModelRisk(VALUES), 5);
    expect(body.degraded_reason).toContain('no chip layers are configured');
    expect(body.degraded_reason).toContain('tabular member of model 1 only');
    expect(body.top_features[0].name).toBe('dhw');
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /reefguard_inference_count_total\{variant="champion",model_version="1",status="degraded"\} 1/,
    );
  });

  it('layers lacking a channel, or a site outside them, are degraded and say which', async () => {
    const t = await start({ chipLayers: createChipLayers(['k490'], rows, sites) });
    const lacking = (await predict(t, ids[1])).json();
    expect(lacking).toMatchObject({ degraded: true, variant: 'champion' });
    expect(lacking.degraded_reason).toContain('the chip layers lack depth_m');
    const full = await start({ chipLayers: createChipLayers(['depth_m'], rows, sites) });
    const outside = (await predict(full, ids[3])).json();
    expect(outside).toMatchObject({ degraded: true, variant: 'champion' });
    expect(outside.degraded_reason).toContain(`no values at site ${ids[3]}`);
    // Batches mix both kinds in one response.
    const batch = (
      await full.app.inject({
        method: 'POST',
        url: '/v1/predict/batch',
        payload: { site_ids: [ids[0], ids[3]] },
      })
    ).json();
    expect(batch.predictions.map((p: { degraded: boolean }) => p.degraded)).toEqual([false, true]);
  });

  it('a chip model without a tabular member falls back to the CRW baseline, flagged', async () => {
    const t = await start({ versions: { '1': 'vit-only' } });
    // With a canary window open, the fallback counts against the model that could not answer.
    t.app.models.canary.open('1', 60_000, () => {});
    const body = (await predict(t, ids[0])).json();
    expect(t.app.models.canary.stats().champion).toMatchObject({ requests: 1, errors: 1 });
    t.app.models.canary.close();
    expect(body).toMatchObject({
      variant: 'crw-baseline',
      model_version: 'crw-baseline',
      degraded: true,
      risk: crwBaselineRisk(6.2),
      alert_level: 3,
    });
    expect(body.degraded_reason).toContain('no chip layers are configured');
    expect(body.degraded_reason).toContain('CRW baseline');
  });

  it('DEGRADED=unavailable: missing chip layers are a 503 with the reason', async () => {
    const t = await start({ degraded: 'unavailable' });
    const response = await predict(t, ids[0]);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ reason: 'incomplete' });
    expect(response.json().message).toContain('no chip layers are configured');
  });
});
