/**
 * `./reefguard evaluate --observations F --json` on observation files of years after the
 * shipped surveys, in exactly the shipped formats: how the product is judged.
 *
 * The labels are re-used from the shipped data under a later header (the 1998 GBR aerial
 * categories under `bleach_2016` / `bleach_2017`, shipped GCBD surveys re-dated to 2016 and
 * 2017): these are FORMAT tests, not skill numbers. What they prove is that a later year gets
 * the features of that year's own products (annMaxDHW_YYYY, Hs4MW_YYYY, the previous year's
 * annMaxDHW; the GCBD row's own CoRTAD columns), end to end through the command; every
 * expected number is computed here from the shipped tables, not copied from a run.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  computeCrwBaselineMetrics,
  computeMetricSet,
  FEATURE_NAMES,
  InputFormatError,
} from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTrainingSet, type GbrContext, openGbrContext } from '../src/backfill/index.js';
import { run } from '../src/cli/evaluate.js';
import { type EvaluationReport, evaluateObservations, MODEL_NAME } from '../src/evaluate/index.js';

const DATA_DIR = resolve('data/sample');
const AERIAL = join(DATA_DIR, 'gbr_aerial_bleaching_1998_2002.parquet');
const DHW_TABLE = join(DATA_DIR, 'gbr_dhw_annual_max_1985_2017.parquet');
const CYCLONES = join(DATA_DIR, 'gbr_cyclones_1985_2017.parquet');
const GCBD_PARQUET = resolve('test/fixtures/observations/gcbd_2003_2015.parquet');
// A real ONNX graph, p = sigmoid(1.5 * dhw_max_ytd - 6), made by evaluate-fixtures/make_model.py.
const MODEL_DIR = resolve('stream-processor/test/evaluate-fixtures/model');
const sigmoid = (dhw: number) => 1 / (1 + Math.exp(-(1.5 * dhw - 6)));
/** Every 97th pixel surveyed in 1998: ~150 reefs spread over the whole GBR. */
const PIXEL_STEP = 97;

let dir: string;
let context: GbrContext;
let duck: DuckDBInstance;

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const connection = await duck.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjects();
  } finally {
    connection.closeSync();
  }
}

async function evaluateCommand(path: string): Promise<EvaluationReport> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => {
    printed.push(line);
  });
  vi.stubEnv('REEFGUARD_STATE_DIR', dir);
  try {
    expect(await run(['--observations', path, '--json'])).toBe(0);
  } finally {
    log.mockRestore();
    vi.unstubAllEnvs();
  }
  expect(printed).toHaveLength(1);
  return JSON.parse(printed[0] as string) as EvaluationReport;
}

function expectScores(report: EvaluationReport, dhw: number[], labels: number[]): void {
  const model = computeMetricSet(dhw.map(sigmoid), labels, 0.5);
  for (const key of ['auroc', 'pr_auc', 'f1', 'brier', 'peirce'] as const)
    expect(report.model[key]).toBeCloseTo(model[key] as number, 5);
  const crw = computeCrwBaselineMetrics(dhw, labels);
  for (const key of ['auroc', 'pr_auc', 'f1', 'peirce'] as const)
    expect(report.crw_baseline[key]).toBeCloseTo(crw[key] as number, 9);
}

