import { readFile } from 'node:fs/promises';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseCsvColumns } from '@reefguard/core';
import { createCrwHeatStress, type StreamProcessor } from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  eventually,
  type isolation,
  lizardIslandSites,
  reading,
  startIsolatedProcessor,
} from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');
const FIXTURES = new URL('../fixtures/crw/', import.meta.url);

describe('stream processor - CRW heat stress from live readings', () => {
  let nc: NatsConnection;
  let processor: StreamProcessor;
  let iso: Awaited<ReturnType<typeof isolation>>;
  let harness: Awaited<ReturnType<typeof startIsolatedProcessor>>;
  beforeAll(async () => {
    const sites = await lizardIslandSites('lizard-island');
    harness = await startIsolatedProcessor(
      { natsUrl, redisUrl },
      { sites, heat: createCrwHeatStress() },
    );
    ({ nc, processor, iso } = harness);
  });
  afterAll(() => harness.close());

  it('reproduces NOAA CRW DHW, HotSpot, anomaly and alert level of Lizard Island, March 2016', async () => {
    const csv = parseCsvColumns(
      await readFile(new URL('lizard_island_pixel_2015_2024.csv', FIXTURES), 'utf8'),
    );
    const time = csv.get('time') ?? [];
    const from = time.indexOf('2015-12-01T12:00:00Z');
    const to = time.indexOf('2016-03-31T12:00:00Z');
    const js = jetstream(nc);
    // One reading per day at noon: the day's mean is the CRW daily SST.
    for (let i = from; i <= to; i++) {
      const sst = Number(csv.get('crw_sst')?.[i]);
      if (!Number.isFinite(sst)) continue;
      const r = reading('lizard-island', time[i] as string, sst);
      await js.publish(iso.subject('lizard-island'), JSON.stringify(r), { msgID: r.id });
    }
    await eventually(async () => {
      const v = await processor.online.read('lizard-island');
      return v?.as_of.startsWith('2016-03-31') ? v : undefined;
    });
    const online = await processor.online.read('lizard-island');
    const noaa = (column: string) => Number(csv.get(column)?.[to]);
    expect(online?.values.dhw).toBeCloseTo(noaa('crw_dhw'), 2);
    expect(online?.values.hotspot).toBeCloseTo(noaa('crw_hotspot'), 2);
    expect(online?.values.alert_level).toBe(noaa('crw_baa'));
    expect(online?.values.sst_anomaly).toBeCloseTo(noaa('crw_sstanomaly'), 1);
    const dhw7dAgo = Number(csv.get('crw_dhw')?.[to - 7]);
    expect(online?.values.dhw_trend_7d).toBeCloseTo(noaa('crw_dhw') - dhw7dAgo, 2);
    expect(online?.values).toMatchInlineSnapshot(`
      {
        "alert_level": 1,
        "dhw": 8.63,
        "dhw_max_ytd": 8.63,
        "dhw_trend_7d": 0.830000000000001,
        "hotspot": 0.87,
        "sst_anomaly": 1.8509686919181583,
        "sst_daily_max": 29.46,
        "sst_daily_mean": 29.46,
        "sst_rolling_avg_30d": 29.747666666666664,
        "sst_rolling_avg_7d": 29.677142857142858,
      }
    `);
  });
});
