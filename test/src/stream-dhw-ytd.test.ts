import { readFile } from 'node:fs/promises';
import { jetstream } from '@nats-io/jetstream';
import { parseCsvColumns } from '@reefguard/core';
import { createCrwHeatStress } from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  eventually,
  lizardIslandSites,
  reading,
  startIsolatedProcessor,
} from './stream-helpers.js';

const { natsUrl, redisUrl } = inject('stack');
const FIXTURES = new URL('../fixtures/crw/', import.meta.url);

describe('stream processor - dhw_max_ytd (year-to-date maximum DHW) in both stores', () => {
  let harness: Awaited<ReturnType<typeof startIsolatedProcessor>>;
  let csv: Map<string, string[]>;
  const noaaDhw = new Map<string, number>();
  beforeAll(async () => {
    const sites = await lizardIslandSites('lizard-ytd');
    // Batches of at most 5 readings (days): every day gets its feature row. A batch spanning
    // more than MAX_RECOMPUTE_DAYS of a site (a backlog) computes only its last days.
    harness = await startIsolatedProcessor(
      { natsUrl, redisUrl },
      { sites, heat: createCrwHeatStress(), maxBatch: 5 },
    );
    csv = parseCsvColumns(
      await readFile(new URL('lizard_island_pixel_2015_2024.csv', FIXTURES), 'utf8'),
    );
    (csv.get('time') ?? []).forEach((t, i) => {
      noaaDhw.set(t.slice(0, 10), Number(csv.get('crw_dhw')?.[i]));
    });
  });
  afterAll(() => harness.close());

  it('follows NOAA DHW through the 2016 event and restarts on 1 January', async () => {
    const time = csv.get('time') ?? [];
    const from = time.indexOf('2015-09-01T12:00:00Z');
    const to = time.indexOf('2016-06-30T12:00:00Z');
    const js = jetstream(harness.nc);
    // One reading per day at noon (the CRW daily SST), in event order.
    for (let i = from; i <= to; i++) {
      const sst = Number(csv.get('crw_sst')?.[i]);
      if (!Number.isFinite(sst)) continue;
      const r = reading('lizard-ytd', time[i] as string, sst);
      await js.publish(harness.iso.subject('lizard-ytd'), JSON.stringify(r), { msgID: r.id });
    }
    const online = await eventually(async () => {
      const v = await harness.processor.online.read('lizard-ytd');
      return v?.as_of.startsWith('2016-06-30') ? v : undefined;
    }, 20_000);
    const max2016 = Math.max(
      ...[...noaaDhw].filter(([d]) => d >= '2016-01-01' && d <= '2016-06-30').map(([, v]) => v),
    );
    // By the end of June DHW has fallen (the hot days left the 84-day window); the
    // year-to-date maximum keeps the peak of the event, NOAA's own.
    expect(online.values.dhw).toBeLessThan(max2016 - 2);
    expect(online.values.dhw_max_ytd).toBeCloseTo(max2016, 2);
    expect(max2016).toBeGreaterThan(8);

    const rows = await harness.processor.offline.query(
      `SELECT strftime(as_of_day, '%Y-%m-%d') AS day, arg_max(dhw, ingested_at) AS dhw,
              arg_max(dhw_max_ytd, ingested_at) AS ytd
       FROM daily_features WHERE site_id = 'lizard-ytd' GROUP BY as_of_day ORDER BY as_of_day`,
    );
    const byDay = new Map(rows.map((r) => [r.day as string, r]));
    // Every day: the maximum of the stream's own DHW from 1 January to that day.
    let running = Number.NEGATIVE_INFINITY;
    let year = '';
    let checked = 0;
    for (const row of rows) {
      const day = row.day as string;
      if (day.slice(0, 4) !== year) {
        year = day.slice(0, 4);
        running = Number.NEGATIVE_INFINITY;
      }
      if (row.dhw === null) continue;
      running = Math.max(running, Number(row.dhw));
      expect(Number(row.ytd), day).toBeCloseTo(running, 6);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(200);
    // 1 January restarts the maximum at that day's own DHW.
    expect(Number(byDay.get('2016-01-01')?.ytd)).toBeCloseTo(
      Number(byDay.get('2016-01-01')?.dhw),
      6,
    );
    expect(Number(byDay.get('2015-12-31')?.ytd)).toBeGreaterThanOrEqual(
      Number(byDay.get('2015-12-31')?.dhw),
    );
  });
});
