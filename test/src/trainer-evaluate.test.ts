/**
 * The judge's path with the model the current trainer makes from the shipped data
 * (`./reefguard train --sample-data`; fixture test/fixtures/models/sample-trained, regenerated
 * by test/fixtures/models/make_sample_trained.sh): `./reefguard evaluate --observations F
 * --json` with no model (the champion alias), run as a separate process, on later-year files
 * in exactly the shipped formats.
 *
 * The files re-use shipped labels under later dates (every shipped GCBD survey re-dated to
 * 2016-2020; the 1998 GBR categories under `bleach_2016`): FORMAT tests, not skill numbers.
 * What they prove: the model ranks those rows by heat stress at least as well as the DHW
 * baseline, on every event, so a model scoring a constant (AUROC 0.5, as a model whose
 * calibration flattened every site did: 0.1754 on every GCBD row) fails here; the baseline's
 * AUROC is computed in this file from the shipped tables, not taken from the report.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The fields of `evaluate --json` (stream-processor/src/evaluate) this file reads. */
interface Scores {
  readonly auroc: number | null;
}
interface EvaluationReport {
  readonly n: number;
  readonly positives: number;
  readonly model: Scores;
  readonly crw_baseline: Scores;
  readonly events: readonly { event: string; model: Scores; crw_baseline: Scores }[];
  readonly reliability: readonly { n: number }[];
  readonly excluded: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
}

const MODEL_NAME = 'reefguard-bleaching-risk';

const ROOT = resolve(import.meta.dirname, '../..');
const DATA_DIR = join(ROOT, 'data/sample');
const TRAINED = join(ROOT, 'test/fixtures/models/sample-trained');
/** A real earlier model (code a08adae) whose calibration slope collapsed to 1e-6. */
const FLATTENED = join(ROOT, 'test/fixtures/models/flattened-a08adae');
const GCBD = join(DATA_DIR, 'gcbd_reefcheck_1998_2015.parquet');
const AERIAL = join(DATA_DIR, 'gbr_aerial_bleaching_1998_2002.parquet');
const DHW = join(DATA_DIR, 'gbr_dhw_annual_max_1985_2017.parquet');
/** Each test starts the CLI as its own process (tsx from sources): ~4-12 s, more under load. */
const COMMAND_TIMEOUT_MS = 90_000;
/** Every 3rd GBR pixel: ~5,300 reefs, the whole coast. */
const GBR_STEP = 3;

let dir: string;
let duck: DuckDBInstance;
const files = { gcbd: '', gbr: '' };

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const connection = await duck.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    connection.closeSync();
  }
}

/** Mann-Whitney AUROC by counting pairs (ties one half), independent of core's metrics. */
function aurocByPairs(scores: number[], labels: number[]): number {
  const positives = scores.filter((_, i) => labels[i] === 1);
  const negatives = scores.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

/** `./reefguard evaluate` as its own process; stdout must be one JSON object (python agrees). */
async function evaluateCommand(
  path: string,
  model?: string,
): Promise<{ report: EvaluationReport; stderr: string }> {
  const command = [
    `"${process.execPath}" --conditions=source --import tsx core/src/cli/bin.ts`,
    `evaluate --observations "${path}" --json`,
    model ? `--model "${model}"` : '',
    `| tee "${path}.json"`,
    `| python3 -c 'import json,sys; json.load(sys.stdin)'`,
  ].join(' ');
  const { stdout, stderr } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', command], {
    cwd: ROOT,
    env: { ...process.env, REEFGUARD_STATE_DIR: dir },
    maxBuffer: 1 << 26,
  });
  expect(stdout).toBe('');
  const text = (await query(`SELECT content FROM read_text('${path}.json')`))[0]?.content as string;
  expect(text.trim().split('\n')).toHaveLength(1);
  return { report: JSON.parse(text) as EvaluationReport, stderr };
}

