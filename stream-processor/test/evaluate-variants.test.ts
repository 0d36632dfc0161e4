/**
 * Real-world variants of the two shipped observation formats, as files arrive from
 * spreadsheets, R, pandas or a colleague's editor. Each variant is derived from one base file
 * (shipped rows re-dated to 2019 / re-labelled as bleach_2016: format tests, not skill) and
 * must either give exactly the base file's report (same rows, labels and features: the same
 * data_version) or count every row it leaves out under a named reason, or fail naming the
 * problem. Nothing silently dropped, nothing good refused.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputFormatError } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GbrContext, openGbrContext } from '../src/backfill/index.js';
import { type EvaluationReport, evaluateObservations } from '../src/evaluate/index.js';

const DATA_DIR = resolve('data/sample');
const GCBD_SHIPPED = join(DATA_DIR, 'gcbd_reefcheck_1998_2015.parquet');
const AERIAL_SHIPPED = join(DATA_DIR, 'gbr_aerial_bleaching_1998_2002.parquet');
// p = sigmoid(1.5 * (dhw_max_ytd - 4)), made by evaluate-fixtures/make_model.py.
const MODEL = { dir: resolve('stream-processor/test/evaluate-fixtures/model'), version: 'fixture' };
/** Every 23rd shipped survey: ~370 rows from every ocean. */
const GCBD_STEP = 23;
/** Every 61st GBR pixel: ~260 reefs over the whole GBR. */
const GBR_STEP = 61;

type Table = { header: string[]; rows: string[][] };

let dir: string;
let context: GbrContext;
let gcbd: Table;
let gbr: Table;
let gcbdBase: EvaluationReport;
let gbrBase: EvaluationReport;

/** RFC 4180 as a spreadsheet writes it: quotes only where a field needs them. */
function toCsv(table: Table, eol = '\n', quoteAll = false): string {
  const field = (v: string) =>
    quoteAll || /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  return [table.header, ...table.rows].map((r) => r.map(field).join(',')).join(eol) + eol;
}

function column(table: Table, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) throw new Error(`no column ${name}`);
  return index;
}

/** A copy of the table with `name` set by `f` on rows whose index passes `which`. */
function setCells(
  table: Table,
  name: string,
  f: (value: string, row: number) => string,
  which: (row: number) => boolean = () => true,
): Table {
  const c = column(table, name);
  return {
    header: table.header,
    rows: table.rows.map((r, i) => (which(i) ? r.map((v, j) => (j === c ? f(v, i) : v)) : r)),
  };
}

function reorder(table: Table, order: number[]): Table {
  return {
    header: order.map((i) => table.header[i] as string),
    rows: table.rows.map((r) => order.map((i) => r[i] as string)),
  };
}

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function evaluate(path: string): Promise<EvaluationReport> {
  return evaluateObservations({
    observationPaths: [path],
    dataDir: DATA_DIR,
    context,
    model: MODEL,
  });
}

