import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { buoyReadingSchema, Secret } from '@reefguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAimsSource,
  createLineSource,
  createReplaySource,
  generateReadings,
  type SourceBatch,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const aims = resolve(import.meta.dirname, '../../test/fixtures/aims');
const WEATHER = '10.25845/5c09bf93f315d';
const LOGGERS = '10.25845/5b4eb0f9bb848';
const KEY = 'test-aims-key';
let server: Server;
let base = '';
const requests: URL[] = [];

/** Serves the recorded AIMS v2.0 pages, pointing links.next at this server. */
beforeAll(async () => {
  const page = async (name: string) =>
    JSON.parse(await readFile(join(aims, name), 'utf8')) as { links: { next: string | null } };
  const weather1 = await page('Correct-structure-aimsdata_5c09bf93f315d_data-0c7bee.json');
  const weather2 = await page('Correct-structure-aimsdata_5c09bf93f315d_data-14dcfd.json');
  const loggers = await page('Correct-structure-aimsdata_5b4eb0f9bb848_data-6119e7.json');
  loggers.links.next = null;
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', base);
    requests.push(url);
    if (request.headers['x-api-key'] !== KEY) {
      response.writeHead(401).end('{"message":"Unauthorized"}');
      return;
    }
    let body: unknown;
    if (url.pathname === `/data-v2.0/${WEATHER}/data`) {
      body = url.searchParams.has('cursor')
        ? weather2
        : {
            ...weather1,
            links: { next: weather1.links.next?.replace('https://api.aims.gov.au', base) },
          };
    } else if (url.pathname === `/data-v2.0/${LOGGERS}/data`) body = loggers;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { message: 'not found' }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

async function collect(source: AsyncIterable<SourceBatch>) {
  const batches: SourceBatch[] = [];
  for await (const batch of source) batches.push(batch);
  return batches;
}

describe('aims source - AIMS Data Platform API v2.0 over local HTTP', () => {
  it('follows links.next to the end, sends the key, maps qc_val to readings with stable ids', async () => {
    requests.length = 0;
    const source = createAimsSource({
      baseUrl: base,
      doi: WEATHER,
      apiKey: new Secret(KEY),
      siteId: '18-054',
      filters: { series: '64', size: 1000 },
    });
    const batches = await collect(source.batches(new AbortController().signal));
    const readings = batches.flatMap((b) => b.readings);
    expect(batches).toHaveLength(2);
    expect(readings).toHaveLength(1297);
    expect(new Set(readings.map((r) => r.id)).size).toBe(1297);
    expect(requests[0]?.searchParams.get('series')).toBe('64');
    expect(readings[0]).toEqual(
      buoyReadingSchema.parse({
        schema_version: 1,
        id: `aims-64/air_temperature/${Date.parse('2018-01-01T00:00:00Z')}`,
        site_id: '18-054',
        station_id: 'aims-64',
        parameter: 'air_temperature',
        value: 28.5,
        unit: 'degC',
        observed_at: '2018-01-01T00:00:00.000Z',
        lat: -18.83162,
        lon: 147.6345,
        source: 'aims',
      }),
    );
    expect(batches.at(-1)?.cursor).toBe('2018-01-10T00:00:00.000Z');
  });

  it('resume - a restart asks from the cursor and skips what it already queued', async () => {
    requests.length = 0;
    const source = createAimsSource({
      baseUrl: base,
      doi: WEATHER,
      apiKey: new Secret(KEY),
      siteId: '18-054',
    });
    const batches = await collect(
      source.batches(new AbortController().signal, '2018-01-07T22:30:00.000Z'),
    );
    expect(requests[0]?.searchParams.get('from_date')).toBe('2018-01-07T22:30:00.000Z');
    // The stub answers page 1 again; everything up to the cursor is dropped as already queued.
    expect(batches.flatMap((b) => b.readings)).toHaveLength(297);
  });

  it('temperature loggers - water temperature with its qc flag, series out of time order kept', async () => {
    const source = createAimsSource({
      baseUrl: base,
      doi: LOGGERS,
      apiKey: new Secret(KEY),
      siteId: 'flattop',
    });
    const readings = (await collect(source.batches(new AbortController().signal))).flatMap(
      (b) => b.readings,
    );
    expect(readings).toHaveLength(300);
    expect(readings.every((r) => r.parameter === 'water_temperature')).toBe(true);
    expect(readings.filter((r) => r.qc_flag === 1)).toHaveLength(291);
    expect(readings.filter((r) => r.qc_flag === 2)).toHaveLength(9);
  });

  it('a wrong key fails at once with a message naming the setting', async () => {
    const source = createAimsSource({
      baseUrl: base,
      doi: WEATHER,
      apiKey: new Secret('wrong'),
      siteId: '18-054',
    });
    await expect(collect(source.batches(new AbortController().signal))).rejects.toThrow(
      /AIMS_API_KEY/,
    );
  });
});

describe('line source - stdin or a serial-style device file', () => {
  const lines = [
    '{"parameter":"water_temperature","value":29.1,"observed_at":"2024-02-20T03:00:00Z"}',
    '2024-02-20T03:10:00Z,water_temperature,29.2',
    '2024-02-20T03:10:00Z,turbidity,1.4,davies-nephelometer',
    'garbage',
    '2024-02-20T03:20:00Z,sea_monsters,3',
  ];

  it('JSON and CSV lines become readings; bad lines are rejected with a reason', async () => {
    const source = createLineSource({
      path: '-',
      siteId: '18-054',
      stationId: 'davies-buoy',
      stdin: Readable.from(lines.map((l) => `${l}\n`)),
    });
    const batches = await collect(source.batches(new AbortController().signal));
    const readings = batches.flatMap((b) => b.readings);
    const rejected = batches.flatMap((b) => b.rejected ?? []);
    expect(readings.map((r) => [r.id, r.value, r.unit])).toEqual([
      [`davies-buoy/water_temperature/${Date.parse('2024-02-20T03:00:00Z')}`, 29.1, 'degC'],
      [`davies-buoy/water_temperature/${Date.parse('2024-02-20T03:10:00Z')}`, 29.2, 'degC'],
      [`davies-nephelometer/turbidity/${Date.parse('2024-02-20T03:10:00Z')}`, 1.4, 'NTU'],
    ]);
    expect(rejected.map((r) => r.reason)).toEqual([
      'unknown parameter undefined',
      'unknown parameter sea_monsters',
    ]);
  });

  it('reads a device file the same way', async () => {
    const temp = await tempDir('edge-line-');
    const path = join(temp.dir, 'ttyS0');
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n`);
    const source = createLineSource({ path, siteId: '18-054', stationId: 'davies-buoy' });
    expect(
      (await collect(source.batches(new AbortController().signal))).flatMap((b) => b.readings),
    ).toHaveLength(3);
    await source.close();
    await temp.remove();
  });
});

describe('replay source - recorded or generated readings', () => {
  it('generated readings have stable ids and resume after the cursor', async () => {
    const spec = {
      siteId: '18-054',
      stationId: 'st',
      count: 50,
      startAt: '2024-01-01T00:00:00Z',
      intervalMs: 600_000,
    };
    expect(generateReadings(spec).map((r) => r.id)).toEqual(
      generateReadings(spec).map((r) => r.id),
    );
    const source = createReplaySource({ generate: spec, batchSize: 20 });
    const all = await collect(source.batches(new AbortController().signal));
    expect(all.map((b) => [b.readings.length, b.cursor])).toEqual([
      [20, '19'],
      [20, '39'],
      [10, '49'],
    ]);
    const resumed = await collect(source.batches(new AbortController().signal, '39'));
    expect(resumed.flatMap((b) => b.readings)[0]?.id).toBe(generateReadings(spec)[40]?.id);
  });

  it('plays a JSON-lines file at accelerated time', async () => {
    const temp = await tempDir('edge-replay-');
    const readings = generateReadings({
      siteId: '18-054',
      stationId: 'st',
      count: 5,
      startAt: '2024-01-01T00:00:00Z',
      intervalMs: 60_000,
    });
    const file = join(temp.dir, 'replay.jsonl');
    await writeFile(file, readings.map((r) => JSON.stringify(r)).join('\n'));
    const started = Date.now();
    // 4 minutes of readings at 600x: about 400 ms.
    const batches = await collect(
      createReplaySource({ file, speed: 600 }).batches(new AbortController().signal),
    );
    const elapsed = Date.now() - started;
    expect(batches.flatMap((b) => b.readings)).toEqual(readings);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(2_000);
    await temp.remove();
  });
});