/** The model ranks the rows by heat stress at least as well as DHW alone, overall and per event. */
function expectRanksAtLeastAsWellAsDhw(report: EvaluationReport, dhwAuroc: number): void {
  expect(report.crw_baseline.auroc).toBeCloseTo(dhwAuroc, 9);
  expect(report.model.auroc as number).toBeGreaterThanOrEqual(dhwAuroc - 1e-9);
  for (const event of report.events) {
    expect(event.model.auroc as number, event.event).toBeGreaterThanOrEqual(
      (event.crw_baseline.auroc as number) - 1e-9,
    );
  }
  // Risk spreads over several calibration bins, not one value.
  expect(report.reliability.filter((bin) => bin.n > 0).length).toBeGreaterThanOrEqual(3);
  expect(report.warnings).toEqual([]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reefguard-trainer-evaluate-'));
  duck = await DuckDBInstance.create(':memory:');
  const store = join(dir, 'models', MODEL_NAME);
  await cp(TRAINED, join(store, '1'), { recursive: true });
  await writeFile(join(store, 'aliases.json'), JSON.stringify({ champion: '1' }));
  // Every shipped survey, re-dated to 2016 + ID % 5 (day capped at 28), in the shipped CSV
  // layout: Date M/D/YYYY, Date2 YYYYMMDD, `nd` for missing.
  files.gcbd = join(dir, 'gcbd_2016_2020.csv');
  await query(
    `CREATE TABLE later AS SELECT * REPLACE (
       make_date(2016 + (ID % 5)::INTEGER, month(CAST(Date AS DATE)), least(day(CAST(Date AS DATE)), 28)) AS Date)
     FROM read_parquet('${GCBD}')`,
  );
  await query(
    `COPY (SELECT * REPLACE (strftime(Date, '%-m/%-d/%Y') AS Date,
                             CAST(strftime(Date, '%Y%m%d') AS BIGINT) AS Date2)
           FROM later ORDER BY ID)
     TO '${files.gcbd}' (FORMAT csv, HEADER, NULLSTR 'nd')`,
  );
  files.gbr = join(dir, 'gbr_aerial_2016.csv');
  await query(
    `COPY (SELECT PIXEL_ID, REEF_ID, lon, lat, bleach_1998 AS bleach_2016
           FROM read_parquet('${AERIAL}') WHERE PIXEL_ID % ${GBR_STEP} = 0 ORDER BY PIXEL_ID)
     TO '${files.gbr}' (FORMAT csv, HEADER)`,
  );
});
afterAll(async () => {
  duck?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('trainer -> evaluate: the shipped-data model on later-year files (champion alias)', () => {
  it(
    'GCBD surveys of 2016-2020: one JSON object on stdout, ranked by heat stress at least as well as DHW',
    async () => {
      // Independent truth: each survey once (site to 4 decimals, date, depth, percent), with
      // a TSA_DHW value and a label in 0-100; label = >= 10 % bleached.
      const truth = await query(
        `SELECT TSA_DHW AS dhw, CAST(Average_Bleaching >= 10 AS INTEGER) AS label FROM (
         SELECT *, row_number() OVER (PARTITION BY round(Latitude_Degrees, 4),
           round(Longitude_Degrees, 4), Date, Depth, Average_Bleaching ORDER BY ID) AS copy
         FROM later WHERE Average_Bleaching BETWEEN 0 AND 100)
       WHERE copy = 1 AND TSA_DHW IS NOT NULL`,
      );
      const dhw = truth.map((r) => Number(r.dhw));
      const labels = truth.map((r) => Number(r.label));
      const dhwAuroc = aurocByPairs(dhw, labels);
      // DHW does rank these surveys: a constant (0.5) cannot pass the check below.
      expect(dhwAuroc).toBeGreaterThan(0.55);

      const { report, stderr } = await evaluateCommand(files.gcbd);
      expect(report).toMatchObject({ n: truth.length, positives: labels.reduce((a, b) => a + b) });
      expect(report.events.map((e) => e.event)).toEqual([
        'gcbd-2016',
        'gcbd-2017',
        'gcbd-2018',
        'gcbd-2019',
        'gcbd-2020',
      ]);
      expectRanksAtLeastAsWellAsDhw(report, dhwAuroc);
      expect(report.excluded).toEqual({ no_dhw: 4, not_surveyed: 0, duplicate: 28 });
      // Progress goes to stderr only.
      expect(stderr).toMatch(/^evaluate: scoring 8452 rows with model 1/m);
    },
    COMMAND_TIMEOUT_MS,
  );

  it(
    'GBR aerial bleach_2016: the 2016 products, ranked by heat stress at least as well as DHW',
    async () => {
      const truth = await query(
        `SELECT d.annMaxDHW_2016 AS dhw, CAST(a.bleach_1998 >= 2 AS INTEGER) AS label
       FROM read_parquet('${AERIAL}') a JOIN read_parquet('${DHW}') d USING (PIXEL_ID)
       WHERE a.PIXEL_ID % ${GBR_STEP} = 0`,
      );
      const dhw = truth.map((r) => Number(r.dhw));
      const labels = truth.map((r) => Number(r.label));
      const { report } = await evaluateCommand(files.gbr);
      expect(report).toMatchObject({ n: truth.length, positives: labels.reduce((a, b) => a + b) });
      expect(report.events.map((e) => e.event)).toEqual(['gbr-2016']);
      expectRanksAtLeastAsWellAsDhw(report, aurocByPairs(dhw, labels));
    },
    COMMAND_TIMEOUT_MS,
  );

  it(
    'the check catches the flattened earlier model: one risk for every survey, a warning',
    async () => {
      const { report } = await evaluateCommand(files.gcbd, FLATTENED);
      // Its ranking is float noise on rows it trained on (AUROC 0.69 here, 0.4995 on 397 rows
      // re-dated to 2019): the AUROC alone would not catch it, the spread and warning do.
      expect(report.reliability.filter((bin) => bin.n > 0)).toHaveLength(1);
      expect(report.warnings[0]).toMatch(
        /gave all 8452 rows the same risk \(0\.1754 to 0\.1754\) although their DHW ranges/,
      );
      expect(() =>
        expectRanksAtLeastAsWellAsDhw(report, report.crw_baseline.auroc as number),
      ).toThrow();
    },
    COMMAND_TIMEOUT_MS,
  );
});