async function readTable(sql: string): Promise<Table> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return {
      header: reader.columnNames(),
      rows: (reader.getRowsJS() as unknown[][]).map((r) =>
        r.map((v) => (v === null ? 'nd' : String(v))),
      ),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function toParquet(csvPath: string, name: string, replace = ''): Promise<string> {
  const path = join(dir, name);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    // Typed columns as pandas or R would write them (numbers as DOUBLE/BIGINT, text as text).
    await connection.run(
      `COPY (SELECT * ${replace} FROM read_csv('${csvPath}', header = true, nullstr = 'nd')) TO '${path}' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return path;
}

/** Same rows, same labels, same features: the report must not differ in any number. */
function expectSameReport(report: EvaluationReport, base: EvaluationReport): void {
  expect(report.data_version).toBe(base.data_version);
  expect({ n: report.n, positives: report.positives, model: report.model }).toEqual({
    n: base.n,
    positives: base.positives,
    model: base.model,
  });
  expect(report.crw_baseline).toEqual(base.crw_baseline);
  expect(report.events).toEqual(base.events);
  expect(report.excluded).toEqual(base.excluded);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reefguard-evaluate-variants-'));
  context = await openGbrContext(DATA_DIR);
  // The shipped CSV layout: Date M/D/YYYY, Date2 YYYYMMDD, `nd` for missing, every column.
  gcbd = await readTable(
    `SELECT * REPLACE (
       strftime(make_date(2019, month(CAST(Date AS DATE)), least(day(CAST(Date AS DATE)), 28)), '%-m/%-d/%Y') AS Date,
       CAST(strftime(make_date(2019, month(CAST(Date AS DATE)), least(day(CAST(Date AS DATE)), 28)), '%Y%m%d') AS BIGINT) AS Date2)
     FROM read_parquet('${GCBD_SHIPPED}') WHERE ID % ${GCBD_STEP} = 0 ORDER BY ID`,
  );
  gbr = await readTable(
    `SELECT PIXEL_ID, REEF_ID, lon, lat, bleach_1998 AS bleach_2016
     FROM read_parquet('${AERIAL_SHIPPED}') WHERE PIXEL_ID % ${GBR_STEP} = 0 ORDER BY PIXEL_ID`,
  );
  gcbdBase = await evaluate(await write('gcbd-base.csv', toCsv(gcbd)));
  gbrBase = await evaluate(await write('gbr-base.csv', toCsv(gbr)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluate - the base files are real and scorable', () => {
  it('GCBD 2019 and GBR bleach_2016 base files have both classes and text fields with commas', () => {
    expect(gcbd.rows.length).toBeGreaterThan(300);
    expect(gcbdBase.n).toBeGreaterThan(300);
    expect(gcbdBase.positives).toBeGreaterThan(10);
    expect(gcbdBase.events.map((e) => e.event)).toEqual(['gcbd-2019']);
    // The shipped Ecoregion names hold commas ("Cook Islands, south-west Pacific").
    expect(gcbd.rows.some((r) => (r[column(gcbd, 'Ecoregion')] as string).includes(','))).toBe(
      true,
    );
    expect(gbrBase.n).toBe(gbr.rows.length);
    expect(gbrBase.positives).toBeGreaterThan(10);
    expect(gbrBase.events.map((e) => e.event)).toEqual(['gbr-2016']);
    expect(gbrBase.warnings).toEqual([]);
  });
});

describe('evaluate - GCBD variants that must give the base report', () => {
  const reverse = () =>
    reorder(
      gcbd,
      gcbd.header.map((_, i) => gcbd.header.length - 1 - i),
    );
  const variants: [string, () => Promise<string>][] = [
    ['CRLF line endings', () => write('crlf.csv', toCsv(gcbd, '\r\n'))],
    ['a UTF-8 byte-order mark', () => write('bom.csv', `\uFEFF${toCsv(gcbd)}`)],
    ['every field quoted', () => write('quoted.csv', toCsv(gcbd, '\n', true))],
    [
      'quoted text with commas, doubled quotes and a line break',
      () =>
        write('text.csv', toCsv(setCells(gcbd, 'City_Town', (_, i) => `Bay "${i}", north\nside`))),
    ],
    ['NA instead of nd', () => write('na.csv', toCsv(gcbd).replaceAll(',nd', ',NA'))],
    ['empty cells instead of nd', () => write('empty.csv', toCsv(gcbd).replaceAll(',nd', ','))],
    [
      'extra columns',
      () =>
        write(
          'extra.csv',
          toCsv({
            header: [...gcbd.header, 'Observer', 'Notes'],
            rows: gcbd.rows.map((r, i) => [...r, `diver ${i}`, 'calm, clear']),
          }),
        ),
    ],
    ['columns in reverse order', () => write('reversed.csv', toCsv(reverse()))],
    [
      'gzip-compressed CSV (.csv.gz)',
      async () => {
        const path = join(dir, 'gcbd.csv.gz');
        await writeFile(path, gzipSync(toCsv(gcbd)));
        return path;
      },
    ],
    [
      'lower-case header names',
      () => write('lower.csv', toCsv({ ...gcbd, header: gcbd.header.map((h) => h.toLowerCase()) })),
    ],
    [
      'Parquet (typed columns)',
      async () => toParquet(await write('for-parquet.csv', toCsv(gcbd)), 'gcbd.parquet'),
    ],
    [
      'Parquet with Date as a TIMESTAMP (the typed one above holds a DATE)',
      async () =>
        toParquet(
          await write('for-parquet-dates.csv', toCsv(gcbd)),
          'gcbd-dates.parquet',
          'REPLACE (CAST(Date AS TIMESTAMP) AS Date)',
        ),
    ],
  ];
  it.each(variants)('%s', async (_, make) => {
    expectSameReport(await evaluate(await make()), gcbdBase);
  });

  it('Date2 disagreeing with Date: Date wins (the documented field a re-dated file edits), counted', async () => {
    // Date2 kept at the original survey year, as when someone re-dates only Date.
    const stale = setCells(gcbd, 'Date2', (v) => `2005${v.slice(4)}`);
    const report = await evaluate(await write('date2.csv', toCsv(stale)));
    expectSameReport(report, gcbdBase);
    expect(report.adjusted.date2_disagrees_date_used).toBe(gcbd.rows.length);
    expect(gcbdBase.adjusted.date2_disagrees_date_used).toBeUndefined();
  });

  it('Date missing or nd: Date2 gives the same survey date', async () => {
    const noDate = setCells(gcbd, 'Date', () => 'nd');
    expectSameReport(await evaluate(await write('no-date.csv', toCsv(noDate))), gcbdBase);
  });

  it('Date in another spelling (2-digit year): invalid_date with the value, not the stale Date2', async () => {
    // A re-dated file written as 9/8/19 keeps the original year in Date2 (2005 here):
    // scoring on Date2 would judge another season, so the rows are counted, not guessed.
    const third = (i: number) => i % 3 === 0;
    let short = setCells(gcbd, 'Date', (v) => v.replace(/\/(\d{2})(\d{2})$/, '/$2'), third);
    short = setCells(short, 'Date2', (v) => `2005${v.slice(4)}`, third);
    const report = await evaluate(await write('short-date.csv', toCsv(short)));
    const changed = gcbd.rows.filter((_, i) => third(i)).length;
    expect(report.excluded.invalid_date).toBe(changed);
    expect(report.excluded_examples.invalid_date?.[0]).toMatchObject({
      row: 1,
      column: 'Date',
      value: expect.stringMatching(/^\d+\/\d+\/19$/),
    });
    expect(report.events.map((e) => e.event)).toEqual(['gcbd-2019']);
    const excludedRows = Object.values(report.excluded).reduce((a, b) => a + b, 0);
    expect(report.n + excludedRows).toBe(gcbd.rows.length);
  });
});

describe('evaluate - GCBD variants that leave rows out, each counted under its reason', () => {
  const every = (k: number) => (i: number) => i % k === 0;
  const expectCounted = (report: EvaluationReport, reason: string, count: number) => {
    expect(count).toBeGreaterThan(0);
    expect(report.excluded[reason]).toBe(count + (gcbdBase.excluded[reason] ?? 0));
    // Every row of the file is either scored or counted under some reason.
    const excludedRows = Object.values(report.excluded).reduce((a, b) => a + b, 0);
    expect(report.n + excludedRows).toBe(gcbd.rows.length);
  };

  it('Average_Bleaching nd / NA / empty: missing_label', async () => {
    const markers = ['nd', 'NA', ''];
    const table = setCells(gcbd, 'Average_Bleaching', (_, i) => markers[i % 3] as string, every(7));
    const report = await evaluate(await write('no-label.csv', toCsv(table)));
    expectCounted(report, 'missing_label', gcbd.rows.filter((_, i) => i % 7 === 0).length);
    expect(report.excluded_examples.missing_label?.[0]).toMatchObject({
      row: 1,
      column: 'Average_Bleaching',
      value: 'nd',
    });
  });

  it('empty lines a spreadsheet leaves (,,,,): empty_row', async () => {
    const blank = gcbd.header.map(() => '');
    const table = { header: gcbd.header, rows: [...gcbd.rows, blank, blank, blank] };
    const report = await evaluate(await write('trailing.csv', toCsv(table)));
    expect(report.n).toBe(gcbdBase.n);
    expect(report.excluded).toEqual({ ...gcbdBase.excluded, empty_row: 3 });
  });

  it('TSA_DHW nd: no_dhw (the baseline cannot rank a row without heat stress)', async () => {
    const scored = gcbd.rows.filter((r) => r[column(gcbd, 'TSA_DHW')] !== 'nd');
    const table = setCells(gcbd, 'TSA_DHW', () => 'nd', every(5));
    const report = await evaluate(await write('no-dhw.csv', toCsv(table)));
    const dropped = scored.length - scored.filter((r) => gcbd.rows.indexOf(r) % 5 !== 0).length;
    expectCounted(report, 'no_dhw', dropped);
  });

  it('an unreadable date in both Date and Date2: invalid_date naming the column', async () => {
    let table = setCells(gcbd, 'Date', () => '31/31/2019', every(11));
    table = setCells(table, 'Date2', () => 'nd', every(11));
    const report = await evaluate(await write('bad-date.csv', toCsv(table)));
    expectCounted(report, 'invalid_date', gcbd.rows.filter((_, i) => i % 11 === 0).length);
    expect(report.excluded_examples.invalid_date?.[0]).toMatchObject({
      column: 'Date',
      value: '31/31/2019',
    });
  });

  it('a percentage out of 0-100 or a word: invalid_label', async () => {
    const table = setCells(
      gcbd,
      'Average_Bleaching',
      (_, i) => (i % 2 ? '140' : 'high'),
      every(13),
    );
    const report = await evaluate(await write('bad-label.csv', toCsv(table)));
    expectCounted(report, 'invalid_label', gcbd.rows.filter((_, i) => i % 13 === 0).length);
  });

  it('the same TSA_DHW on every row: scored, with a warning that nothing can rank them', async () => {
    const table = setCells(gcbd, 'TSA_DHW', () => '0');
    const report = await evaluate(await write('flat-dhw.csv', toCsv(table)));
    expect(report.model.auroc).toBe(0.5);
    expect(report.warnings).toEqual([
      'every scored row has the same DHW (0 degC-weeks): neither the model nor the CRW baseline can rank them by heat stress',
    ]);
  });

  it('TSA_DHW missing in every row: refused, naming the column', async () => {
    const table = setCells(gcbd, 'TSA_DHW', () => 'nd');
    const attempt = evaluate(await write('no-dhw-at-all.csv', toCsv(table)));
    await expect(attempt).rejects.toThrow(InputFormatError);
    await expect(attempt).rejects.toThrow(/TSA_DHW missing in all \d{3} GCBD survey rows/);
  });

  it('a word in an optional statistic (Windspeed, Depth): the survey kept with that value unknown, counted', async () => {
    let table = setCells(gcbd, 'Windspeed', () => 'calm', every(9));
    table = setCells(table, 'Depth', () => '3-5 m', every(10));
    const report = await evaluate(await write('words.csv', toCsv(table)));
    expect(report.n).toBe(gcbdBase.n);
    expect(report.excluded).toEqual(gcbdBase.excluded);
    expect(report.adjusted).toMatchObject({
      Windspeed_not_a_number_read_as_missing: gcbd.rows.filter((_, i) => i % 9 === 0).length,
      Depth_not_a_number_read_as_missing: gcbd.rows.filter((_, i) => i % 10 === 0).length,
    });
  });

  it('a word in TSA_DHW: not_a_number (the heat stress every score needs)', async () => {
    const table = setCells(gcbd, 'TSA_DHW', () => 'high', every(8));
    const report = await evaluate(await write('dhw-word.csv', toCsv(table)));
    expectCounted(report, 'not_a_number', gcbd.rows.filter((_, i) => i % 8 === 0).length);
  });

  it('a spreadsheet or text file by another extension: refused, naming the accepted ones', async () => {
    const attempt = evaluate(await write('gcbd.xlsx', toCsv(gcbd)));
    await expect(attempt).rejects.toThrow(InputFormatError);
    await expect(attempt).rejects.toThrow(/are \.csv, \.csv\.gz or \.parquet \(found \.xlsx\)/);
  });

  it('the Average_Bleaching column missing: refused, naming the column', async () => {
    const c = column(gcbd, 'Average_Bleaching');
    const table = reorder(
      gcbd,
      gcbd.header.map((_, i) => i).filter((i) => i !== c),
    );
    const attempt = evaluate(await write('no-label-column.csv', toCsv(table)));
    await expect(attempt).rejects.toThrow(InputFormatError);
    await expect(attempt).rejects.toThrow(
      /GCBD survey rows need the column\(s\) Average_Bleaching/,
    );
  });
});

describe('evaluate - GBR aerial variants', () => {
  it.each([
    ['CRLF line endings', () => toCsv(gbr, '\r\n')],
    ['a UTF-8 byte-order mark before PIXEL_ID', () => `\uFEFF${toCsv(gbr)}`],
    ['every field quoted', () => toCsv(gbr, '\n', true)],
    [
      'LONG/LAT spellings, columns reordered',
      () =>
        toCsv(
          reorder(
            { ...gbr, header: ['PIXEL_ID', 'REEF_ID', 'LONG', 'LAT', 'bleach_2016'] },
            [4, 3, 2, 1, 0],
          ),
        ),
    ],
    [
      'categories written as decimals (pandas float column)',
      () => toCsv(setCells(gbr, 'bleach_2016', (v) => `${v}.0`)),
    ],
  ])('%s: the base report', async (name, make) => {
    expectSameReport(await evaluate(await write(`gbr-${name.length}.csv`, make())), gbrBase);
  });

  it('Parquet: the base report', async () => {
    const path = await toParquet(await write('gbr-for-parquet.csv', toCsv(gbr)), 'gbr.parquet');
    expectSameReport(await evaluate(path), gbrBase);
  });

  it('a PIXEL_ID the table lacks, with the pixel lon/lat: placed on that pixel by position, counted', async () => {
    const table = setCells(
      gbr,
      'PIXEL_ID',
      (v) => `${900000 + Number(v)}`,
      (i) => i % 4 === 0,
    );
    const report = await evaluate(await write('gbr-new-ids.csv', toCsv(table)));
    expectSameReport(report, gbrBase);
    expect(report.adjusted.pixel_matched_by_position).toBe(
      gbr.rows.filter((_, i) => i % 4 === 0).length,
    );
  });

  it('unknown PIXEL_ID without coordinates, coordinates off the GBR grid, blank and nd categories: each counted', async () => {
    const unknown = setCells(
      setCells(
        setCells(
          gbr,
          'PIXEL_ID',
          () => '999999',
          (i) => i === 0,
        ),
        'lon',
        () => '',
        (i) => i === 0,
      ),
      'lat',
      () => '',
      (i) => i === 0,
    );
    const offGrid = setCells(
      setCells(
        unknown,
        'lon',
        () => '100.0',
        (i) => i === 1,
      ),
      'lat',
      () => '0.0',
      (i) => i === 1,
    );
    const known = setCells(
      setCells(
        offGrid,
        'lon',
        () => '160.5',
        (i) => i === 2,
      ),
      'lat',
      () => '-30.0',
      (i) => i === 2,
    );
    const blanks = setCells(
      known,
      'bleach_2016',
      (_, i) => (i === 3 ? '' : 'nd'),
      (i) => i === 3 || i === 4,
    );
    const report = await evaluate(await write('gbr-unmatched.csv', toCsv(blanks)));
    expect(report.excluded).toEqual({
      no_dhw: 0,
      not_surveyed: 2,
      unknown_pixel_id: 1,
      // Row 2 keeps a valid PIXEL_ID but says it lies off Lord Howe: the file contradicts
      // itself, so the row is not guessed onto either place.
      no_reef_pixel_within_tolerance: 2,
    });
    expect(report.n).toBe(gbr.rows.length - 5);
    expect(report.excluded_examples.unknown_pixel_id?.[0]).toMatchObject({
      row: 1,
      column: 'PIXEL_ID',
    });
    expect(report.excluded_examples.no_reef_pixel_within_tolerance?.map((r) => r.row)).toEqual([
      2, 3,
    ]);
  });

  it('a bleach_YYYY column for a year without products: refused naming the year and the column', async () => {
    const table = {
      ...gbr,
      header: gbr.header.map((h) => (h === 'bleach_2016' ? 'bleach_2021' : h)),
    };
    const attempt = evaluate(await write('gbr-2021.csv', toCsv(table)));
    await expect(attempt).rejects.toThrow(InputFormatError);
    await expect(attempt).rejects.toThrow(/no features for year 2021: .*1985-2017.*bleach_2021/);
  });
});
