import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  chipLength,
  DEFAULT_CHIP_SPEC,
  InputFormatError,
  trainingSetManifestSchema,
} from '@reefguard/core';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTrainingSet,
  exportTrainingSet,
  GBR_CONTEXT_FILES,
  type GbrContext,
  openGbrContext,
} from '../src/backfill/index.js';

const DATA_DIR = resolve('data/sample');
const FIXTURES = resolve('test/fixtures/observations');
const GBR_CSV = join(FIXTURES, 'gbr_aerial_2002.csv');
const GBR_LATER = join(FIXTURES, 'gbr_aerial_2017_format.parquet');
const GCBD_CSV = join(FIXTURES, 'gcbd_2003_2015.csv');
const GCBD_PARQUET = join(FIXTURES, 'gcbd_2003_2015.parquet');

type Row = Record<string, unknown>;

async function query(sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

let scratch: string;
// Loaded once and reused (the builds below differ in observations, not in context data).
let context: GbrContext;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'reefguard-backfill-'));
  context = await openGbrContext(DATA_DIR);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('backfill - features export', () => {
  let outDir: string;
  let rows: Row[];
  beforeAll(async () => {
    outDir = join(scratch, 'both');
    await exportTrainingSet({
      observationPaths: [GBR_CSV, GCBD_PARQUET],
      dataDir: DATA_DIR,
      outDir,
    });
    rows = await query(
      `SELECT * REPLACE (CAST(as_of AS VARCHAR) AS as_of) FROM read_parquet('${join(outDir, 'training-set.parquet')}') ORDER BY row_id`,
    );
  });

  it('writes a manifest that validates, with rows and positives per event', async () => {
    const manifest = trainingSetManifestSchema.parse(
      JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')),
    );
    // 40 shipped pixels + 1 matched by position (13 positives); 60 GCBD surveys (20 positives).
    expect(manifest.rows).toBe(101);
    expect(manifest.positives).toBe(33);
    expect(manifest.events.find((e) => e.event === 'gbr-2002')).toEqual({
      event: 'gbr-2002',
      rows: 41,
      positives: 13,
    });
    expect(manifest.chip).toEqual({
      channels: [...DEFAULT_CHIP_SPEC.channels],
      size_px: 16,
      pixel_deg: 0.02,
    });
    expect(manifest.sources.map((s) => s.format)).toEqual([
      'gbr-aerial-csv',
      'gcbd-parquet',
      'gbr-context-parquet',
      'gbr-context-parquet',
      'gbr-context-parquet',
    ]);
  });

  it('joins GBR pixels with the shipped annual DHW, statics and previous-year DHW', async () => {
    const pixel = rows.find((r) => r.site_id === 'pixel-407');
    expect(pixel).toMatchObject({
      event: 'gbr-2002',
      source: 'gbr-aerial',
      label: 0,
      severity: 0,
      dhw_max_ytd: 0,
      dhw_prev_year_max: 0.55,
      sst_clim_mean: 26.85968,
      sst_clim_range: 4.97779,
      k490: 0.08613,
      dhw: null,
    });
    expect(pixel?.depth_m).toBeCloseTo(24.01459, 6);
    expect(pixel?.as_of).toBe('2002-04-30');
  });

  it('matches a GBR row without PIXEL_ID to the nearest pixel within tolerance', () => {
    expect(rows.find((r) => r.site_id === 'pixel-39')).toMatchObject({ severity: 3, label: 1 });
  });

  it('harmonises GCBD survey rows: Kelvin to Celsius, TSA_DHW to DHW, survey date as as-of', () => {
    const survey = rows.find((r) => r.site_id === 'gcbd--19.2900_-158.9583');
    expect(survey).toBeDefined();
    expect(survey?.as_of).toBe('2005-09-08');
    expect(survey?.sst_daily_mean as number).toBeCloseTo(298.79 - 273.15, 9);
    expect(survey?.sst_clim_mean as number).toBeCloseTo(298.72 - 273.15, 9);
    expect(survey?.mmm as number).toBeCloseTo(298.79 + 2.38 - 273.15, 9);
    expect(survey).toMatchObject({
      dhw: 0,
      dhw_max_ytd: 0,
      hotspot: 0,
      depth_m: 10,
      wind_speed_ms: 8,
      sst_anomaly: 0.44,
    });
    expect(survey?.dhw_prev_year_max).toBeNull();
  });

  it('quarantines bad rows with the column and reason and keeps the good ones', async () => {
    const quarantined = await query(
      `SELECT "row", "column", reason FROM read_parquet('${join(outDir, 'quarantine.parquet')}') ORDER BY "row"`,
    );
    expect(quarantined).toEqual([
      // PIXEL_ID 999999 (not in the table) at 100E 0N: more than 0.02 degrees from any reef.
      { row: 41, column: 'lon', reason: 'no_reef_pixel_within_tolerance' },
      { row: 42, column: 'lon', reason: 'invalid_coordinates' },
      { row: 43, column: 'bleach_2002', reason: 'invalid_category' },
    ]);
  });

  it('writes one chip per row: GBR rasterised around the site, GCBD broadcast', async () => {
    const table = tableFromIPC(await readFile(join(outDir, 'chips.arrow')));
    expect(table.numRows).toBe(101);
    expect(JSON.parse(table.schema.metadata.get('channels') ?? '[]')).toEqual(
      DEFAULT_CHIP_SPEC.channels,
    );
    const size = chipLength(DEFAULT_CHIP_SPEC);
    const plane = 16 * 16;
    const centre = 8 * 16 + 8;
    const rowId = rows.findIndex((r) => r.site_id === 'pixel-407');
    const gbrChip = table.getChild('chip')?.get(rowId)?.toArray() as Float32Array;
    expect(gbrChip.length).toBe(size);
    const mask = gbrChip.subarray(5 * plane, 6 * plane);
    expect(mask[centre]).toBe(1);
    expect(mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
    const gcbdRow = rows.findIndex((r) => r.source === 'gcbd');
    const gcbdChip = table.getChild('chip')?.get(gcbdRow)?.toArray() as Float32Array;
    expect(gcbdChip.subarray(5 * plane, 6 * plane).reduce((a, b) => a + b, 0)).toBe(1);
    expect(gcbdChip[4 * plane]).toBe(rows[gcbdRow]?.depth_m);
  });
});

describe('backfill - formats', () => {
  it('reads a later-year GBR file and quarantines a year without DHW context', async () => {
    const set = await buildTrainingSet({
      observationPaths: [GBR_LATER],
      dataDir: DATA_DIR,
      context,
    });
    expect(new Set(set.rows.map((r) => r.event))).toEqual(new Set(['gbr-2017']));
    expect(set.rows).toHaveLength(40);
    const pixel = set.rows.find((r) => r.siteId === 'pixel-407');
    // dhw_max_ytd and dhw_prev_year_max are the shipped annMaxDHW_2017 and annMaxDHW_2016.
    expect(Array.from(pixel?.values.subarray(1, 3) ?? [])).toEqual([6.74, 8.38]);
    expect(set.quarantined.filter((q) => q.reason === 'no_context_for_year')).toHaveLength(40);
  });

  it('reads GCBD rows from CSV (M/D/YYYY, nd) exactly as from Parquet, quarantining bad rows', async () => {
    const csv = await buildTrainingSet({
      observationPaths: [GCBD_CSV],
      dataDir: DATA_DIR,
      context,
    });
    const parquet = await buildTrainingSet({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
    });
    expect(csv.rows.map((r) => [r.siteId, r.asOf, r.label, Array.from(r.values)])).toEqual(
      parquet.rows.map((r) => [r.siteId, r.asOf, r.label, Array.from(r.values)]),
    );
    expect(csv.quarantined.map((q) => [q.row, q.column, q.reason])).toEqual([
      [61, 'Temperature_Kelvin', 'temperature_not_kelvin'],
      [62, 'Date', 'invalid_date'],
      [63, 'Average_Bleaching', 'missing_label'],
    ]);
  });

  it('matches GBR rows by LONG/LAT alone when the file has no PIXEL_ID column', async () => {
    const path = join(scratch, 'gbr_2016_positions.csv');
    await query(
      `COPY (SELECT lon AS LONG, lat AS LAT, bleach_2017 AS bleach_2016 FROM read_parquet('${GBR_LATER}'))
        TO '${path}' (HEADER)`,
    );
    const set = await buildTrainingSet({ observationPaths: [path], dataDir: DATA_DIR, context });
    const byPosition = set.rows.map((r) => r.siteId).sort();
    const byId = (
      await buildTrainingSet({ observationPaths: [GBR_LATER], dataDir: DATA_DIR, context })
    ).rows
      .map((r) => r.siteId)
      .sort();
    expect(byPosition).toEqual(byId);
    expect(set.rows.every((r) => r.event === 'gbr-2016')).toBe(true);
  });

  it('falls back to Date2 (YYYYMMDD) only when Date is missing', async () => {
    const path = join(scratch, 'gcbd_no_date.csv');
    await query(
      `COPY (SELECT * REPLACE ('nd' AS Date) FROM read_csv('${GCBD_CSV}', all_varchar = true) LIMIT 60)
        TO '${path}' (HEADER)`,
    );
    const set = await buildTrainingSet({ observationPaths: [path], dataDir: DATA_DIR, context });
    const original = await buildTrainingSet({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
    });
    expect(set.rows.map((r) => r.asOf)).toEqual(original.rows.map((r) => r.asOf));
  });

  it('quarantines the second copy of the same survey as a duplicate', async () => {
    const set = await buildTrainingSet({
      observationPaths: [GCBD_CSV, GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
    });
    expect(set.rows).toHaveLength(60);
    expect(set.quarantined.filter((q) => q.reason === 'duplicate')).toHaveLength(60);
  });

  it('rejects a file in neither format, naming the columns it expected', async () => {
    await expect(
      buildTrainingSet({
        observationPaths: [join(DATA_DIR, GBR_CONTEXT_FILES.environment)],
        dataDir: DATA_DIR,
        context,
      }),
    ).rejects.toThrow(InputFormatError);
    await expect(
      buildTrainingSet({
        observationPaths: [join(DATA_DIR, GBR_CONTEXT_FILES.environment)],
        dataDir: DATA_DIR,
        context,
      }),
    ).rejects.toThrow(/bleach_YYYY.*Average_Bleaching/);
  });
});

describe('backfill - determinism', () => {
  it('gives byte-identical files and the same data version on every run; a re-run keeps the manifest', async () => {
    const paths = [GCBD_CSV, GBR_CSV];
    const first = await exportTrainingSet({
      observationPaths: paths,
      dataDir: DATA_DIR,
      context,
      outDir: join(scratch, 'a'),
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    // Other file order: same rows, same ids.
    const second = await exportTrainingSet({
      observationPaths: [...paths].reverse(),
      dataDir: DATA_DIR,
      context,
      outDir: join(scratch, 'b'),
    });
    expect(second.data_version).toBe(first.data_version);
    for (const file of ['training-set.parquet', 'chips.arrow']) {
      // Buffer.equals: a deep toEqual over ~600 kB of bytes takes seconds.
      const [b, a] = await Promise.all([
        readFile(join(scratch, 'b', file)),
        readFile(join(scratch, 'a', file)),
      ]);
      expect(b.equals(a)).toBe(true);
    }
    const again = await exportTrainingSet({
      observationPaths: paths,
      dataDir: DATA_DIR,
      context,
      outDir: join(scratch, 'a'),
      now: () => new Date('2027-01-01T00:00:00Z'),
    });
    expect(again).toEqual(first);
    expect(again.created_at).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('backfill - point in time', () => {
  it('a value known only after as-of never reaches a row: changing later years changes nothing', async () => {
    // A copy of the context where every year after 2002 is replaced by 99.
    const altered = join(scratch, 'altered-data');
    await mkdir(altered, { recursive: true });
    await copyFile(
      join(DATA_DIR, GBR_CONTEXT_FILES.environment),
      join(altered, GBR_CONTEXT_FILES.environment),
    );
    for (const [file, prefix] of [
      [GBR_CONTEXT_FILES.dhw, 'annMaxDHW_'],
      [GBR_CONTEXT_FILES.cyclones, 'Hs4MW_'],
    ] as const) {
      const later = Array.from({ length: 15 }, (_, i) => `99 AS ${prefix}${2003 + i}`).join(', ');
      await query(
        `COPY (SELECT * REPLACE (${later}) FROM read_parquet('${join(DATA_DIR, file)}')) TO '${join(altered, file)}' (FORMAT parquet)`,
      );
    }
    const original = await buildTrainingSet({
      observationPaths: [GBR_CSV],
      dataDir: DATA_DIR,
      context,
    });
    const changed = await buildTrainingSet({ observationPaths: [GBR_CSV], dataDir: altered });
    expect(changed.rows.map((r) => Array.from(r.values))).toEqual(
      original.rows.map((r) => Array.from(r.values)),
    );
    expect(Buffer.from(changed.chips.buffer).equals(Buffer.from(original.chips.buffer))).toBe(true);
    expect(changed.rows.flatMap((r) => Array.from(r.values))).not.toContain(99);
  });

  it('GCBD record-wide statistics (spanning later years) are not used', async () => {
    const altered = join(scratch, 'gcbd-altered.parquet');
    await query(
      `COPY (SELECT * REPLACE (99 AS TSA_DHWMax, 399 AS Temperature_Maximum, 99 AS SSTA_DHWMean, 99 AS TSA_Frequency)
        FROM read_parquet('${GCBD_PARQUET}')) TO '${altered}' (FORMAT parquet)`,
    );
    const original = await buildTrainingSet({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
    });
    const changed = await buildTrainingSet({
      observationPaths: [altered],
      dataDir: DATA_DIR,
      context,
    });
    expect(changed.rows.map((r) => Array.from(r.values))).toEqual(
      original.rows.map((r) => Array.from(r.values)),
    );
    expect((await stat(altered)).size).toBeGreaterThan(0);
  });
});
