import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  computeCrwBaselineMetrics,
  computeMetricSet,
  ModelError,
  NotFoundError,
} from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTrainingSet, type GbrContext, openGbrContext } from '../src/backfill/index.js';
import { run } from '../src/cli/evaluate.js';
import {
  evaluateObservations,
  MODEL_NAME,
  renderHtml,
  resolveModel,
  resolveModelInStores,
} from '../src/evaluate/index.js';

const DATA_DIR = resolve('data/sample');
const FIXTURES = resolve('test/fixtures/observations');
const GBR_CSV = join(FIXTURES, 'gbr_aerial_2002.csv');
const GCBD_PARQUET = join(FIXTURES, 'gcbd_2003_2015.parquet');
// A real ONNX graph, p = sigmoid(1.5 * (dhw_max_ytd - 4)), made by evaluate-fixtures/make_model.py.
const MODEL_DIR = resolve('stream-processor/test/evaluate-fixtures/model');
const DHW = 1;

const fixtureModel = { dir: MODEL_DIR, version: 'test-1' };
const sigmoid = (dhw: number) => 1 / (1 + Math.exp(-(1.5 * dhw - 6)));

let stateDir: string;
let context: GbrContext;
beforeAll(async () => {
  context = await openGbrContext(DATA_DIR);
  stateDir = await mkdtemp(join(tmpdir(), 'reefguard-evaluate-'));
  const store = join(stateDir, 'models', MODEL_NAME);
  await cp(MODEL_DIR, join(store, 'v7'), { recursive: true });
  await writeFile(join(store, 'aliases.json'), JSON.stringify({ champion: 'v7' }));
});
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('evaluate - a GBR aerial file', () => {
  it('scores the ONNX model and the CRW rule on the same rows, matching values computed by hand', async () => {
    const report = await evaluateObservations({
      observationPaths: [GBR_CSV],
      dataDir: DATA_DIR,
      context,
      model: fixtureModel,
    });
    expect(report).toMatchObject({ n: 41, positives: 13, model_version: 'test-1' });
    const set = await buildTrainingSet({ observationPaths: [GBR_CSV], dataDir: DATA_DIR, context });
    const dhw = set.rows.map((r) => r.values[DHW] as number);
    const labels = set.rows.map((r) => r.label);
    const expected = computeMetricSet(dhw.map(sigmoid), labels, 0.5);
    for (const key of ['auroc', 'pr_auc', 'f1', 'brier', 'peirce'] as const) {
      expect(report.model[key]).toBeCloseTo(expected[key] as number, 5);
    }
    expect(report.crw_baseline).toMatchObject(computeCrwBaselineMetrics(dhw, labels));
    // p >= 0.5 exactly when DHW >= 4: the fixture model and the CRW rule agree on F1 and Peirce.
    expect(report.model.f1).toBeCloseTo(report.crw_baseline.f1 as number, 12);
    expect(report.events.map((e) => [e.event, e.model.n])).toEqual([['gbr-2002', 41]]);
    expect(report.reliability.reduce((sum, bin) => sum + bin.n, 0)).toBe(41);
    expect(report.excluded).toEqual({
      no_dhw: 0,
      not_surveyed: 1,
      no_reef_pixel_within_tolerance: 1,
      invalid_coordinates: 1,
      invalid_category: 1,
    });
    expect(report.excluded_examples.invalid_category).toEqual([
      { path: GBR_CSV, row: 43, column: 'bleach_2002', reason: 'invalid_category', value: '7' },
    ]);
    expect(report.warnings).toEqual([]);
  });
});

describe('evaluate - GCBD survey rows', () => {
  it('scores surveys with DHW harmonised from TSA_DHW, per survey year', async () => {
    const report = await evaluateObservations({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
      model: fixtureModel,
    });
    expect(report.n).toBe(60);
    expect(report.positives).toBe(20);
    expect(report.events.every((e) => e.event.startsWith('gcbd-'))).toBe(true);
    expect(report.events.reduce((sum, e) => sum + e.model.n, 0)).toBe(60);
    expect(report.model.auroc).toBeCloseTo(report.crw_baseline.auroc as number, 5);
  });
});

