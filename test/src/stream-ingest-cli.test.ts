import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  loadReplayPixels,
  openOfflineStore,
  replayTurbidityFnu,
  startReplayStacServer,
  writeReplaySentinel2,
} from '@reefguard/stream-processor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_FROM_SOURCE } from './stream-helpers.js';

const DATA = new URL('../../data/sample/', import.meta.url).pathname;

describe('./reefguard ingest sentinel2 - the command against a replayed STAC API', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ingest-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('./reefguard ingest sentinel2 reads a replayed season of two GBR pixels from its STAC API', async () => {
    const pixels = (await loadReplayPixels(DATA, 2016))
      .filter((p) => Number.isFinite(p.k490))
      .slice(0, 2);
    const from = Math.floor(Date.parse('2016-02-01') / 86_400_000);
    const days = Array.from({ length: 10 }, (_, i) => from + i);
    await writeReplaySentinel2(pixels, days, join(dir, 'cli'));
    const server = await startReplayStacServer(join(dir, 'cli'));
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          ...CLI_FROM_SOURCE,
          'ingest',
          'sentinel2',
          '--start',
          '2016-02-01',
          '--end',
          '2016-02-10',
          '--base-url',
          server.url,
          '--offline-only',
          '--offline',
          join(dir, 'cli.duckdb'),
        ],
        { env: { ...process.env, REEFGUARD_LOG_LEVEL: 'warn' } },
      );
      // Two scenes (1 and 6 February) per pixel, none clouded over; each scene also covers
      // the reef-level site its pixel belongs to.
      expect(stdout).toMatch(/^S2R_pixel-\S+_20160201: \d+ sites in the scene/m);
      expect(stdout).toMatch(
        /^4 scenes, \d+ site values, 0 masked, 0 skipped, 0 quarantined, 0 applied to features/m,
      );
    } finally {
      await server.close();
    }
    const offline = await openOfflineStore(join(dir, 'cli.duckdb'));
    try {
      const rows = await offline.query(
        `SELECT site_id, epoch_ms(observed_at) AS ms, value FROM satellite_samples
         WHERE site_id IN ('${pixels[0]?.siteId}', '${pixels[1]?.siteId}') ORDER BY site_id, ms`,
      );
      expect(rows.map((r) => r.site_id)).toEqual(
        [pixels[0]?.siteId, pixels[0]?.siteId, pixels[1]?.siteId, pixels[1]?.siteId].sort(),
      );
      for (const row of rows) {
        const pixel = pixels.find((p) => p.siteId === row.site_id) as (typeof pixels)[number];
        const day = Math.floor(Number(row.ms) / 86_400_000);
        expect(Math.abs(Number(row.value) - replayTurbidityFnu(pixel, day))).toBeLessThan(0.06);
      }
    } finally {
      await offline.close();
    }
  });
});