beforeAll(async () => {
  context = await openGbrContext(DATA_DIR);
  duck = await DuckDBInstance.create(':memory:');
  dir = await mkdtemp(join(tmpdir(), 'reefguard-evaluate-later-'));
  const store = join(dir, 'models', MODEL_NAME);
  await cp(MODEL_DIR, join(store, 'v1'), { recursive: true });
  await writeFile(join(store, 'aliases.json'), JSON.stringify({ champion: 'v1' }));
});
afterAll(async () => {
  duck?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('evaluate - a GBR aerial file of a later year (bleach_YYYY header)', () => {
  it.each([2016, 2017])(
    'bleach_%i: features from the products of that year, scored end to end',
    async (year) => {
      const path = join(dir, `gbr_aerial_${year}.csv`);
      await query(
        `COPY (SELECT PIXEL_ID, REEF_ID, lon, lat, bleach_1998 AS bleach_${year}
             FROM read_parquet('${AERIAL}')
             WHERE bleach_1998 IS NOT NULL AND PIXEL_ID % ${PIXEL_STEP} = 0 ORDER BY PIXEL_ID)
       TO '${path}' (FORMAT csv, HEADER)`,
      );
      const truth = await query(
        `SELECT a.PIXEL_ID AS id, a.bleach_1998 AS category, d.annMaxDHW_${year} AS dhw,
              d.annMaxDHW_${year - 1} AS prev, d.annMaxDHW_1998 AS dhw_1998,
              TRY_CAST(c.Hs4MW_${year} AS DOUBLE) AS cyclone
       FROM read_parquet('${AERIAL}') a
       JOIN read_parquet('${DHW_TABLE}') d USING (PIXEL_ID)
       LEFT JOIN read_parquet('${CYCLONES}') c USING (PIXEL_ID)
       WHERE a.bleach_1998 IS NOT NULL AND a.PIXEL_ID % ${PIXEL_STEP} = 0 ORDER BY a.PIXEL_ID`,
      );
      const dhw = truth.map((r) => Number(r.dhw));
      const labels = truth.map((r) => (Number(r.category) >= 2 ? 1 : 0));
      expect(truth.length).toBeGreaterThan(100);
      expect(new Set(labels).size).toBe(2);
      // The year's own heat stress, not the survey year's the labels came from.
      expect(truth.filter((r) => Number(r.dhw) !== Number(r.dhw_1998)).length).toBeGreaterThan(
        truth.length / 2,
      );

      const report = await evaluateCommand(path);
      expect(report).toMatchObject({
        n: truth.length,
        positives: labels.reduce((a: number, b) => a + b, 0),
        model_version: 'v1',
      });
      expect(report.excluded).toEqual({ no_dhw: 0, not_surveyed: 0 });
      expect(report.events.map((e) => [e.event, e.model.n])).toEqual([
        [`gbr-${year}`, truth.length],
      ]);
      expectScores(report, dhw, labels);

      // Every yearly feature of the row comes from that year's tables (as for training years).
      const set = await buildTrainingSet({ observationPaths: [path], dataDir: DATA_DIR, context });
      const column = (name: string) =>
        FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number]);
      const byPixel = new Map(truth.map((r) => [`pixel-${r.id}`, r]));
      expect(set.rows).toHaveLength(truth.length);
      for (const row of set.rows) {
        const expected = byPixel.get(row.siteId);
        expect(row.asOf).toBe(`${year}-04-30`);
        expect(row.values[column('dhw_max_ytd')]).toBeCloseTo(Number(expected?.dhw), 9);
        expect(row.values[column('dhw_prev_year_max')]).toBeCloseTo(Number(expected?.prev), 9);
        const cyclone = row.values[column('cyclone_exposure_h')] as number;
        if (expected?.cyclone === null) expect(cyclone).toBeNaN();
        else expect(cyclone).toBeCloseTo(Number(expected?.cyclone), 9);
      }
    },
  );

  it('refuses a year the products do not cover, naming the year and the column', async () => {
    const path = join(dir, 'gbr_aerial_2016_2019.csv');
    await query(
      `COPY (SELECT PIXEL_ID, REEF_ID, lon, lat, bleach_1998 AS bleach_2016, bleach_1998 AS bleach_2019
             FROM read_parquet('${AERIAL}') WHERE bleach_1998 IS NOT NULL AND PIXEL_ID % 500 = 0)
       TO '${path}' (FORMAT csv, HEADER)`,
    );
    const attempt = evaluateObservations({
      observationPaths: [path],
      dataDir: DATA_DIR,
      context,
      model: { dir: MODEL_DIR, version: 'x' },
    });
    await expect(attempt).rejects.toThrow(InputFormatError);
    await expect(attempt).rejects.toThrow(
      /no features for year 2019.*cover 1985-2017.*bleach_2019/,
    );
  });
});

describe('evaluate - GCBD survey rows of later years', () => {
  it('rows dated 2016 and 2017 (CSV, M/D/YYYY) are scored on their own CoRTAD columns', async () => {
    const path = join(dir, 'gcbd_2016_2017.csv');
    // Shipped surveys re-dated: even rows to 2016, odd rows to 2017 (day capped at 28).
    await query(
      `COPY (SELECT * REPLACE (
               strftime(make_date(2016 + (ID % 2)::INTEGER, month(CAST(Date AS DATE)),
                                  least(day(CAST(Date AS DATE)), 28)), '%-m/%-d/%Y') AS Date)
             FROM read_parquet('${GCBD_PARQUET}') ORDER BY ID)
       TO '${path}' (FORMAT csv, HEADER)`,
    );
    const truth = await query(
      `SELECT ID % 2 AS odd, TRY_CAST(TSA_DHW AS DOUBLE) AS dhw,
              TRY_CAST(Average_Bleaching AS DOUBLE) AS bleached
       FROM read_parquet('${GCBD_PARQUET}') ORDER BY ID`,
    );
    const scored = truth.filter((r) => r.dhw !== null);
    const dhw = scored.map((r) => Number(r.dhw));
    const labels = scored.map((r) => (Number(r.bleached) >= 10 ? 1 : 0));

    const report = await evaluateCommand(path);
    expect(report.n).toBe(scored.length);
    expect(report.positives).toBe(labels.reduce((a: number, b) => a + b, 0));
    const perEvent = Object.fromEntries(report.events.map((e) => [e.event, e.model.n]));
    expect(perEvent).toEqual({
      'gcbd-2016': scored.filter((r) => Number(r.odd) === 0).length,
      'gcbd-2017': scored.filter((r) => Number(r.odd) === 1).length,
    });
    expectScores(report, dhw, labels);
  });
});