describe('evaluate - models with a chip input', () => {
  it('feeds chips in the card layout: the chip-reading twin of the fixture scores GCBD identically', async () => {
    // model-chip reads dhw_max_ytd from chip channel 0 at the site pixel [8, 8]; GCBD chips
    // broadcast the site value, so both models must give the same risks there.
    const viaChip = await evaluateObservations({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
      model: { dir: resolve('stream-processor/test/evaluate-fixtures/model-chip'), version: 'c' },
    });
    const viaFeatures = await evaluateObservations({
      observationPaths: [GCBD_PARQUET],
      dataDir: DATA_DIR,
      context,
      model: fixtureModel,
    });
    expect(viaChip.model).toEqual(viaFeatures.model);
  });

  it('refuses to report a model that returns NaN for rows with unknown features', async () => {
    // core's chip-v1 fixture wants daily features (sst_rolling_avg_7d) no aerial row has.
    await expect(
      evaluateObservations({
        observationPaths: [GBR_CSV],
        dataDir: DATA_DIR,
        context,
        model: { dir: resolve('test/fixtures/models/chip-v1'), version: 'chip-v1' },
      }),
    ).rejects.toThrow(/NaN for 41 of 41 rows/);
  });
});

describe('evaluate - command line', () => {
  it('uses the champion alias by default and prints one JSON object with --json', async () => {
    const html = join(stateDir, 'report.html');
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => {
      printed.push(line);
    });
    vi.stubEnv('REEFGUARD_STATE_DIR', stateDir);
    try {
      expect(await run(['--observations', GCBD_PARQUET, '--json', '--html', html])).toBe(0);
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(printed).toHaveLength(1);
    const report = JSON.parse(printed[0] as string);
    expect(report).toMatchObject({ n: 60, positives: 20, model_version: 'v7' });
    for (const key of ['auroc', 'pr_auc', 'f1', 'brier', 'peirce'])
      expect(report.model).toHaveProperty(key);
    for (const key of ['auroc', 'f1']) expect(report.crw_baseline).toHaveProperty(key);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain('gcbd-2005');
  });

  it('resolves versions, aliases and folders, and names what exists when nothing matches', async () => {
    expect((await resolveModel(stateDir, 'champion')).version).toBe('v7');
    expect((await resolveModel(stateDir, 'v7')).dir).toBe(
      join(stateDir, 'models', MODEL_NAME, 'v7'),
    );
    expect((await resolveModel(stateDir, MODEL_DIR)).dir).toBe(MODEL_DIR);
    await expect(resolveModel(stateDir, 'challenger')).rejects.toThrow(NotFoundError);
    await expect(resolveModel(stateDir, 'challenger')).rejects.toThrow(/versions \[v7\]/);
  });

  it('without --model, finds the champion in the next store (the demo store) and says where it looked', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'reefguard-evaluate-empty-'));
    try {
      const found = await resolveModelInStores([empty, stateDir]);
      expect(found).toMatchObject({ version: 'v7', alias: 'champion', stateDir });
      expect(found.dir).toBe(join(stateDir, 'models', MODEL_NAME, 'v7'));
      // The first store wins when both hold the alias.
      expect((await resolveModelInStores([stateDir, empty])).stateDir).toBe(stateDir);
      const none = resolveModelInStores([empty, join(empty, 'demo')]);
      await expect(none).rejects.toThrow(NotFoundError);
      await expect(none).rejects.toThrow(
        new RegExp(
          `no model "champion" in ${empty}.*train one.*; also no model "champion" in ${empty}/demo`,
        ),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('fails naming the year and column when a year has no DHW context', async () => {
    const later = join(FIXTURES, 'gbr_aerial_2017_format.parquet');
    const path = join(stateDir, 'gbr_2019.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT PIXEL_ID, lon, lat, bleach_2019 FROM read_parquet('${later}')) TO '${path}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    await expect(
      evaluateObservations({
        observationPaths: [path],
        dataDir: DATA_DIR,
        context,
        model: fixtureModel,
      }),
    ).rejects.toThrow(/no features for year 2019.*40 observations.*bleach_2019/);
  });

  it('refuses an ONNX file whose sha256 disagrees with its card', async () => {
    const tampered = join(stateDir, 'tampered');
    await cp(MODEL_DIR, tampered, { recursive: true });
    const onnx = await readFile(join(tampered, 'model.onnx'));
    onnx[onnx.length - 1] = (onnx.at(-1) ?? 0) ^ 1;
    await writeFile(join(tampered, 'model.onnx'), onnx);
    await expect(
      evaluateObservations({
        observationPaths: [GBR_CSV],
        dataDir: DATA_DIR,
        context,
        model: { dir: tampered, version: 'x' },
      }),
    ).rejects.toThrow(ModelError);
  });

  it('renders the HTML skill table for every event', async () => {
    const report = await evaluateObservations({
      observationPaths: [GBR_CSV],
      dataDir: DATA_DIR,
      context,
      model: fixtureModel,
    });
    expect(renderHtml(report)).toMatch(/<th>gbr-2002<\/th>/);
  });
});
